"""`diagnose(z)`: every spectrum metric of an embedding matrix and a verdict in words, from one streamed spectrum.

Verdict (rules in `rank.py`, docs/metrics.md):
- `complete collapse`: the embeddings sit at one point — total variance ≤ 1e-3 × mean ‖z‖² (rows ≈ one vector,
  mean pairwise cosine ≈ 1), or no direction above the rounding noise;
- `dimensional collapse (k of d)`: the collapse rank k is below the measurable maximum min(N' − 1, d) — the
  spectrum has a knee after direction k (a fall of ≥ 1.5 decades over one to five directions, to a floor or a
  flat tail), or it decays into the rounding noise of the stored values after direction k;
- `healthy`: every measurable direction carries variance and the spectrum has no knee (a power law, however
  steep, is healthy; its α is reported when the fit is one). With N' ≤ d distinct rows only N' − 1 directions
  are measurable after centring; the reason says so, and counts repeated rows.
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
from .metrics import (
    ALPHA_FIT_RMS,
    PowerLawFit,
    effective_rank,
    mean_cosine_of,
    normalized_std_of,
    power_law_fit,
    rankme,
)
from .rank import (
    KNEE_CUT,
    KNEE_DECADES,
    KNEE_STEEPNESS,
    KNEE_WIDTH,
    RULE,
    SPREAD_COMPLETE,
    CollapseCut,
    Knee,
    collapse_cut,
    complete_collapse,
    is_near_square,
)
from .spectrum import Spectrum, covariance_spectrum


@dataclass(frozen=True, kw_only=True, eq=False)
class Diagnosis:
    """All metrics of one (N, d) embedding matrix. `eigenvalues`: centred covariance spectrum, descending.

    rank / collapse_rank   directions above the knee (the verdict's k); rank_rtol: the λ/λ_1 level of the cut;
                           numerical_rank: directions above the rounding noise (numerical_rank_floor, λ)
    knee                   the knee that set the rank (`rank.Knee`: start, end, decades, steps) or None;
                           knee_decades its depth
    max_rank               min(N' − 1, d), the most directions N' distinct centred samples can show;
                           duplicate_rows: N − N', rows repeating an earlier row byte for byte
    effective_rank         Roy & Vetterli 2007 on the centred singular values; rankme: Garrido et al. 2023 on
                           the raw singular values
    alpha                  α-ReQ over the surviving directions (alpha_fit), None when that fit is no power law
                           (rms residual > ALPHA_FIT_RMS decades); alpha_fit_authors: the authors' window
                           (k = 6 … 100, weights 1/k), for comparison
    normalized_std         std (biased, ÷ N) of L2-normalised embeddings (healthy ≈ 1/√d); mean_cosine: mean
                           pairwise cosine
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
    alpha_fit: PowerLawFit | None
    alpha_fit_authors: PowerLawFit | None
    normalized_std: float
    mean_cosine: float | None
    spread: float
    total_variance: float
    knee: Knee | None
    surviving_variance_share: float
    verdict: str
    phase: str
    reason: str
    storage: str
    compute: str
    eigenvalues: np.ndarray = field(repr=False)
    duplicate_rows: int = 0
    lidar: float | None = None

    @property
    def collapse_rank(self) -> int:
        return self.rank

    @property
    def knee_decades(self) -> float | None:
        return None if self.knee is None else self.knee.decades

    @property
    def alpha(self) -> float | None:
        """α-ReQ over the surviving directions, when that fit is a power law (else None)."""
        fit = self.alpha_fit
        return fit.alpha if fit is not None and fit.power_law else None

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
            "duplicate_rows": self.duplicate_rows,
            "numerical_rank": self.numerical_rank, "numerical_rank_floor": self.numerical_rank_floor,
            "effective_rank": self.effective_rank, "rankme": self.rankme, "alpha": self.alpha,
            "alpha_fit": None if self.alpha_fit is None else self.alpha_fit.to_dict(),
            "alpha_fit_authors": None if self.alpha_fit_authors is None else self.alpha_fit_authors.to_dict(),
            "normalized_std": self.normalized_std, "normalized_std_healthy": 1.0 / math.sqrt(self.dim),
            "mean_cosine": self.mean_cosine, "spread": self.spread, "total_variance": self.total_variance,
            "knee_decades": self.knee_decades, "knee": None if self.knee is None else self.knee.to_dict(),
            "surviving_variance_share": self.surviving_variance_share,
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


def _measurable_caveat(sp: Spectrum) -> str:
    m = sp.measurable
    if sp.duplicate_rows:
        return (f" ({sp.duplicate_rows} of {sp.n} rows repeat earlier rows — e.g. a padded distributed sampler: "
                f"{sp.distinct_rows} distinct rows show at most {m} directions)")
    return "" if m == sp.dim else f" (only N − 1 = {m} are measurable with N = {sp.n} samples; use N > d)"


def _knee_words(knee: Knee, lam: np.ndarray, k: int) -> str:
    s, e = knee.start, knee.end
    where = " to the noise floor" if knee.to_floor else ""
    if e == s + 1:
        shape = f"in one step (λ_{s + 1}/λ_{s} = {max(lam[s], 0.0) / lam[s - 1]:.1e}){where}"
    else:
        shape = (f"over {e - s} directions ({', '.join(f'{v:.2f}' for v in knee.steps)} decades a step, "
                 f"{s}→{e}){where}")
    kept = ("" if k == s else f"; direction {k} lies" if k == s + 1 else f"; directions {s + 1}…{k} lie") + (
        f" within {KNEE_CUT:g} decade of λ_{s} and still count{'s' if k == s + 1 else ''}" if k > s else "")
    return f"a knee: the spectrum drops {knee.decades:.1f} decades after direction {s} {shape}{kept}"


def _alpha_words(fit: PowerLawFit | None) -> str:
    if fit is None or not math.isfinite(fit.alpha):
        return ""
    span = f"k = {fit.k_min}…{fit.k_max}"
    if fit.power_law:
        return f"; a power law with α-ReQ {fit.alpha:.2f} ({span}, fit rms {fit.rms_decades:.2f} decade)"
    return (f"; not a power law (the α-ReQ line over {span} misses by {fit.rms_decades:.2f} decade rms, more than "
            f"{ALPHA_FIT_RMS:g}): α not reported")


def verdict(sp: Spectrum, cut: CollapseCut, fit: PowerLawFit | None = None) -> tuple[str, str, str]:
    """(verdict, phase, reason) of a spectrum cut by the collapse rule (module docstring); `fit`: the α-ReQ fit
    of the surviving directions, named in the reason."""
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
    caveat = _measurable_caveat(sp)
    if k < m:
        if cut.knee is not None:
            drop = _knee_words(cut.knee, lam, k)
        else:
            drop = (f"no knee, but the spectrum decays smoothly into the rounding noise of {sp.storage} values after "
                    f"direction {k} (λ_{k}/λ_1 = {lam[k - 1] / lam[0]:.1e}): this count is set by the stored "
                    "precision — a finer dtype would show more")
        return (f"dimensional collapse ({k} of {d})", "dimensional",
                f"{drop}; the top {k} directions hold {cut.surviving_share:.2%} of the variance; effective rank "
                f"{erank:.1f}; {numerical}{caveat}")
    return ("healthy", "none",
            f"all {k} measurable directions carry variance with no knee{caveat} (largest one-step drop "
            f"{cut.largest_step_decades:.2f} decades, after direction {cut.largest_step_at}; a knee falls ≥ "
            f"{KNEE_DECADES:g} decades over ≤ {KNEE_WIDTH} directions, ≥ {KNEE_STEEPNESS:g}× steeper in log λ vs "
            f"log k than on either side){_alpha_words(fit)}; smallest λ_{k}/λ_1 = {lam[k - 1] / lam[0]:.1e}; "
            f"effective rank {erank:.1f} of {d}; {numerical}")


def spectrum_cut(sp: Spectrum) -> CollapseCut:
    """The collapse rule on a measured spectrum: its noise floor, its measurable directions (distinct rows), the
    hard edge of near-square samples."""
    return collapse_cut(sp.eigenvalues, noise_floor=sp.noise_floor, measurable=sp.measurable,
                        near_square=is_near_square(sp.distinct_rows, sp.dim))


def diagnosis_of(sp: Spectrum, views: Any = None) -> Diagnosis:
    """Every metric and the verdict of a measured `Spectrum` (`views` (N', q, d) adds LiDAR)."""
    lam, m = sp.eigenvalues, sp.measurable
    cut = spectrum_cut(sp)
    complete = complete_collapse(sp.total_variance, sp.mean_sq_norm) or cut.rank == 0
    fit = None if complete else power_law_fit(lam, k_max=cut.rank)
    word, phase, reason = verdict(sp, cut, fit)
    return Diagnosis(
        n=sp.n, dim=sp.dim, rank=0 if complete else cut.rank, rank_rtol=1.0 if complete else cut.relative_cut,
        max_rank=m, numerical_rank=cut.numerical_rank, numerical_rank_floor=cut.floor,
        effective_rank=effective_rank(np.sqrt(sp.n * lam[:m])), rankme=rankme(sp.raw_singular_values),
        alpha_fit=fit, alpha_fit_authors=None if complete else power_law_fit(lam[:m], window="authors"),
        normalized_std=normalized_std_of(sp.unit_variances),
        mean_cosine=mean_cosine_of(sp.unit_variances, sp.n, sp.zero_rows),
        spread=sp.total_variance / sp.mean_sq_norm if sp.mean_sq_norm > 0 else 0.0,
        total_variance=sp.total_variance, knee=None if complete else cut.knee,
        surviving_variance_share=0.0 if complete else cut.surviving_share, verdict=word, phase=phase,
        reason=reason, storage=sp.storage, compute=sp.compute, eigenvalues=lam, duplicate_rows=sp.duplicate_rows,
        lidar=None if views is None else lidar_score(views))


def diagnose(z: Any, views: Any = None) -> Diagnosis:
    """Diagnose an (N, d) embedding matrix: numpy or torch (any device), float16/bfloat16/float32/float64.

    One streamed spectrum, accurate to float64 (`spectrum.covariance_spectrum`), then the rank rules of
    `rank.py` and the metrics of `metrics.py`. `views` (N', q, d), if given, adds LiDAR. N ≤ d is answered
    (only N − 1 directions are measurable; repeated rows are counted and show no direction). Raises
    EmbeddingError (a UserError) on a bad shape or NaN/Inf rows.

    >>> rng = np.random.default_rng(0)
    >>> diagnose(rng.standard_normal((1000, 8)) @ np.diag([1, 1, 1, 1, 0, 0, 0, 0])).verdict
    'dimensional collapse (4 of 8)'
    """
    return diagnosis_of(covariance_spectrum(z), views)
