"""The rank rules of sslscape, each defined once (docs/metrics.md): numerical rank, collapse rank, agreement.

Every result that prints a rank — `diagnose`, training summaries and metrics, `compare`, every experiment — gets
it from this module, and records the rule and tolerance next to it.

**Numerical rank** — the directions whose variance stands above the rounding noise of the stored values.
Stored values x̃ = x + e carry rounding errors |e_ij| ≤ u·|x_ij| (u: unit roundoff of the precision the values
are held in — float16 2⁻¹¹, bfloat16 2⁻⁸, float32 2⁻²⁴, float64 2⁻⁵³). Modelled as independent with variance
u²x_ij²/3, the largest singular value of E is at most ≈ √(Σ_i max e²) + √(Σ_j max e²) (Latała 2005; Bandeira &
van Handel 2016), so in covariance units (λ = σ²/N)

    λ_noise = (u²/3) · (√max_j mean_i x_ij² + √(max_i ‖x_i‖² / N))²

No direction with λ_k ≤ λ_noise can be told apart from rounding. The numerical rank counts λ_k > NOISE_SAFETY ·
max(λ_noise, λ_compute), λ_compute being the error of our own Gram matrix (see `spectrum`). It depends on the
values only: identical values stored as float16, float32 or float64 give the same rank (`spectrum` finds the
coarsest precision that holds every value exactly). Unlike numpy's `matrix_rank` rule σ_k > max(N, d)·ε·σ_1 — a
worst-case bound that calls a float16 matrix of 5,000 rows rank 0 — this is the size of the noise itself.

**Collapse rank** — the directions above the first *cliff* of the spectrum: a smooth spectrum, however steep (a
power law), is not collapse; a drop of orders of magnitude to a floor is, whatever the floor's origin (exact
zeros, rounding noise, a noise floor of real variance). With λ̃_k = max(λ_k, floor) over the measurable
directions k ≤ m = min(N − 1, d) and steps s_k = log₁₀(λ̃_k / λ̃_{k+1}), a cliff at k needs

    s_k ≥ CLIFF_DECADES (variance falls ≥ 10^1.5 ≈ 32×)   — EDGE_CLIFF_DECADES for a sample spectrum of a
                                                              near-square matrix (N − 1 ≈ d) when ≤ 2 directions
                                                              lie below, above the floor: the random-matrix hard
                                                              edge makes those small by chance
    s_k ≥ SLOPE_RATIO × the local slope (median of the other steps within ±SLOPE_WINDOW)

The collapse rank is the first cliff's k, else the numerical rank (directions below rounding carry nothing
measurable). A power law λ_k ∝ k^-α has steps α·log₁₀(1 + 1/k), at most 1.7× their neighbours', and a geometric
decay has equal steps: neither is ever a cliff, however steep.

**Complete collapse** — the embeddings sit at one point relative to a reference scale: total variance ≤
SPREAD_COMPLETE × mean ‖z‖² (all rows ≈ one vector; mean pairwise cosine ≈ 1), or, for a trained encoder whose
data scale is known, top variance ≤ SCALE_COMPLETE × that scale.

**Agreement** of theory and measurement: both spectra are cut by the same collapse rule; they agree when the
measured collapse rank lies in the predicted range [global-minimum rank, locally stable directions] (the
upper end differs from the lower only for depth ≥ 2, where a metastable band exists).

Tests: tests/diagnostics/test_rank.py (rules), tests/diagnostics/test_precision.py (dtype invariance, SVD reference).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..result import Result

CLIFF_DECADES = 1.5
EDGE_CLIFF_DECADES = 4.0
SLOPE_RATIO = 3.0
SLOPE_WINDOW = 4
NOISE_SAFETY = 16.0  # numerical rank: λ above 16× the rounding-noise bound (σ 4× above it)
SPREAD_COMPLETE = 1e-3  # complete collapse: spread ≤ 1e-3 of the mean squared norm (pairwise cosines ≥ ~0.999)
SCALE_COMPLETE = 1e-6  # complete collapse of a trained encoder: top variance ≤ 1e-6 × the data's variance scale
DEFAULT_RELATIVE_FLOOR = 1e-12  # floor of spectra with no stored data (theory, eig(W C Wᵀ) in float64)

UNIT_ROUNDOFF: dict[str, float] = {
    "bfloat16": 2.0**-8,
    "float16": 2.0**-11,
    "float32": 2.0**-24,
    "float64": 2.0**-53,
}

RULE = (f"collapse rank: directions above the first cliff (variance falls ≥ {10 ** CLIFF_DECADES:.0f}× in one step "
        f"and ≥ {SLOPE_RATIO:g}× the local slope of the spectrum), else the numerical rank (λ above "
        f"{NOISE_SAFETY:g}× the rounding noise of the stored values); docs/metrics.md")


def rounding_noise(unit_roundoff: float, col_sq_max: float, row_sq_max: float, n: int) -> float:
    """λ_noise: the largest covariance eigenvalue rounding errors |e_ij| ≤ u|x_ij| can produce (module doc).

    `col_sq_max` = max_j mean_i x_ij², `row_sq_max` = max_i ‖x_i‖² (both of the uncentred stored values).
    """
    return unit_roundoff**2 / 3.0 * (math.sqrt(col_sq_max) + math.sqrt(row_sq_max / n)) ** 2


def numerical_rank(eigenvalues: Sequence[float] | np.ndarray, noise_floor: float) -> int:
    """#{k : λ_k > noise_floor}: directions that stand above the noise floor (absolute, covariance units)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    return int(np.count_nonzero(lam > max(noise_floor, 0.0))) if lam.size and lam.max() > 0 else 0


@dataclass(frozen=True)
class CollapseCut(Result):
    """Where the collapse rule cuts a spectrum. `rank` directions survive; the rest collapsed.

    `cliff_decades`: log₁₀(λ_rank / λ_rank+1) at the cliff that set the rank (None: no cliff — the rank is the
    numerical rank). `largest_step_decades`/`largest_step_at`: the spectrum's largest one-step drop (for the
    verdict of a healthy spectrum). `surviving_share`: Σ_{k ≤ rank} λ_k / Σ λ_k. `floor`: the absolute level
    below which eigenvalues count as zero. `relative_cut`: the level, relative to λ_1, that separates survivors
    from collapsed directions (geometric mean of the two sides). `complete`: rank 0 by the reference-scale test.
    """

    rank: int
    numerical_rank: int
    measurable: int
    cliff_decades: float | None
    largest_step_decades: float
    largest_step_at: int
    surviving_share: float
    floor: float
    relative_cut: float
    complete: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**Result.to_dict(self), "rule": RULE}


def _local_slope(steps: np.ndarray, k: int) -> float:
    lo, hi = max(0, k - SLOPE_WINDOW), min(steps.size, k + SLOPE_WINDOW + 1)
    near = np.r_[steps[lo:k], steps[k + 1 : hi]]
    return float(np.median(near)) if near.size else 0.0


def collapse_cut(
    eigenvalues: Sequence[float] | np.ndarray,
    *,
    noise_floor: float | None = None,
    measurable: int | None = None,
    reference_scale: float | None = None,
    near_square: bool = False,
) -> CollapseCut:
    """Apply the collapse rule (module docstring) to eigenvalues λ (any order; ≥ 0 up to rounding).

    `noise_floor`: absolute level below which λ is numerically zero (default DEFAULT_RELATIVE_FLOOR · λ_1, for
    spectra computed in float64 from exact inputs such as theory predictions). `measurable`: how many
    directions can carry variance (min(N − 1, d) for N centred samples; default all). `reference_scale`: the
    data's variance scale, for the complete-collapse test of a trained encoder (λ_1 ≤ SCALE_COMPLETE · scale).
    `near_square`: the spectrum is a sample covariance of N ≈ d + 1 rows (see `is_near_square`).
    """
    lam = np.sort(np.clip(np.asarray(eigenvalues, dtype=np.float64).ravel(), 0.0, None))[::-1]
    m = lam.size if measurable is None else max(0, min(int(measurable), lam.size))
    lam = lam[:m]
    top = float(lam[0]) if m else 0.0
    floor = DEFAULT_RELATIVE_FLOOR * top if noise_floor is None else float(noise_floor)
    total = float(lam.sum())
    r_num = numerical_rank(lam, floor)
    if r_num == 0 or (reference_scale is not None and top <= SCALE_COMPLETE * reference_scale):
        return CollapseCut(0, r_num, m, None, 0.0, 0, 0.0, floor, 1.0, complete=r_num > 0)
    clamped = np.maximum(lam, max(floor, np.finfo(float).tiny))
    steps = np.log10(clamped[:-1] / clamped[1:])  # steps[k-1] = s_k, the drop from λ_k to λ_{k+1}
    rank, cliff = r_num, None
    for i in np.flatnonzero(steps >= CLIFF_DECADES):
        k = int(i) + 1  # 1-based index of the last surviving direction
        need = EDGE_CLIFF_DECADES if (near_square and m - k <= 2 and lam[k] > floor) else CLIFF_DECADES
        if k <= r_num and steps[i] >= need and steps[i] >= SLOPE_RATIO * _local_slope(steps, int(i)):
            rank, cliff = k, float(steps[i])
            break
    big = int(np.argmax(steps)) if steps.size else 0
    share = float(lam[:rank].sum() / total) if total > 0 else 0.0
    below = float(clamped[rank]) if rank < m else floor
    level = math.sqrt(float(lam[rank - 1]) * max(below, 0.0)) / top
    return CollapseCut(rank, r_num, m, cliff, float(steps[big]) if steps.size else 0.0, big + 1, share, floor,
                       level)


def is_near_square(n: int, d: int) -> bool:
    """True when N centred samples in d dimensions form a nearly square matrix (aspect min/max of N − 1 and d
    above 0.8), whose smallest sample eigenvalues fall towards the random-matrix hard edge."""
    a, b = n - 1, d
    return a > 0 and min(a, b) / max(a, b) > 0.8


def collapse_rank(eigenvalues: Sequence[float] | np.ndarray, **kwargs: Any) -> int:
    """The collapse rank of a spectrum (`collapse_cut(...).rank`)."""
    return collapse_cut(eigenvalues, **kwargs).rank


def complete_collapse(total_variance: float, mean_sq_norm: float) -> bool:
    """True when the embeddings sit at one point: total variance ≤ SPREAD_COMPLETE · mean ‖z‖² (or both 0)."""
    return total_variance <= SPREAD_COMPLETE * mean_sq_norm or total_variance <= 0.0


@dataclass(frozen=True)
class Agreement(Result):
    """Theory vs measurement, both cut by the collapse rule. `agree`: measured ∈ [predicted, predicted_max]."""

    predicted_rank: int
    predicted_rank_max: int
    measured_rank: int
    agree: bool
    rule: str = RULE


def agreement(
    predicted_spectrum: Sequence[float] | np.ndarray,
    measured_rank: int,
    *,
    predicted_rank_max: int | None = None,
) -> Agreement:
    """The one agreement rule: the predicted spectrum cut by the collapse rule vs a measured collapse rank.

    `measured_rank` must come from `collapse_cut` on the measured spectrum (with its own noise floor and, for
    trained encoders, the data scale). `predicted_rank_max` is the number of locally stable directions for
    depth ≥ 2 (the metastable band); it only widens the range upwards.
    """
    lo = collapse_rank(predicted_spectrum)
    hi = lo if predicted_rank_max is None else max(lo, int(predicted_rank_max))
    return Agreement(lo, hi, int(measured_rank), lo <= int(measured_rank) <= hi)
