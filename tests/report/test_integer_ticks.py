"""Integer axes (direction k, rank) with many values keep their tick labels apart: `compare`'s 32-direction x axis
and the phase diagram's 33-level colour bar (new-user trial, minor 12)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sslscape.report import figures as F
from sslscape.report.compare_plot import plot_compare
from sslscape.report.phase_plot import plot_phase_diagram
from sslscape.spec import parse_spec
from sslscape.theory.phase import Axis, phase_diagram


def label_boxes(fig, axis):
    """Window extents of `axis`'s visible, non-empty major tick labels after a draw, sorted along the axis."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    lo, hi = sorted(axis.get_view_interval())
    boxes = [t.label1.get_window_extent(renderer) if t.label1.get_visible() else t.label2.get_window_extent(renderer)
             for t in axis.get_major_ticks()
             if lo <= t.get_loc() <= hi and (t.label1.get_text() or t.label2.get_text())]
    return boxes


def apart(boxes, along):
    """Whether consecutive label boxes leave a gap along 'x' or 'y'."""
    key = (lambda b: b.x0) if along == "x" else (lambda b: b.y0)
    boxes = sorted(boxes, key=key)
    if along == "x":
        return all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:], strict=False))
    return all(a.y1 < b.y0 for a, b in zip(boxes, boxes[1:], strict=False))


def test_integer_ticks_every_integer_when_few_and_thinned_when_many():
    few = F.integer_ticks().tick_values(-0.5, 5.5)
    assert list(few[(few >= -0.5) & (few <= 5.5)]) == [0, 1, 2, 3, 4, 5]
    many = F.integer_ticks().tick_values(0.5, 32.5)
    shown = many[(many >= 0.5) & (many <= 32.5)]
    assert 4 <= shown.size <= 12 and np.all(shown == np.round(shown))


def test_compare_figure_with_32_directions_has_readable_x_ticks(tmp_path, saved_figures):
    k = np.arange(1, 33)
    result = SimpleNamespace(predicted_spectrum=1.0 / k, trained_spectra=[list(1.1 / k)], seeds=[0],
                             trained_ranks=[32], order="learned_point", predicted_rank=32, agree=True)
    plot_compare(result, tmp_path / "compare.png")
    (ax,) = saved_figures[-1].axes
    boxes = label_boxes(saved_figures[-1], ax.xaxis)
    assert len(boxes) >= 4 and apart(boxes, "x")


def test_phase_colour_bar_with_33_levels_has_readable_ticks(tmp_path, saved_figures):
    spec = parse_spec({"objective": "spectral", "data": {"cov": list(np.linspace(2.0, 0.1, 32))},
                       "augmentation": {"noise_cov": [0.2] * 32}, "weight_decay": 0.1, "embed_dim": 32})
    diagram = phase_diagram(spec, Axis("weight_decay", 0.0, 3.0, 12), Axis("noise_scale", 0.0, 2.0, 8),
                            order="quartic")
    assert diagram.capacity == 32
    plot_phase_diagram(diagram, tmp_path / "phase.png")
    bar_ax = saved_figures[-1].axes[-1]  # the colour bar's axes
    boxes = label_boxes(saved_figures[-1], bar_ax.yaxis)
    assert len(boxes) >= 4 and apart(boxes, "y")
