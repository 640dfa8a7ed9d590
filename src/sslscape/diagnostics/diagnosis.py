"""`diagnose(z)`: every spectrum metric of an embedding matrix and a verdict in words, from one streamed spectrum.

Verdict (rules in `rank.py`, docs/metrics.md):
- `complete collapse`: the embeddings sit at one point — total variance ≤ 1e-3 × mean ‖z‖² (rows ≈ one vector,
  mean pairwise cosine ≈ 1), or no direction above the rounding noise;
- `dimensional collapse (k of d)`: the collapse rank k is below the measurable maximum min(N − 1, d) — the
  spectrum drops by orders of magnitude to a floor (or decays into the rounding noise) after direction k;
- `healthy`: every measurable direction carries variance and the spectrum has no cliff (a power law, however
  steep, is healthy). With N ≤ d only N − 1 directions are measurable after centring; the reason says so.
`rank` is the collapse rank (the verdict's k); `numerical_rank` counts directions above the rounding noise of the
stored values. `phase` uses the theory's words ('complete' | 'dimensional' | 'none').
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .lidar import lidar as lidar_score
from .metrics import alpha_req, effective_rank, mean_cosine_of, normalized_std_of, rankme
from .rank import (
    CLIFF_DECADES,
    RULE,
    SLOPE_RATIO,
    SPREAD_COMPLETE,
    CollapseCut,
    collapse_cut,
    complete_collapse,
    is_near_square,
)
from .spectrum import Spectrum, covariance_spectrum


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """All metrics of one (N, d) embedding matrix. `eigenvalues`: centred covariance spectrum, descending.

    rank / collapse_rank   directions above the first cliff (the verdict's k); rank_rtol: the λ/λ_1 level of the
                           cut; numerical_rank: directions above the rounding noise (numerical_rank_floor, λ)
    max_rank               min(N − 1, d), the most directions N centred samples can show
    effective_rank         Roy & Vetterli 2007 on the centred singular values; rankme: Garrido et al. 2023 on
                           the raw singular values; alpha: α-ReQ over the surviving directions
    normalized_std         std of L2-normalised embeddings (healthy ≈ 1/√d); mean_cosine: mean pairwise cosine
    spread                 total variance / mean ‖z‖² (complete collapse below 1e-3)
    """

    n: int
    dim: int
    rank: int
    rank_rtol: float
    max_rank: int
    numerical_rank: int
    numerical_rank_floor: float
    effective_rank: float
    rankme: float
    alpha: float | None
    normalized_std: float
    mean_cosine: float | None
    spread: float
    total_variance: float
    cliff_decades: float | None
    surviving_variance_share: float
    verdict: str
    phase: str
    reason: str
    storage: str
    compute: str
    eigenvalues: np.ndarray = field(repr=False)
    lidar: float | None = None

    @property
    def collapse_rank(self) -> int:
        return self.rank

    @property
    def compute_dtype(self) -> str:
        return "float32" if self.compute.startswith("float32") else "float64"

    @property
    def singular_values(self) -> np.ndarray:
        """Singular values of the centred embeddings, σ_k = √(N λ_k)."""
        return np.sqrt(self.n * self.eigenvalues)

    def to_dict(self, spectrum: bool = True) -> dict[str, Any]:
        """A JSON-serialisable dict (no NaN: undefined values are None)."""
        out: dict[str, Any] = {
            "n": self.n, "dim": self.dim, "rank": self.rank, "collapse_rank": self.rank,
            "rank_rtol": self.rank_rtol, "rank_rule": RULE, "max_rank": self.max_rank,
            "numerical_rank": self.numerical_rank, "numerical_rank_floor": self.numerical_rank_floor,
            "effective_rank": self.effective_rank, "rankme": self.rankme, "alpha": self.alpha,
            "normalized_std": self.normalized_std, "normalized_std_healthy": 1.0 / math.sqrt(self.dim),
            "mean_cosine": self.mean_cosine, "spread": self.spread, "total_variance": self.total_variance,
            "cliff_decades": self.cliff_decades, "surviving_variance_share": self.surviving_variance_share,
            "verdict": self.verdict, "phase": self.phase, "reason": self.reason, "storage": self.storage,
            "compute": self.compute, "compute_dtype": self.compute_dtype,
        }
        if self.lidar is not None:
            out["lidar"] = self.lidar
        if spectrum:
            out["eigenvalues"] = [float(v) for v in self.eigenvalues]
        return out

    def to_json(self, spectrum: bool = True) -> str:
        return json.dumps(self.to_dict(spectrum))


def _complete_reason(sp: Spectrum, spread: float, cosine: float | None, nstd: float) -> str:
    n, d = sp.n, sp.dim
    if sp.mean_sq_norm == 0.0:
        return f"all {n} embeddings are exactly zero"
    if sp.total_variance == 0.0:
        return f"all {n} embeddings are identical (zero variance)"
    cos = "" if cosine is None else f", mean pairwise cosine {cosine:.6f}"
    return (f"all {n} embeddings ≈ one vector: their spread is {spread:.1e} of the mean squared norm "
            f"(threshold {SPREAD_COMPLETE:.0e}){cos}; std of L2-normalised embeddings {nstd:.3g} "
            f"(healthy ≈ 1/√d = {d ** -0.5:.3g})")


def verdict(sp: Spectrum, cut: CollapseCut) -> tuple[str, str, str]:
    """(verdict, phase, reason) of a spectrum cut by the collapse rule (module docstring)."""
    lam, d, m = sp.eigenvalues, sp.dim, sp.measurable
    spread = sp.total_variance / sp.mean_sq_norm if sp.mean_sq_norm > 0 else 0.0
    nstd = normalized_std_of(sp.unit_variances)
    cosine = mean_cosine_of(sp.unit_variances, sp.n, sp.zero_rows)
    if complete_collapse(sp.total_variance, sp.mean_sq_norm) or cut.rank == 0:
        reason = (_complete_reason(sp, spread, cosine, nstd) if complete_collapse(sp.total_variance, sp.mean_sq_norm)
                  else f"no direction carries variance above the rounding noise of {sp.storage} values")
        return "complete collapse", "complete", reason
    k = cut.rank
    erank = effective_rank(np.sqrt(lam[:m]))
    floor_rel = cut.floor / lam[0]
    numerical = (f"numerical rank {cut.numerical_rank} (λ above {floor_rel:.1e} λ_1: {sp.storage} rounding noise "
                 "× 16)")
    caveat = "" if m == d else f" (only N − 1 = {m} are measurable with N = {sp.n} samples; use N > d)"
    if k < m:
        if cut.cliff_decades is not None:
            drop = (f"the spectrum drops {cut.cliff_decades:.1f} decades after direction {k} "
                    f"(λ_{k + 1}/λ_{k} = {max(lam[k], 0.0) / lam[k - 1]:.1e}) to a floor of {m - k} directions")
        else:
            drop = (f"the spectrum decays into the rounding noise of {sp.storage} values after direction {k} "
                    f"(λ_{k}/λ_1 = {lam[k - 1] / lam[0]:.1e})")
        return (f"dimensional collapse ({k} of {d})", "dimensional",
                f"{drop}; the {k} surviving directions hold {cut.surviving_share:.2%} of the variance; effective "
                f"rank {erank:.1f}; {numerical}{caveat}")
    return ("healthy", "none",
            f"all {k} measurable directions carry variance with no cliff{caveat} (largest one-step drop "
            f"{cut.largest_step_decades:.2f} decades, after direction {cut.largest_step_at}; a cliff needs "
            f"≥ {CLIFF_DECADES:g} and ≥ {SLOPE_RATIO:g}× the local slope); smallest λ_{k}/λ_1 = "
            f"{lam[k - 1] / lam[0]:.1e}; effective rank {erank:.1f} of {d}; {numerical}")


def diagnosis_of(sp: Spectrum, views: Any = None) -> Diagnosis:
    """Every metric and the verdict of a measured `Spectrum` (`views` (N', q, d) adds LiDAR)."""
    lam, m = sp.eigenvalues, sp.measurable
    cut = collapse_cut(lam, noise_floor=sp.noise_floor, measurable=m, near_square=is_near_square(sp.n, sp.dim))
    word, phase, reason = verdict(sp, cut)
    complete = phase == "complete"
    rank = 0 if complete else cut.rank
    alpha = float("nan") if complete else alpha_req(lam, k_max=rank)
    return Diagnosis(
        n=sp.n, dim=sp.dim, rank=rank, rank_rtol=1.0 if complete else cut.relative_cut, max_rank=m,
        numerical_rank=cut.numerical_rank, numerical_rank_floor=cut.floor,
        effective_rank=effective_rank(np.sqrt(sp.n * lam[:m])), rankme=rankme(sp.raw_singular_values),
        alpha=None if math.isnan(alpha) else alpha, normalized_std=normalized_std_of(sp.unit_variances),
        mean_cosine=mean_cosine_of(sp.unit_variances, sp.n, sp.zero_rows),
        spread=sp.total_variance / sp.mean_sq_norm if sp.mean_sq_norm > 0 else 0.0,
        total_variance=sp.total_variance, cliff_decades=None if complete else cut.cliff_decades,
        surviving_variance_share=0.0 if complete else cut.surviving_share, verdict=word, phase=phase,
        reason=reason, storage=sp.storage, compute=sp.compute, eigenvalues=lam,
        lidar=None if views is None else lidar_score(views))


def diagnose(z: Any, views: Any = None) -> Diagnosis:
    """Diagnose an (N, d) embedding matrix: numpy or torch (any device), float16/bfloat16/float32/float64.

    One streamed spectrum, accurate to float64 (`spectrum.covariance_spectrum`), then the rank rules of
    `rank.py` and the metrics of `metrics.py`. `views` (N', q, d), if given, adds LiDAR. N ≤ d is answered
    (only N − 1 directions are measurable). Raises EmbeddingError (a UserError) on a bad shape or NaN/Inf rows.

    >>> rng = np.random.default_rng(0)
    >>> diagnose(rng.standard_normal((1000, 8)) @ np.diag([1, 1, 1, 1, 0, 0, 0, 0])).verdict
    'dimensional collapse (4 of 8)'
    """
    return diagnosis_of(covariance_spectrum(z), views)
