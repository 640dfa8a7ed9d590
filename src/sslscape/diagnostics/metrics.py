"""Scalar metrics of an embedding spectrum, each defined once (docs/metrics.md); pure functions.

- effective rank (Roy & Vetterli 2007, on **singular values**): exp H(p), p_k = σ_k / ‖σ‖₁;
- RankMe (Garrido et al. 2023, Eq. 2, singular values of the raw embedding matrix): exp H(p), p_k = σ_k/‖σ‖₁ + ε,
  ε = 1e-7, over the min(N, d) singular values;
- α-ReQ (Agrawal et al. 2022): α in λ_k ∝ k^{−α}, least squares on log λ vs log k over the surviving directions;
- normalised std (lightly's `std_of_l2_normalized`, SimSiam's collapse monitor): mean over dimensions of the std of
  u_i = z_i/‖z_i‖ — 1/√d when healthy, → 0 under complete collapse;
- mean pairwise cosine over i ≠ j, from the same sums: 1 − cos̄ = N/(N − 1) · Σ_k Var(u_k).
H(p) = −Σ_k p_k log p_k with 0 log 0 = 0. The rank rules live in `rank.py`. Tests: tests/diagnostics/test_metrics.py
and tests/diagnostics/test_precision.py (against a float64 SVD for float16/float32/float64 inputs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .rank import collapse_cut
from .spectrum import covariance_spectrum

RANKME_EPS = 1e-7  # Garrido et al. 2023, Eq. 2


def _entropy_exp(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(np.exp(-np.sum(nz * np.log(nz))))


def effective_rank(singular_values: np.ndarray) -> float:
    """Roy & Vetterli (2007): erank = exp(−Σ_k p_k log p_k), p_k = σ_k / ‖σ‖₁; 0 for an all-zero σ.

    Takes singular values (σ_k = √(N λ_k) of the centred embeddings; any common scale). Equals r for r equal
    non-zero singular values and lies in [1, rank] otherwise. From covariance eigenvalues use
    `effective_rank(np.sqrt(eigenvalues))`.
    """
    s = np.clip(np.asarray(singular_values, dtype=np.float64), 0.0, None)
    total = s.sum()
    return 0.0 if total <= 0.0 else _entropy_exp(s / total)


def rankme(singular_values: np.ndarray, eps: float = RANKME_EPS) -> float:
    """RankMe (Garrido et al. 2023, Eq. 2): exp(−Σ_k p_k log p_k), p_k = σ_k / ‖σ‖₁ + ε, ε = 1e-7.

    Garrido et al. use the min(N, d) singular values of the raw (uncentred) embedding matrix; so does
    `diagnose` (`Spectrum.raw_singular_values`). The ε keeps log finite for zero singular values; it adds about
    d·ε·log(1/ε) ≈ 3e-3 at d = 2,048. Returns 0 for an all-zero σ.
    """
    s = np.clip(np.asarray(singular_values, dtype=np.float64), 0.0, None)
    total = s.sum()
    return 0.0 if total <= 0.0 else _entropy_exp(s / total + eps)


def alpha_req(eigenvalues: np.ndarray, k_min: int = 1, k_max: int | None = None) -> float:
    """α-ReQ (Agrawal et al. 2022): fit log λ_k = c − α log k by least squares over k = k_min … k_max.

    `k_max` defaults to the last positive eigenvalue; `diagnose` passes the collapse rank so a floor (which
    would flatten the fit) is excluded. NaN with fewer than 3 points to fit. Exact for λ_k = c k^{−α}; a
    healthy SSL representation has α ≈ 1 (Agrawal et al.).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    positive = int(np.count_nonzero(lam > 0))
    hi = positive if k_max is None else min(k_max, positive)
    if hi - k_min + 1 < 3:
        return float("nan")
    k = np.arange(k_min, hi + 1, dtype=np.float64)
    slope, _ = np.polyfit(np.log(k), np.log(lam[k_min - 1 : hi]), 1)
    return float(-slope)


def normalized_std_of(unit_variances: np.ndarray) -> float:
    """Mean over dimensions of the (biased) std over samples of u = z/‖z‖ — lightly's `std_of_l2_normalized`.

    1/√d for isotropic embeddings, 0 under complete collapse.
    """
    return float(np.sqrt(np.clip(np.asarray(unit_variances, dtype=np.float64), 0.0, None)).mean())


def mean_cosine_of(unit_variances: np.ndarray, n: int, zero_rows: int = 0) -> float | None:
    """Mean pairwise cosine over i ≠ j: 1 − N/(N − 1)·Σ_k Var(u_k) (exact; None when a row is zero)."""
    if zero_rows:
        return None
    return float(1.0 - n / (n - 1) * float(np.sum(unit_variances)))


def normalized_std(z: Any) -> float:
    """Std of L2-normalised embeddings, averaged over dimensions (healthy ≈ 1/√d, collapsed → 0)."""
    return normalized_std_of(covariance_spectrum(z).unit_variances)


def spectrum_metrics(eigenvalues: np.ndarray, n: int = 1) -> dict[str, float | int]:
    """Rank (collapse rule), effective rank and α of a covariance spectrum that has no stored data behind it
    (a population spectrum eig(W C Wᵀ), a theory prediction): one call for training logs and experiments."""
    lam = np.clip(np.asarray(eigenvalues, dtype=np.float64), 0.0, None)
    cut = collapse_cut(lam)
    return {"rank": cut.rank, "effective_rank": effective_rank(np.sqrt(n * lam)),
            "alpha": alpha_req(lam, k_max=cut.rank)}
