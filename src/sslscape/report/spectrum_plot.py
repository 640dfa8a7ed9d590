"""Spectrum figure of a diagnosis: λ_k/λ_1 against k on log–log axes, the collapse cut, the rounding-noise floor,
the knee, the α-ReQ fit over the directions it was fitted on (only when it is a power law: docs/metrics.md), and
optionally the theory's predicted spectrum."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..compare import TheoryComparison
from ..diagnostics.diagnosis import Diagnosis
from . import figures as F


def plot_spectrum(diagnosis: Diagnosis, path: str | Path, theory: TheoryComparison | None = None) -> Path:
    """Write the spectrum figure (format from the extension: png, pdf or svg) and return its path."""
    F.check_format(path)
    lam = np.asarray(diagnosis.eigenvalues, dtype=np.float64)
    k = np.arange(1, lam.size + 1)
    top = lam[0] if lam.size and lam[0] > 0 else 1.0
    shown = lam / top
    positive = shown > 0  # zeros have no place on a log axis
    fig, (ax,) = F.figure(width=6.4, height=5.0)
    ax.plot(k[positive], shown[positive], ".-", ms=3, lw=1, label=r"measured $\lambda_k / \lambda_1$")
    if theory is not None:
        pred = np.asarray(theory.predicted_spectrum)
        ok = pred > 0
        ax.plot(k[ok], pred[ok], "--", lw=1.2, label=f"theory, {theory.order} (rank {theory.predicted_rank})")
    if 0 < diagnosis.rank < diagnosis.max_rank:
        ax.axhline(diagnosis.rank_rtol, color="grey", lw=0.8, ls=":", label="collapse cut")
    if diagnosis.numerical_rank_floor > 0 and lam.size and lam[0] > 0:
        ax.axhline(diagnosis.numerical_rank_floor / top, color="lightgrey", lw=0.8, ls="--",
                   label=f"rounding noise of {diagnosis.storage} values")
    if diagnosis.rank > 0:
        ax.axvline(diagnosis.rank, color="C3", lw=1, label=f"collapse rank {diagnosis.rank} of {diagnosis.dim}")
    if diagnosis.knee is not None:
        ax.axvspan(diagnosis.knee.start, diagnosis.knee.end, color="C3", alpha=0.08,
                   label=f"knee: {diagnosis.knee.decades:.1f} decades over directions {diagnosis.knee.start}→"
                         f"{diagnosis.knee.end}")
    fit = diagnosis.alpha_fit
    if fit is not None and fit.power_law:  # drawn only where it was fitted, and only where it is a power law
        kk = np.arange(fit.k_min, fit.k_max + 1, dtype=np.float64)
        ax.plot(kk, 10.0 ** fit.intercept * kk ** (-fit.alpha) / top, color="C2", lw=0.8,
                label=rf"$\alpha$-ReQ fit, $\alpha$ = {fit.alpha:.2f} (rms {fit.rms_decades:.2f} decade)")
    if positive.any():  # a complete collapse has nothing to put on a log axis
        F.log_axis(ax, "x")
        F.log_axis(ax, "y")
    ax.set_xlabel(r"index $k$ (descending)")
    ax.set_ylabel(r"eigenvalue of the embedding covariance, $\lambda_k / \lambda_1$")
    ax.set_title(f"{diagnosis.verdict}: effective rank {diagnosis.effective_rank:.1f}, RankMe "
                 f"{diagnosis.rankme:.1f}", fontsize=9)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)  # below: hides no point
    ax.grid(True, which="major", alpha=0.3)
    return F.save(fig, path)
