"""sslscape.report.phase_plot: the rank regions filled exactly between the closed-form threshold curves (no jagged
borders, no rank the grid does not have), threshold lines only for directions the embedding can hold, the spec's
own point marked, and the format from the extension."""

from __future__ import annotations

import numpy as np
import pytest

from sslscape.errors import UserError
from sslscape.report import figures as F
from sslscape.report.phase_plot import _exact_bands, draw_phase_diagram, plot_phase_diagram
from sslscape.spec import parse_spec
from sslscape.theory.phase import Axis, phase_diagram

SPEC = {"objective": "infonce", "similarity": "euclidean", "protocol": "clean_negatives",
        "data": {"cov": [1.0, 0.8, 0.6, 0.45, 0.3, 0.2]}, "augmentation": {"noise_cov": [0.5] * 6},
        "weight_decay": 0.1, "temperature": 1.0, "embed_dim": 3, "batch_size": 512}


@pytest.fixture(scope="module")
def diagram():
    # the quartic order's vectorised diagram (the default order solves this finite-batch spec cell by cell)
    return phase_diagram(parse_spec(SPEC), Axis("weight_decay", 0.0, 1.0, 40), Axis("temperature", 0.2, 3.0, 30),
                         order="quartic")


def test_bands_reproduce_the_grid_away_from_the_borders(diagram):
    bands = _exact_bands(diagram)
    assert bands is not None and [b[0] for b in bands] == list(range(diagram.capacity + 1))
    gam, other = diagram.x_values, diagram.y_values
    step = gam[1] - gam[0]
    checked = 0
    for i, o in enumerate(other):
        edges = [(k, np.interp(o, b[1], b[2]), np.interp(o, b[1], b[3])) for b in bands for k in [b[0]]]
        for j, g in enumerate(gam):
            inside = [k for k, lo, hi in edges if lo + step < g < hi - step]  # a cell clear of every border
            if inside:
                assert inside == [diagram.alive[i, j]], (o, g)
                checked += 1
    assert checked > 0.6 * diagram.alive.size  # most cells are clear of a border


def test_no_threshold_line_beyond_the_embedding_and_the_point_marked(diagram):
    assert diagram.capacity == 3
    fig, (ax,) = F.figure()
    draw_phase_diagram(ax, diagram)
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == len([c for c in diagram.boundaries if c.direction <= 3]) <= 3
    star = [ln for ln in ax.get_lines() if ln.get_label() == "this spec"]
    assert len(star) == 1 and tuple(star[0].get_xydata()[0]) == pytest.approx(diagram.point)
    assert not star[0].get_clip_on()
    assert "$" in ax.get_xlabel() and "_" not in ax.get_xlabel().replace("$", "").split("\\")[0]


def test_a_grid_without_curves_is_drawn_as_it_is():
    d = phase_diagram(parse_spec(SPEC), Axis("noise_scale", 0.0, 2.0, 12), Axis("temperature", 0.2, 3.0, 10),
                      order="quartic")
    assert d.boundaries == () and _exact_bands(d) is None
    fig, (ax,) = F.figure()
    draw_phase_diagram(ax, d)  # contours of the grid, no error


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_written_in_the_extensions_format(diagram, tmp_path, suffix, magic):
    assert plot_phase_diagram(diagram, tmp_path / f"p{suffix}").read_bytes()[: len(magic)] == magic


def test_other_formats_refused(diagram, tmp_path):
    with pytest.raises(UserError, match=r"\.png, \.pdf or \.svg"):
        plot_phase_diagram(diagram, tmp_path / "p.jpg")
    assert not list(tmp_path.iterdir())


def test_title_and_labels_have_no_literal_underscores(diagram, tmp_path, saved_figures):
    plot_phase_diagram(diagram, tmp_path / "p.png")
    ax = saved_figures[-1].axes[0]
    assert "clean negatives" in ax.get_title() and "_" not in ax.get_title()
    texts = [ax.get_xlabel(), ax.get_ylabel(), *(t.get_text() for t in ax.get_legend().get_texts())]
    assert all("_" not in t.replace(r"\gamma^*_k", "") for t in texts), texts
    plot_phase_diagram(diagram, tmp_path / "q.png", title="infonce (euclidean, clean_negatives), order quartic")
    assert saved_figures[-1].axes[0].get_title() == "infonce (euclidean, clean negatives), order quartic"
