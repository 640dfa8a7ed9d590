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
TRAINED_GID = "sslscape-trained"  # marks the collections `trained_markers` draws (`room_for_markers` finds them)


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
    """Write `fig` atomically in the format of `path`'s extension (png/pdf/svg) and return the path; trained markers
    on or past an axis limit get room first (`room_for_markers`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fmt = check_format(path)
    if title:
        fig.suptitle(title, fontsize=10)
    for ax in fig.axes:
        room_for_markers(ax)
    FigureCanvasAgg(fig)  # attaches the Agg canvas to this figure only
    return atomic_write(path, lambda fh: fig.savefig(fh, format=fmt, dpi=dpi))


def room_for_markers(ax: Any, pad: float = 0.03) -> None:
    """Widen `ax`'s limits so that no trained marker (`trained_markers`) sits on or beyond the frame: a limit within
    `pad` × the axis span of a marker moves out to that marker ± `pad` × span (linear or log axes). Markers are
    drawn unclipped, so without this a point on an axis limit would cover the frame and the tick labels."""
    marks = [c for c in ax.collections if c.get_gid() == TRAINED_GID]
    if not marks:
        return
    pts = np.concatenate([np.asarray(c.get_offsets(), float).reshape(-1, 2) for c in marks])
    for col, axis in enumerate("xy"):
        lo, hi = getattr(ax, f"get_{axis}lim")()
        log = getattr(ax, f"get_{axis}scale")() == "log"
        vals = pts[:, col]
        vals = vals[np.isfinite(vals) & (vals > 0)] if log else vals[np.isfinite(vals)]
        if not (hi > lo and vals.size) or (log and lo <= 0):
            continue
        f, inv = (np.log10, lambda t: 10.0**t) if log else ((lambda v: v), (lambda t: t))
        t_lo, t_hi, t = f(lo), f(hi), f(vals)
        room = pad * (t_hi - t_lo)
        new_lo = min(t_lo, t.min() - room) if t.min() < t_lo + room else t_lo
        new_hi = max(t_hi, t.max() + room) if t.max() > t_hi - room else t_hi
        if (new_lo, new_hi) != (t_lo, t_hi):
            getattr(ax, f"set_{axis}lim")(inv(new_lo), inv(new_hi))


LOG_SUBS = ((1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0), (1.0, 2.0, 3.0, 5.0), (1.0, 2.0, 5.0), (1.0, 3.0))


def log_ticks(vmin: float, vmax: float, max_ticks: int = 8) -> np.ndarray:
    """Major tick positions for a log axis showing [vmin, vmax] (candidates; the axis keeps those in view): the
    densest of 1 … 9, 1-2-3-5, 1-2-5, 1-3 × 10^k (0.05, 0.1, 0.2, 0.5 …) that puts at most `max_ticks` ticks in view
    (at most 4 where labels are written as powers of ten, outside [1e-3, 1e4): they are long), else whole decades
    (every 2nd, 3rd … decade where more than `max_ticks` would crowd); plain linear ticks under 0.2 decades (a
    factor of ~1.6, where a log axis has no decade to speak of). Empty for a non-positive range."""
    from matplotlib.ticker import MaxNLocator

    vmin, vmax = sorted((float(vmin), float(vmax)))
    if not (vmin > 0 and np.isfinite(vmax)):
        return np.array([])
    lo, hi = np.log10(vmin), np.log10(vmax)
    if hi - lo < 0.2:
        return MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(vmin, vmax)
    decades = np.arange(np.floor(lo) - 1, np.ceil(hi) + 2)
    for subs in LOG_SUBS:
        ticks = np.outer(10.0 ** decades, subs).ravel()
        shown = ticks[(ticks >= vmin * (1 - 1e-9)) & (ticks <= vmax * (1 + 1e-9))]
        plain = bool(np.all((shown >= 1e-3) & (shown < 1e4)))  # else labels are long: $2\times10^{-4}$
        if 2 <= shown.size <= (max_ticks if plain else min(max_ticks, 4)):
            return ticks
    stride = max(1, int(np.ceil((hi - lo) / max_ticks)))
    return 10.0 ** decades[decades % stride == 0]


def _locator() -> Any:
    from matplotlib.ticker import Locator

    class ReadableLogLocator(Locator):
        """`log_ticks` at draw time, from the axis' final view limits."""

        def __call__(self) -> Any:
            return self.tick_values(*self.axis.get_view_interval())

        def tick_values(self, vmin: float, vmax: float) -> Any:
            return self.raise_if_exceeds(log_ticks(vmin, vmax))

    return ReadableLogLocator()


def _formatter() -> Any:
    from matplotlib.ticker import Formatter

    class ReadableLogFormatter(Formatter):
        """Plain numbers (0.05, 1, 200) when every visible tick lies in [1e-3, 1e4), else mathtext powers of ten
        ($10^{-6}$, $2\\times10^{-6}$): one style per axis."""

        plain = True

        def set_locs(self, locs: Any) -> None:
            super().set_locs(locs)
            lo, hi = sorted(self.axis.get_view_interval()) if self.axis is not None else (0.0, 0.0)
            shown = [v for v in locs if v > 0 and lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
            self.plain = all(1e-3 <= v < 1e4 for v in shown)

        def __call__(self, x: float, pos: Any = None) -> str:
            if not x > 0:
                return ""
            if self.plain:
                return f"{x:.6g}"
            e = int(np.floor(np.log10(x) + 1e-9))
            m = round(x / 10.0**e, 6)
            return rf"$10^{{{e}}}$" if m == 1 else rf"${m:g}\times10^{{{e}}}$"

    return ReadableLogFormatter()


def log_axis(ax: Any, axis: str = "x") -> None:
    """Log scale with readable major ticks (`log_ticks`: 1-2-5-like ticks on a short axis, decades on a long one,
    never overlapping labels), one label style per axis (plain numbers, or $10^k$ on a wide range) and unlabelled
    minor ticks. Call before or after drawing: the ticks follow the final limits."""
    from matplotlib.ticker import LogLocator, NullFormatter

    getattr(ax, f"set_{axis}scale")("log")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(_locator())
    target.set_major_formatter(_formatter())
    target.set_minor_locator(LogLocator(base=10, subs="auto", numticks=12))
    target.set_minor_formatter(NullFormatter())


def integer_ticks(max_ticks: int = 12) -> Any:
    """A tick locator for an integer axis (direction k, rank): every integer while at most `max_ticks` are in view,
    else every 2nd, 4th, 5th, 10th … (at most `max_ticks`), so 32 directions never print "9101112…". Use as
    `axis.set_major_locator(integer_ticks())` or `fig.colorbar(…, ticks=integer_ticks())`."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=max_ticks, integer=True, steps=[1, 2, 4, 5, 10], min_n_ticks=1)


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
    Markers are not clipped at the axes, so a point on the frame stays whole, and `save` gives a marker on an axis
    limit room (`room_for_markers`)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    flags = agree if agree is not None else [None] * len(x)
    edges = [DISAGREE if a is False else "black" for a in flags]
    widths = [1.8 if a is False else 0.6 for a in flags]
    ax.scatter(x + offset, y, s=kw.pop("s", 42), marker=MARKERS[i % len(MARKERS)], color=COLORS[i % len(COLORS)],
               edgecolors=edges, linewidths=widths, zorder=3, label=label, clip_on=False, gid=TRAINED_GID, **kw)


def has_disagree_edge(ax: Any) -> bool:
    """Whether some marker on `ax` (drawn by `trained_markers`) has the red disagreement edge."""
    from matplotlib.colors import to_rgba

    red = np.asarray(to_rgba(DISAGREE))
    return any(np.isclose(np.asarray(c.get_edgecolor()).reshape(-1, 4), red).all(axis=1).any()
               for c in ax.collections)


def legend(ax: Any, loc: str = "best", fontsize: float = 8, disagree_note: bool | None = None, **kw: Any) -> None:
    """The axes' legend, plus one entry explaining the red edge. `disagree_note`: None (default) adds it only when
    some marker on `ax` has a red edge (`has_disagree_edge`); True always; False never."""
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    if disagree_note is None:
        disagree_note = has_disagree_edge(ax)
    if disagree_note:
        handles.append(Line2D([], [], marker="o", ls="", color="gray", markeredgecolor=DISAGREE, markeredgewidth=1.8))
        labels.append("red edge: training ≠ theory")
    ax.legend(handles, labels, loc=loc, fontsize=fontsize, framealpha=0.85, **kw)
