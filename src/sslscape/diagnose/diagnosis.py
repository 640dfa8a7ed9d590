"""`diagnose(z)`: every spectrum metric of an embedding matrix and a verdict in words, in one streaming pass.

Verdict (on the centred covariance spectrum λ_1 ≥ … ≥ λ_d, numerical rank r with threshold rtol · λ_1):
- `complete collapse`: total variance Σλ ≤ 1e-6 · mean‖z‖² (all embeddings within 0.1 % of one point),
  or r = 0;
- `dimensional collapse (r of d)`: r < min(N − 1, d) — some directions carry no variance;
- `healthy`: every measurable direction carries variance (r = min(N − 1, d); with N ≤ d only N − 1 can be
  measured after centring, and the reason says so).
The `phase` field uses the theory's words ('complete' | 'dimensional' | 'none') so it compares with
`sslscape.theory.predict(...).phase`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .lidar import lidar as lidar_score
from .metrics import (
    alpha_req,
    default_rtol,
    effective_rank,
    normalized_std_from_moments,
    numerical_rank,
    rankme,
)
from .spectrum import moments, spectra_from_moments

COMPLETE_COLLAPSE_RTOL = 1e-6  # total variance / mean squared norm below this = one point (std 0.1 % of norm)


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """All metrics of one (N, d) embedding matrix. `eigenvalues`: centred covariance spectrum, descending."""

    n: int
    dim: int
    rank: int
    rank_rtol: float
    max_rank: int
    effective_rank: float
    rankme: float
    alpha: float | None
    normalized_std: float
    total_variance: float
    verdict: str
    phase: str
    reason: str
    eigenvalues: np.ndarray = field(repr=False)
    compute_dtype: str
    lidar: float | None = None

    @property
    def singular_values(self) -> np.ndarray:
        """Singular values of the centred embeddings, σ_k = √(N λ_k)."""
        return np.sqrt(self.n * self.eigenvalues)

    def to_json(self, spectrum: bool = True) -> str:
        return json.dumps(self.to_dict(spectrum))

    def to_dict(self, spectrum: bool = True) -> dict[str, Any]:
        """A JSON-serialisable dict (no NaN: an undefined α is None)."""
        out: dict[str, Any] = {
            "n": self.n,
            "dim": self.dim,
            "rank": self.rank,
            "rank_rtol": self.rank_rtol,
            "max_rank": self.max_rank,
            "effective_rank": self.effective_rank,
            "rankme": self.rankme,
            "alpha": self.alpha,
            "normalized_std": self.normalized_std,
            "normalized_std_healthy": 1.0 / math.sqrt(self.dim),
            "total_variance": self.total_variance,
            "verdict": self.verdict,
            "phase": self.phase,
            "reason": self.reason,
            "compute_dtype": self.compute_dtype,
        }
        if self.lidar is not None:
            out["lidar"] = self.lidar
        if spectrum:
            out["eigenvalues"] = [float(v) for v in self.eigenvalues]
        return out


def verdict(
    eigenvalues: np.ndarray, rank: int, rtol: float, n: int, sq_norm_mean: float
) -> tuple[str, str, str]:
    """(verdict, phase, reason) from the centred spectrum; see the module docstring for the rules."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    d = lam.size
    total = float(lam.sum())
    max_rank = min(n - 1, d)
    if rank == 0 or total <= COMPLETE_COLLAPSE_RTOL * sq_norm_mean:
        if sq_norm_mean == 0.0:
            why = f"all {n} embeddings are exactly zero"
        elif total == 0.0:
            why = f"all {n} embeddings are identical (zero variance)"
        else:
            why = (
                f"all {n} embeddings sit at one point: total variance {total:.3g} is "
                f"{total / sq_norm_mean:.1e} of the mean squared norm {sq_norm_mean:.3g} "
                f"(threshold {COMPLETE_COLLAPSE_RTOL:.0e})"
            )
        return "complete collapse", "complete", why
    erank = effective_rank(np.sqrt(lam))
    if rank < max_rank:
        return (
            f"dimensional collapse ({rank} of {d})",
            "dimensional",
            f"only {rank} of {d} directions carry variance above {rtol:.1e} × the top eigenvalue "
            f"(next: λ_{rank + 1}/λ_1 = {lam[rank] / lam[0]:.1e}); effective rank {erank:.1f}",
        )
    measurable = "" if max_rank == d else f" (only N − 1 = {max_rank} are measurable with N = {n}; use N > d)"
    return (
        "healthy",
        "none",
        f"all {rank} directions{measurable} carry variance above {rtol:.1e} × the top eigenvalue "
        f"(smallest λ_{rank}/λ_1 = {lam[rank - 1] / lam[0]:.1e}); effective rank {erank:.1f} of {d}",
    )


def diagnose(
    z: Any, views: Any = None, *, rtol: float | None = None, alpha_range: tuple[int, int | None] = (1, None)
) -> Diagnosis:
    """Diagnose an (N, d) embedding matrix (numpy or torch, any device, float16/32/64).

    rank: #{k : λ_k > rtol · λ_1}, rtol = d · ε(float32 or float64) unless given (`metrics.default_rtol`);
    effective rank and α on the centred spectrum; RankMe on the raw (uncentred) singular values as in
    Garrido et al. 2023; α fitted over k = alpha_range[0] … (alpha_range[1] or the rank). `views` (N', q, d),
    if given, adds LiDAR. Raises EmbeddingError (a UserError) on a bad shape or NaN/Inf rows.

    >>> rng = np.random.default_rng(0)
    >>> diagnose(rng.standard_normal((1000, 8)) @ np.diag([1, 1, 1, 1, 0, 0, 0, 0])).verdict
    'dimensional collapse (4 of 8)'
    """
    m = moments(z)
    centred, raw = spectra_from_moments(m, (True, False))
    lam = centred.eigenvalues
    tol = default_rtol(m.dim, m.compute_dtype) if rtol is None else float(rtol)
    rank = numerical_rank(lam, tol)
    k_min, k_max = alpha_range
    alpha = alpha_req(lam, k_min=k_min, k_max=rank if k_max is None else k_max)
    word, phase, reason = verdict(lam, rank, tol, m.n, m.sq_norm_mean)
    if phase == "complete":
        alpha = float("nan")
    return Diagnosis(
        n=m.n,
        dim=m.dim,
        rank=rank,
        rank_rtol=tol,
        max_rank=min(m.n - 1, m.dim),
        effective_rank=effective_rank(centred.singular_values),
        rankme=rankme(raw.singular_values),
        alpha=None if math.isnan(alpha) else alpha,
        normalized_std=normalized_std_from_moments(m),
        total_variance=float(lam.sum()),
        verdict=word,
        phase=phase,
        reason=reason,
        eigenvalues=lam,
        compute_dtype=m.compute_dtype,
        lidar=None if views is None else lidar_score(views),
    )
