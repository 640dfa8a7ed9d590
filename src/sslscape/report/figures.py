"""Figure conventions of the reproduced experiments: theory as lines, training as markers, one colour per case.

Markers of trained points that disagree with the theory get a red edge, so a reader sees where the two part.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..io import atomic_savefig  # noqa: E402

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
DISAGREE = "#d62728"


def subplots(ncols: int = 1, nrows: int = 1, width: float = 5.2, height: float = 4.0):
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), constrained_layout=True,
                             squeeze=False)
    return fig, axes.ravel()


def theory_line(ax, x, y, i: int, label: str | None, step: bool = False, **kw) -> None:
    if step:
        ax.step(x, y, where="mid", color=COLORS[i % len(COLORS)], lw=1.8, label=label, **kw)
    else:
        ax.plot(x, y, color=COLORS[i % len(COLORS)], lw=1.8, label=label, **kw)


def trained_markers(ax, x, y, i: int, label: str | None, agree=None, offset: float = 0.0, **kw) -> None:
    """Markers (one per seed and point); `agree` (same length, bool/None) draws red edges where False."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    edges = [DISAGREE if a is False else "black" for a in (agree if agree is not None else [None] * len(x))]
    widths = [1.8 if a is False else 0.6 for a in (agree if agree is not None else [None] * len(x))]
    ax.scatter(x + offset, y, s=kw.pop("s", 42), marker=MARKERS[i % len(MARKERS)], color=COLORS[i % len(COLORS)],
               edgecolors=edges, linewidths=widths, zorder=3, label=label, **kw)


def legend_note(ax, loc: str = "best", fontsize: float = 8, **kw) -> None:
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="gray", lw=1.8), Line2D([], [], marker="o", ls="", color="gray",
                                                              markeredgecolor=DISAGREE, markeredgewidth=1.8)]
    labels += ["line: theory", "red edge: training ≠ theory"]
    ax.legend(handles, labels, loc=loc, fontsize=fontsize, framealpha=0.8, **kw)


def save(fig, path: str | Path, title: str | None = None) -> Path:
    if title:
        fig.suptitle(title, fontsize=10)
    out = atomic_savefig(path, fig, dpi=110)
    plt.close(fig)
    return out
