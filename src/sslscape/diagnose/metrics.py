"""Scalar collapse metrics of an embedding spectrum (all pure functions of the singular values / eigenvalues).

- numerical rank: #{k : λ_k > rtol · λ_1} with rtol = d · ε(compute dtype) by default (`default_rtol`);
- effective rank (Roy & Vetterli 2007): exp H(p), p_k = σ_k / ‖σ‖₁;
- RankMe (Garrido et al. 2023): exp H(p), p_k = σ_k / ‖σ‖₁ + ε with ε = 1e-7;
- α-ReQ (Agrawal et al. 2022): α in λ_k ∝ k^{−α}, least squares on log λ vs log k;
- per-dimension std of L2-normalised embeddings (as logged by lightly / solo-learn): ≈ 1/√d when healthy,
  → 0 under complete collapse.
H(p) = −Σ_k p_k log p_k with 0 log 0 = 0. Tests: tests/diagnose/test_metrics.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .spectrum import Moments, moments

RANKME_EPS = 1e-7  # Garrido et al. 2023, Eq. 2


def default_rtol(dim: int, compute_dtype: str = "float32") -> float:
    """Relative eigenvalue threshold d · ε of the Gram's dtype: below λ_1 · d · ε λ is rounding noise.

    (The usual matrix-rank rule σ_k > σ_1 · max(N, d) · ε applies to an SVD of X; we never form one, and a
    float32 Gram squares the condition number, so its noise floor sits at λ_1 · O(d ε) instead. A test builds
    exact low-rank float32 embeddings and checks that the noise eigenvalues stay 10× below this.)
    """
    return dim * float(np.finfo(np.dtype(compute_dtype)).eps)


def numerical_rank(eigenvalues: np.ndarray, rtol: float) -> int:
    """#{k : λ_k > rtol · λ_1}; 0 when λ_1 = 0 (all embeddings equal)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if lam.size == 0 or lam.max() <= 0.0:
        return 0
    return int(np.count_nonzero(lam > rtol * lam.max()))


def _entropy_exp(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(np.exp(-np.sum(nz * np.log(nz))))


def effective_rank(singular_values: np.ndarray) -> float:
    """Roy & Vetterli (2007): erank = exp(−Σ_k p_k log p_k), p_k = σ_k / ‖σ‖₁; 0 for an all-zero σ.

    Equals r for r equal non-zero singular values; lies in [1, rank] otherwise.
    """
    s = np.asarray(singular_values, dtype=np.float64)
    total = s.sum()
    if total <= 0.0:
        return 0.0
    return _entropy_exp(s / total)


def rankme(singular_values: np.ndarray, eps: float = RANKME_EPS) -> float:
    """RankMe (Garrido et al. 2023, Eq. 2): exp(−Σ_k p_k log p_k), p_k = σ_k / ‖σ‖₁ + ε, ε = 1e-7.

    The ε keeps log finite for zero singular values; it adds about d · ε · log(1/ε) ≈ 3e-3 at d = 2,048.
    Garrido et al. use the singular values of the raw (uncentred) embedding matrix; `diagnose` does the same.
    Returns 0 for an all-zero σ (there is no distribution to take the entropy of).
    """
    s = np.asarray(singular_values, dtype=np.float64)
    total = s.sum()
    if total <= 0.0:
        return 0.0
    return _entropy_exp(s / total + eps)


def alpha_req(eigenvalues: np.ndarray, k_min: int = 1, k_max: int | None = None) -> float:
    """α-ReQ (Agrawal et al. 2022): fit log λ_k = c − α log k by least squares over k = k_min … k_max.

    `k_max` defaults to the last positive eigenvalue; `diagnose` passes the numerical rank so the
    rounding-noise tail (which would flatten the fit) is excluded. NaN with fewer than 3 points to fit.
    Exact for λ_k = c k^{−α}; a healthy SSL representation has α ≈ 1 (Agrawal et al.).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    positive = int(np.count_nonzero(lam > 0))
    hi = positive if k_max is None else min(k_max, positive)
    if hi - k_min + 1 < 3:
        return float("nan")
    k = np.arange(k_min, hi + 1, dtype=np.float64)
    slope, _ = np.polyfit(np.log(k), np.log(lam[k_min - 1 : hi]), 1)
    return float(-slope)


def normalized_std_from_moments(m: Moments) -> float:
    """Mean over dimensions of the std (over samples, biased) of u_i = z_i / ‖z_i‖.

    lightly's `std_of_l2_normalized`: 1/√d for isotropic embeddings, 0 under complete collapse.
    """
    mean = m.unit_sum / m.n  # sums are of u − r (see Moments), which leaves the variance unchanged
    var = np.clip(m.unit_sq_sum / m.n - mean**2, 0.0, None)
    return float(np.sqrt(var).mean())


def normalized_std(z: Any) -> float:
    """Per-dimension std of L2-normalised embeddings, averaged over dimensions (healthy ≈ 1/√d)."""
    return normalized_std_from_moments(moments(z, scatter=False))
