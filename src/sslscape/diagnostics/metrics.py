"""Scalar metrics of an embedding spectrum, each defined once (docs/metrics.md); pure functions.

- effective rank (Roy & Vetterli 2007, on **singular values**): exp H(p), p_k = σ_k / ‖σ‖₁;
- RankMe (Garrido et al. 2023, Eq. 2, singular values of the raw embedding matrix): exp H(p), p_k = σ_k/‖σ‖₁ + ε,
  ε = 1e-7, over the min(N, d) singular values;
- α-ReQ (Agrawal et al. 2022): α in λ_k ∝ k^{−α}, a least-squares line in log λ vs log k. Two windows: ours
  (`window="surviving"`, what `diagnose` records: k = 1 … the collapse rank, unweighted — the floor below a knee
  would flatten the fit) and the authors' (`window="authors"`: k = 6 … 100, each point weighted 1/k, as their
  code `reptrix.alpha.get_powerlaw` fits by default — it skips the top eigenvalues and the far tail). Each fit
  carries its quality (R² and the rms residual in decades); a spectrum whose fit misses by more than
  ALPHA_FIT_RMS decades rms is no power law and its α is not reported;
- normalised std (lightly's `std_of_l2_normalized`, SimSiam's collapse monitor, Chen & He 2021 §4.1): mean over
  dimensions of the std of u_i = z_i/‖z_i‖ — 1/√d when healthy, → 0 under complete collapse. We use the **biased**
  std (divide by N); lightly's `torch.std` default is the unbiased one (N − 1): ours is √((N − 1)/N) times theirs;
- mean pairwise cosine over i ≠ j, from the same sums: 1 − cos̄ = N/(N − 1) · Σ_k Var(u_k).
H(p) = −Σ_k p_k log p_k with 0 log 0 = 0. The rank rules live in `rank.py`. Tests: tests/diagnostics/test_metrics.py
and tests/diagnostics/test_precision.py (against a float64 SVD for float16/float32/float64 inputs).

The spectrum functions take a 1-D vector (singular values or eigenvalues); an embedding matrix is refused with a
one-line hint (`diagnose(z).rankme`), since a 2-D array read as a list of values gives a wrong number silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..result import Result
from .spectrum import EmbeddingError, covariance_spectrum

RANKME_EPS = 1e-7  # Garrido et al. 2023, Eq. 2
ALPHA_FIT_RMS = 0.1  # decades: a power-law fit missing by more (rms) is no power law; its α is not reported
AUTHORS_WINDOW = (6, 100)  # reptrix `get_alpha(fit_range=np.arange(5, 100))`: k = 6 … 100 (1-based), weights 1/k
ALPHA_WINDOWS = ("surviving", "authors")


def _vector(values: Any, name: str, what: str, attribute: str | None = None) -> np.ndarray:
    """A 1-D float64 vector, or EmbeddingError naming the fix for an embedding matrix."""
    arr = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=np.float64)
    if arr.ndim != 1:
        raise EmbeddingError(f"{name} takes a 1-D vector of {what}, got shape {arr.shape}; for an (N, d) embedding "
                             f"matrix use sslscape.diagnostics.diagnose(z).{attribute or name}")
    return arr


def _entropy_exp(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(np.exp(-np.sum(nz * np.log(nz))))


def effective_rank(singular_values: np.ndarray) -> float:
    """Roy & Vetterli (2007): erank = exp(−Σ_k p_k log p_k), p_k = σ_k / ‖σ‖₁; 0 for an all-zero σ.

    Takes a 1-D vector of singular values (σ_k = √(N λ_k) of the centred embeddings; any common scale). Equals r
    for r equal non-zero singular values and lies in [1, rank] otherwise. From covariance eigenvalues use
    `effective_rank(np.sqrt(eigenvalues))`; from embeddings `diagnose(z).effective_rank`. Raises EmbeddingError
    for a 2-D input.
    """
    s = np.clip(_vector(singular_values, "effective_rank", "singular values"), 0.0, None)
    total = s.sum()
    return 0.0 if total <= 0.0 else _entropy_exp(s / total)


def rankme(singular_values: np.ndarray, eps: float = RANKME_EPS) -> float:
    """RankMe (Garrido et al. 2023, Eq. 2): exp(−Σ_k p_k log p_k), p_k = σ_k / ‖σ‖₁ + ε, ε = 1e-7.

    Takes a 1-D vector: Garrido et al. use the min(N, d) singular values of the raw (uncentred) embedding matrix;
    so does `diagnose` (`Spectrum.raw_singular_values`; from embeddings use `diagnose(z).rankme`). The ε keeps log
    finite for zero singular values; it adds about d·ε·log(1/ε) ≈ 3e-3 at d = 2,048. Returns 0 for an all-zero σ.
    Raises EmbeddingError for a 2-D input.
    """
    s = np.clip(_vector(singular_values, "rankme", "singular values"), 0.0, None)
    total = s.sum()
    return 0.0 if total <= 0.0 else _entropy_exp(s / total + eps)


@dataclass(frozen=True, kw_only=True)
class PowerLawFit(Result):
    """A least-squares line log₁₀ λ_k = intercept − α log₁₀ k over k = k_min … k_max (α-ReQ).

    `window`: 'surviving' (k = 1 … the collapse rank, unweighted) or 'authors' (k = 6 … 100, weights 1/k);
    `r2`: the (weighted) coefficient of determination of the fit; `rms_decades`: the (weighted) rms residual in
    decades; `power_law`: rms_decades ≤ ALPHA_FIT_RMS — only then is `alpha` a meaningful decay exponent.
    `alpha` is NaN with fewer than 3 points to fit.
    """

    alpha: float
    intercept: float
    k_min: int
    k_max: int
    window: str
    r2: float
    rms_decades: float
    power_law: bool

    def to_dict(self) -> dict[str, Any]:  # no NaN in JSON
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in Result.to_dict(self).items()}


def power_law_fit(eigenvalues: np.ndarray, k_min: int = 1, k_max: int | None = None, *,
                  window: str = "surviving") -> PowerLawFit:
    """Fit λ_k ∝ k^{−α} (α-ReQ, Agrawal et al. 2022) to a 1-D descending spectrum and say how well it fits.

    window 'surviving': k = k_min … k_max (default the last positive eigenvalue), unweighted. window 'authors': the
    authors' default (their code, reptrix `get_alpha`): k = 6 … 100 ∩ the positive eigenvalues, weights 1/k
    (k_min/k_max ignored). Raises EmbeddingError for a 2-D input.
    """
    lam = _vector(eigenvalues, "alpha_req", "eigenvalues", "alpha")
    if window not in ALPHA_WINDOWS:
        raise ValueError(f"window must be one of {ALPHA_WINDOWS}, got {window!r}")
    positive = int(np.count_nonzero(lam > 0))
    if window == "authors":
        k_min, hi = AUTHORS_WINDOW[0], min(AUTHORS_WINDOW[1], positive)
    else:
        hi = positive if k_max is None else min(int(k_max), positive)
    nan = float("nan")
    if hi - k_min + 1 < 3:
        return PowerLawFit(alpha=nan, intercept=nan, k_min=k_min, k_max=hi, window=window, r2=nan, rms_decades=nan,
                           power_law=False)
    k = np.arange(k_min, hi + 1, dtype=np.float64)
    x, y = np.log10(k), np.log10(lam[k_min - 1 : hi])
    w = 1.0 / k if window == "authors" else np.ones_like(k)
    w = w / w.sum()
    xm, ym = w @ x, w @ y
    slope = float(w @ ((x - xm) * (y - ym)) / (w @ (x - xm) ** 2))
    resid = y - (ym + slope * (x - xm))
    ss_res, ss_tot = float(w @ resid**2), float(w @ (y - ym) ** 2)
    rms = math.sqrt(ss_res)
    return PowerLawFit(alpha=-slope, intercept=float(ym - slope * xm), k_min=k_min, k_max=hi, window=window,
                       r2=1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0, rms_decades=rms, power_law=rms <= ALPHA_FIT_RMS)


def alpha_req(eigenvalues: np.ndarray, k_min: int = 1, k_max: int | None = None, *,
              window: str = "surviving") -> float:
    """α-ReQ (Agrawal et al. 2022): the α of `power_law_fit` (least squares on log λ_k vs log k).

    `k_max` defaults to the last positive eigenvalue; `diagnose` passes the collapse rank so a floor (which would
    flatten the fit) is excluded, and reports α only when the fit is a power law (`Diagnosis.alpha_fit`).
    `window="authors"`: the authors' k = 6 … 100 with weights 1/k. NaN with fewer than 3 points to fit. Exact for
    λ_k = c k^{−α}; a healthy SSL representation has α ≈ 1 (Agrawal et al.). Takes a 1-D spectrum; for
    embeddings use `diagnose(z).alpha`.
    """
    return power_law_fit(eigenvalues, k_min, k_max, window=window).alpha


def normalized_std_of(unit_variances: np.ndarray) -> float:
    """Mean over dimensions of the **biased** std (÷ N) over samples of u = z/‖z‖ (module docstring: lightly's
    `std_of_l2_normalized` divides by N − 1, i.e. is √(N/(N − 1)) times this). 1/√d for isotropic embeddings, 0
    under complete collapse.
    """
    return float(np.sqrt(np.clip(np.asarray(unit_variances, dtype=np.float64), 0.0, None)).mean())


def mean_cosine_of(unit_variances: np.ndarray, n: int, zero_rows: int = 0) -> float | None:
    """Mean pairwise cosine over i ≠ j: 1 − N/(N − 1)·Σ_k Var(u_k) (exact; None when a row is zero)."""
    if zero_rows:
        return None
    return float(1.0 - n / (n - 1) * float(np.sum(unit_variances)))


def normalized_std(z: Any) -> float:
    """Std of L2-normalised (N, d) embeddings, averaged over dimensions (healthy ≈ 1/√d, collapsed → 0); the
    biased std (÷ N) — lightly's `std_of_l2_normalized` is √(N/(N − 1)) times it."""
    return normalized_std_of(covariance_spectrum(z).unit_variances)
