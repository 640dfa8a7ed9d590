"""Spectrum figure: λ_k/λ_1 against k on log–log axes, the numerical rank and its threshold marked.

Written atomically (`sslscape.io.atomic_savefig`), so a reader never sees half a figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import atomic_savefig
from .compare import TheoryComparison
from .diagnosis import Diagnosis


def plot_spectrum(diagnosis: Diagnosis, path: str | Path, theory: TheoryComparison | None = None) -> Path:
    """Write the spectrum PNG to `path` (atomically) and return the path."""
    import matplotlib

    matplotlib.use("Agg")  # headless; a no-op if already Agg
    import matplotlib.pyplot as plt

    path = Path(path)
    lam = np.asarray(diagnosis.eigenvalues, dtype=np.float64)
    k = np.arange(1, lam.size + 1)
    top = lam[0] if lam.size and lam[0] > 0 else 1.0
    shown = lam / top
    positive = shown > 0  # zeros have no place on a log axis

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    ax.loglog(k[positive], shown[positive], ".-", ms=3, lw=1, label="measured λ_k / λ_1")
    if theory is not None:
        pred = np.asarray(theory.predicted_spectrum)
        ok = pred > 0
        ax.loglog(k[ok], pred[ok], "--", lw=1.2, label=f"theory (rank {theory.predicted_rank})")
    if 0 < diagnosis.rank < diagnosis.max_rank:
        ax.axhline(diagnosis.rank_rtol, color="grey", lw=0.8, ls=":", label="collapse cut")
    if diagnosis.numerical_rank_floor > 0 and lam.size and lam[0] > 0:
        ax.axhline(diagnosis.numerical_rank_floor / lam[0], color="lightgrey", lw=0.8, ls="--",
                   label=f"rounding noise of {diagnosis.storage} values")
    if diagnosis.rank > 0:
        ax.axvline(diagnosis.rank, color="C3", lw=1, label=f"collapse rank {diagnosis.rank} of {diagnosis.dim}")
    if diagnosis.alpha is not None and diagnosis.rank >= 3:
        kk = k[: diagnosis.rank]
        # The least-squares line passes through the mean of (log k, log λ): that fixes its intercept.
        c = np.exp(np.mean(np.log(shown[: diagnosis.rank]) + diagnosis.alpha * np.log(kk)))
        ax.loglog(
            kk,
            c * kk ** (-diagnosis.alpha),
            color="C2",
            lw=0.8,
            label=f"α-ReQ fit, α = {diagnosis.alpha:.2f}",
        )
    ax.set_xlabel("index k (descending)")
    ax.set_ylabel("eigenvalue of the embedding covariance, λ_k / λ_1")
    ax.set_title(
        f"{diagnosis.verdict}: effective rank {diagnosis.effective_rank:.1f}, RankMe {diagnosis.rankme:.1f}",
        fontsize=9,
    )
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()

    try:
        atomic_savefig(path, fig, format="png")  # PNG whatever the suffix
    finally:
        plt.close(fig)
    return path
