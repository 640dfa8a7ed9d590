"""`sslscape compare`'s figure: the predicted spectrum as a line, each seed's trained spectrum as markers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import figures as F


def plot_compare(result: Any, path: str | Path, title: str = "") -> Path:
    """Write the figure for a `sslscape.compare.CompareResult` (format from the extension) and return its path.

    Zeros cannot sit on a log axis: eigenvalues below 1e-12 × the largest are drawn on that floor (dotted).
    """
    F.check_format(path)
    pred = np.asarray(result.predicted_spectrum, float)
    top = max([pred.max(initial=0.0)] + [max(s, default=0.0) for s in result.trained_spectra]) or 1.0
    floor = 1e-12 * top
    fig, (ax,) = F.figure(width=6.0, height=4.6)
    k = np.arange(1, len(pred) + 1)
    ax.plot(k, np.maximum(pred, floor), "-", color="black", lw=2,
            label=f"theory ({result.order}), rank {result.predicted_rank}")
    for i, (seed, spectrum, rank) in enumerate(zip(result.seeds, result.trained_spectra, result.trained_ranks,
                                                   strict=True)):
        s = np.maximum(np.asarray(spectrum, float), floor)
        ax.plot(np.arange(1, len(s) + 1), s, F.MARKERS[i % len(F.MARKERS)], ms=7, mfc="none", clip_on=False,
                color=F.COLORS[i % len(F.COLORS)], label=f"trained, seed {seed}: rank {rank}")
    ax.axhline(floor, ls=":", color="lightgrey", lw=1)
    F.log_axis(ax, "y")
    ax.xaxis.set_major_locator(F.integer_ticks())  # 32 directions: every 2nd/4th label, never overlapping
    ax.set_xlabel(r"direction $k$ (eigenvalues, descending)")
    ax.set_ylabel(r"eigenvalue of the embedding covariance $W C W^\top$")
    verdict = "agree" if result.agree else "DISAGREE"
    ax.set_title(title or f"theory vs training ({verdict})", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)  # below: hides no point
    return F.save(fig, path)
