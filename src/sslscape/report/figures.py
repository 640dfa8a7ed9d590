"""Figure conventions, one place: theory as lines (steps where the theory is a step function), training as
markers (a red edge where it disagrees with the theory), one colour per case, mathtext labels, readable log ticks.

Figures are `matplotlib.figure.Figure` objects rendered by the Agg canvas — never `matplotlib.use` or pyplot's
global state — and written atomically in the format the file's extension names (png, pdf or svg).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..io import atomic_write

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
DISAGREE = "#d62728"
FORMATS = ("png", "pdf", "svg")


def figure(ncols: int = 1, nrows: int = 1, width: float = 5.2, height: float = 4.0) -> tuple[Any, list[Any]]:
    """A new Figure (no pyplot) with a flat list of axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, list(axes.ravel())


def check_format(path: str | Path) -> str:
    """The figure format from the file's extension; png, pdf or svg, else a one-line UserError."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UserError(f"cannot write a figure to {Path(path).name!r}: use a .png, .pdf or .svg file name")
    return suffix


def save(fig: Any, path: str | Path, title: str | None = None, dpi: int = 130) -> Path:
    """Write `fig` atomically in the format of `path`'s extension (png/pdf/svg) and return the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fmt = check_format(path)
    if title:
        fig.suptitle(title, fontsize=10)
    FigureCanvasAgg(fig)  # attaches the Agg canvas to this figure only
    return atomic_write(path, lambda fh: fig.savefig(fh, format=fmt, dpi=dpi))


def log_axis(ax: Any, axis: str = "x") -> None:
    """Log scale with ticks at whole decades only (and minor ticks unlabelled): no overlapping labels."""
    from matplotlib.ticker import LogLocator, NullFormatter

    getattr(ax, f"set_{axis}scale")("log")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(LogLocator(base=10, numticks=8))
    target.set_minor_formatter(NullFormatter())


def theory_line(ax: Any, x: Any, y: Any, i: int, label: str | None, step: bool = False, **kw: Any) -> None:
    """Theory as a line; `step=True` for a rank (a step function, drawn as steps between the sampled x)."""
    color = COLORS[i % len(COLORS)]
    if step:
        ax.step(x, y, where="post", color=color, lw=1.8, label=label, **kw)
    else:
        ax.plot(x, y, color=color, lw=1.8, label=label, **kw)


def trained_markers(ax: Any, x: Any, y: Any, i: int, label: str | None, agree: Any = None, offset: float = 0.0,
                    **kw: Any) -> None:
    """Markers (one per seed and point); `agree` (same length, bool/None) draws red edges where False.
    Markers are not clipped at the axes, so a point on the frame stays whole."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    flags = agree if agree is not None else [None] * len(x)
    edges = [DISAGREE if a is False else "black" for a in flags]
    widths = [1.8 if a is False else 0.6 for a in flags]
    ax.scatter(x + offset, y, s=kw.pop("s", 42), marker=MARKERS[i % len(MARKERS)], color=COLORS[i % len(COLORS)],
               edgecolors=edges, linewidths=widths, zorder=3, label=label, clip_on=False, **kw)


def legend(ax: Any, loc: str = "best", fontsize: float = 8, disagree_note: bool = True, **kw: Any) -> None:
    """The axes' legend, plus one entry explaining the red edge (only when some marker has one)."""
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    if disagree_note:
        handles.append(Line2D([], [], marker="o", ls="", color="gray", markeredgecolor=DISAGREE, markeredgewidth=1.8))
        labels.append("red edge: training ≠ theory")
    ax.legend(handles, labels, loc=loc, fontsize=fontsize, framealpha=0.85, **kw)
