"""Figure pieces the experiments share, on top of `sslscape.report.figures`: the theory's rank drawn as exact
steps (jumps at the critical values, never sloped lines between sampled points), trained markers per seed with
the agreement rule's verdict, rank axes, legends below the axes (they hide no data) and readable log ticks
(`figures.log_axis`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..report import figures as F
from ._theory import agrees

RANK_LABEL = "rank of the embedding covariance"


def theory_steps(ax: Any, lo: float, hi: float, rank0: int, critical: Sequence[float] = (), i: int = 0,
                 label: str | None = None, cap: int | None = None, **kw: Any) -> None:
    """The theory's rank on [lo, hi] as exact steps: r(x) = rank0 − #{k: lo < x*_k ≤ x} (∧ cap), one direction
    lost at each critical value x*_k (rank0 = the rank at x = lo; no critical values: a flat line)."""
    crit = np.sort([float(c) for c in critical if lo < c < hi])
    edges = np.r_[lo, crit, hi]
    ranks = rank0 - np.arange(crit.size + 1)
    if cap is not None:
        ranks = np.minimum(ranks, cap)
    F.theory_line(ax, edges, np.r_[ranks, ranks[-1]], i, label, step=True, **kw)


def seed_markers(ax: Any, points: Sequence[dict], x: Callable[[dict], float], i: int, label: str | None,
                 y: Callable[[dict, dict], float] | None = None, offset: float = 0.0, **kw: Any) -> None:
    """One marker per point and seed at (x(point), y(point, run)) — the run's rank by default — with a red edge
    where the agreement rule says that run's rank disagrees with the theory (unscored points: no verdict)."""
    n_seeds = min(len(p["trained"]) for p in points) if points else 0
    for j in range(n_seeds):
        runs = [p["trained"][j] for p in points]
        ys = [r["rank"] if y is None else y(p, r) for p, r in zip(points, runs, strict=True)]
        verdict = [None if p["agree"] is None else agrees(p["theory"], r["rank"])
                   for p, r in zip(points, runs, strict=True)]
        F.trained_markers(ax, [x(p) for p in points], ys, i, label if j == 0 else None, agree=verdict,
                          offset=offset, **kw)


def any_disagree(points: Sequence[dict]) -> bool:
    """Whether some scored run disagrees (then the legend explains the red edge)."""
    return any(p["agree"] is not None and not agrees(p["theory"], r["rank"]) for p in points for r in p["trained"])


def rank_axis(ax: Any, top: int) -> None:
    """y: the rank, integer ticks 0 … top (thinned past 12, `figures.integer_ticks`), with room so markers at 0 and
    at `top` stay whole."""
    ax.set_ylabel(RANK_LABEL)
    ax.set_ylim(-0.45, top + 0.45)
    ax.yaxis.set_major_locator(F.integer_ticks())


def legend_below(ax: Any, disagree: bool | None = None, ncol: int = 2, **kw: Any) -> None:
    """The axes' legend under the axes (outside the data, so it hides no point); the red-edge note when
    `disagree` (None: when some marker on `ax` has a red edge, `figures.legend`)."""
    F.legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, fontsize=7.5,
             disagree_note=disagree, **kw)


def log_ticks(ax: Any, axis: str = "x") -> None:
    """`figures.log_axis` (readable decade or 1-2-5 ticks, chosen from the final limits); kept under this name for
    the experiment modules."""
    F.log_axis(ax, axis)
