"""sslscape.report.figures: readable log ticks chosen from the final limits, the red-edge legend note only where a
marker has a red edge, room for markers on an axis limit, and the file format from the extension."""

from __future__ import annotations

import numpy as np
import pytest

from sslscape.errors import UserError
from sslscape.report import figures as F


def drawn_ticks(ax, axis="x"):
    """(positions, labels) of the major ticks inside the view, after a draw."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(ax.figure).draw()
    target = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = sorted(target.get_view_interval())
    ticks = [t for t in target.get_major_ticks() if lo * (1 - 1e-9) <= t.get_loc() <= hi * (1 + 1e-9)]
    return [t.get_loc() for t in ticks], [t.label1.get_text() for t in ticks]


@pytest.mark.parametrize("lo, hi, expected", [
    (0.025, 0.33, [0.03, 0.05, 0.1, 0.2, 0.3]),          # 1.1 decades: 1-2-3-5 (the imbalance axis)
    (1.0, 8.5, [1, 2, 3, 4, 5, 6, 7, 8]),                # under a decade: every integer multiple
    (1.0, 100.0, [1, 2, 5, 10, 20, 50, 100]),            # two decades: 1-2-5
    (0.7, 1e4, [1, 10, 100, 1000, 10000]),               # wider: decades
    (8e-5, 4e-2, [1e-4, 1e-3, 1e-2]),                    # labels as powers of ten are long: decades (real_data)
])
def test_log_ticks_are_the_densest_readable_set(lo, hi, expected):
    ticks = F.log_ticks(lo, hi)
    shown = ticks[(ticks >= lo) & (ticks <= hi)]
    np.testing.assert_allclose(shown, expected, rtol=1e-12)


def test_log_ticks_thin_out_decades_and_fall_back_to_linear_on_a_narrow_axis():
    ticks = F.log_ticks(1e-14, 2.0)
    shown = ticks[(ticks >= 1e-14) & (ticks <= 2.0)]
    assert len(shown) <= 8 and np.all(np.isclose(np.log10(shown) % 1, 0) | np.isclose(np.log10(shown) % 1, 1))
    narrow = F.log_ticks(1.0, 1.3)
    assert 3 <= np.count_nonzero((narrow >= 1) & (narrow <= 1.3)) <= 5
    assert F.log_ticks(0.0, 1.0).size == 0


def test_log_axis_follows_limits_set_after_it_and_labels_in_one_style():
    fig, (ax,) = F.figure()
    F.log_axis(ax, "x")  # before the data: the ticks must follow the final limits
    ax.plot([0.03, 0.3], [1, 2])
    ax.set_xlim(0.025, 0.33)
    locs, labels = drawn_ticks(ax)
    assert labels == ["0.03", "0.05", "0.1", "0.2", "0.3"]
    fig2, (ax2,) = F.figure()
    ax2.plot([1, 2], [1e-12, 1.0])
    F.log_axis(ax2, "y")
    _, labels2 = drawn_ticks(ax2, "y")
    assert all(t.startswith("$10^{") for t in labels2) and 3 <= len(labels2) <= 8


def test_log_axis_labels_do_not_overlap():
    fig, axes = F.figure(ncols=2)
    for ax, (lo, hi) in zip(axes, [(0.02, 0.4), (5e-3, 3.0)], strict=True):
        ax.plot([lo, hi], [0, 1])
        F.log_axis(ax)
        ax.set_xlim(lo, hi)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in axes:
        lo, hi = ax.get_xlim()
        boxes = sorted((t.label1.get_window_extent(renderer) for t in ax.xaxis.get_major_ticks()
                        if lo <= t.get_loc() <= hi and t.label1.get_text()), key=lambda b: b.x0)
        assert len(boxes) >= 3
        assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:], strict=False))


def test_legend_note_only_when_a_marker_has_a_red_edge():
    fig, (ax,) = F.figure()
    F.trained_markers(ax, [1, 2], [1, 2], 0, "trained", agree=[True, True])
    F.legend(ax)
    assert not any("red edge" in t.get_text() for t in ax.get_legend().get_texts())
    fig, (ax,) = F.figure()
    F.trained_markers(ax, [1, 2], [1, 2], 0, "trained", agree=[True, False])
    assert F.has_disagree_edge(ax)
    F.legend(ax)
    assert any("red edge" in t.get_text() for t in ax.get_legend().get_texts())
    F.legend(ax, disagree_note=False)  # explicit choices win
    assert not any("red edge" in t.get_text() for t in ax.get_legend().get_texts())


def test_markers_on_an_axis_limit_get_room(tmp_path):
    fig, (ax,) = F.figure()
    F.trained_markers(ax, [0.0, 1.0], [0.0, 1.0], 0, None)  # on the limits
    F.trained_markers(ax, [0.0], [0.5], 1, None, offset=-0.1)  # left of x = 0 (an offset between cases)
    ax.plot([0.5], [0.5], "o", clip_on=False)  # not a trained marker: ignored
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    F.save(fig, tmp_path / "m.png")
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < -0.1 and x1 > 1.0 and y0 < 0 and y1 > 1.0
    fig, (ax,) = F.figure()  # a log axis: room in log space, limits stay positive
    F.trained_markers(ax, [0.01, 1.0], [1.0, 2.0], 0, None)
    F.log_axis(ax)
    ax.set_xlim(0.01, 1.0)
    F.room_for_markers(ax)
    assert 0 < ax.get_xlim()[0] < 0.01 and ax.get_xlim()[1] > 1.0


@pytest.mark.parametrize("name", ["f.jpg", "f.jpeg", "f.gif", "f", "f.PNG.txt"])
def test_unknown_formats_are_refused_with_one_line(name, tmp_path):
    fig, _ = F.figure()
    with pytest.raises(UserError, match=r"\.png, \.pdf or \.svg") as err:
        F.save(fig, tmp_path / name)
    assert "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".PDF", b"%PDF"), (".svg", b"<?xml")])
def test_format_from_the_extension(suffix, magic, tmp_path):
    fig, (ax,) = F.figure()
    ax.plot([1, 2], [1, 2])
    assert F.save(fig, tmp_path / f"f{suffix}").read_bytes()[: len(magic)] == magic
