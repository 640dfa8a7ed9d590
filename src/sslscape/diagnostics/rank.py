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

**Collapse rank** — the directions above the first clear *knee* of the spectrum. Dimensional collapse in trained
SSL embeddings (Jing et al. 2022) is a knee: a plateau or slow decay, then a fall of orders of magnitude spread over
one to a few directions, then a floor or a flat / slowly decaying tail. A smooth spectrum, however steep — a power
law λ_k ∝ k^-α (a straight line in log λ vs log k) or a geometric decay — is not collapse; a drop to a floor is,
whatever the floor's origin (exact zeros, rounding noise, a noise floor of real variance). Over the measurable
directions k ≤ m = min(N' − 1, d) (N' distinct rows), with y_k = log₁₀ max(λ_k, floor), x_k = log₁₀ k and the
per-step log-log slopes g_j = (y_j − y_{j+1}) / (x_{j+1} − x_j), a window of w ≤ KNEE_WIDTH steps from direction a
to b = a + w is a knee when it falls far enough,

    F = y_a − y_b ≥ KNEE_DECADES (variance falls ≥ 10^1.5 ≈ 32×)  — EDGE_KNEE_DECADES for a sample spectrum of a
                                                                     near-square matrix (N' − 1 ≈ d) whose window
                                                                     ends within 2 of m above the floor: the
                                                                     random-matrix hard edge makes the last
                                                                     eigenvalues small by chance

and it is a bend, not a stretch of a smooth decay — its log-log slope F / (x_b − x_a) is

    ≥ KNEE_STEEPNESS × the head's slope (median g_j of the KNEE_SIDE steps before a; for a = 1, where nothing lies
                                         above, KNEE_TOP_SLOPE: a healthy α = 1 power law)
    ≥ KNEE_STEEPNESS × the tail's slope (median g_j of the KNEE_SIDE steps from b on that stay above the noise
                                         floor; a floor of real variance is flat). Where no tail follows — the
                                         spectrum ends, or drops to the noise floor (exact zeros, rounding) — a
                                         steepening decay cannot be told from a knee: only a cliff counts there, and
                                         the directions above a drop to the noise floor carry real variance

— or, for one step (w = 1), it is a cliff by the rule of sslscape 0.2: ≥ CLIFF_STEEPNESS × the median of the other
steps within ±CLIFF_NEIGHBOURS. A power law has the same log-log slope everywhere (ratio 1), its steps are at most
1.7× their neighbours', and a geometric decay steepens towards its tail with equal steps: neither is ever a knee.

The *minimal* windows that pass (no smaller window inside them passes: a window that also holds some of the head's
steps is not minimal) make the knees, merged where they overlap or touch; a knee runs from its top s — the first
step of its windows that falls ≥ KNEE_LEAD decades at ≥ KNEE_STEEPNESS × the head's slope (a head step a window
holds is not the knee's), moved back over the fall's first steps a shorter window leaves out (each KNEE_LEAD …
KNEE_CUT decades, ≥ KNEE_STEEPNESS × the step before it in log-log slope and in decades, and × the head; not for a
knee that ends on the floor, whose directions above the floor carry real variance) — to the end e of the longest passing
window that starts inside it; its depth is y_s − y_e, and its directions within KNEE_CUT decades of y_s still count
as surviving (a fall of 0.49, 0.72, 0.41 decades after direction 16 keeps 17). Of several knees the first *clear*
one sets the rank: everything below it has collapsed, whatever deeper fall follows further down. A knee is clear
when it is at most KNEE_MARGIN decades shallower than the deepest, or at least KNEE_CLEAR decades deep. So a
marginal knee (≈ 1.5 decades, found at one log and missed at the next) never takes the rank from a deeper one, and
the rule has no memory: the rank of a slowly changing spectrum moves only when a knee's depth crosses one of these
two lines (tests/diagnostics/test_rank.py, `test_rank_of_a_slowly_changing_spectrum_*`). Without a knee the collapse
rank is the numerical rank (directions below rounding carry nothing measurable).

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

KNEE_DECADES = 1.5  # a knee: the variance falls ≥ 10^1.5 ≈ 32× …
KNEE_WIDTH = 5  # … over at most 5 consecutive directions …
KNEE_STEEPNESS = 3.0  # … at ≥ 3× the log-log slope of the spectrum on either side
KNEE_SIDE = 12  # steps on each side whose median log-log slope is that side's trend (8 flickered on real runs)
CLIFF_STEEPNESS = 3.0  # a one-step knee (a cliff) may instead be ≥ 3× the median of the steps within ±4 …
CLIFF_NEIGHBOURS = 4  # … (the rule of sslscape ≤ 0.2, kept: it is never met by a power law or a geometric decay)
KNEE_LEAD = 0.2  # a knee's first steps (0.2 … KNEE_CUT decade each, 3× steeper than the step before) belong
#                 to it, unless it ends on the noise floor (the directions above such a fall carry variance)
KNEE_TOP_SLOPE = 1.0  # a knee from direction 1 (no head) must be 3× steeper than a healthy α = 1 power law
KNEE_CUT = 0.75  # inside a knee, directions within 0.75 decade (half a knee) of its top survive
KNEE_MARGIN = 0.5  # a knee within 0.5 decade of the deepest is clear …
KNEE_CLEAR = 3.0  # … and so is one ≥ 3 decades deep; the first clear knee sets the rank
EDGE_KNEE_DECADES = 4.0  # near-square sample spectra: a knee ending at the hard edge must fall ≥ 4 decades
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

RULE = (f"collapse rank: directions above the first clear knee (variance falls ≥ {10 ** KNEE_DECADES:.0f}× over ≤ "
        f"{KNEE_WIDTH} consecutive directions, ≥ {KNEE_STEEPNESS:g}× steeper in log λ vs log k than the spectrum on "
        f"either side; the knee's directions within {KNEE_CUT:g} decade of its top survive), else the numerical rank "
        f"(λ above {NOISE_SAFETY:g}× the rounding noise of the stored values); docs/metrics.md")


def rounding_noise(unit_roundoff: float, col_sq_max: float, row_sq_max: float, n: int) -> float:
    """λ_noise: the largest covariance eigenvalue rounding errors |e_ij| ≤ u|x_ij| can produce (module doc).

    `col_sq_max` = max_j mean_i x_ij², `row_sq_max` = max_i ‖x_i‖² (both of the uncentred stored values).
    """
    return unit_roundoff**2 / 3.0 * (math.sqrt(col_sq_max) + math.sqrt(row_sq_max / n)) ** 2


def numerical_rank(eigenvalues: Sequence[float] | np.ndarray, noise_floor: float) -> int:
    """#{k : λ_k > noise_floor}: directions that stand above the noise floor (absolute, covariance units)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    return int(np.count_nonzero(lam > max(noise_floor, 0.0))) if lam.size and lam.max() > 0 else 0


@dataclass(frozen=True, kw_only=True)
class Knee(Result):
    """One knee of a spectrum: the fall from direction `start` (its top) to `end` (its bottom), 1-based.

    `decades`: its depth log₁₀(λ̃_start / λ̃_end); `steps`: the one-step falls inside it (decades); `rank`: the
    directions that survive it (`start` plus the knee's directions within KNEE_CUT decades of λ_start);
    `to_floor`: λ_end is at the noise floor.
    """

    start: int
    end: int
    decades: float
    steps: tuple[float, ...]
    rank: int
    to_floor: bool


@dataclass(frozen=True, kw_only=True)
class CollapseCut(Result):
    """Where the collapse rule cuts a spectrum. `rank` directions survive; the rest collapsed.

    `knee`: the knee that set the rank (None: no knee — the rank is the numerical rank); `knees`: every knee
    found, in order. `largest_step_decades`/`largest_step_at`: the spectrum's largest one-step drop (for the
    verdict of a healthy spectrum). `surviving_share`: Σ_{k ≤ rank} λ_k / Σ λ_k. `floor`: the absolute level
    below which eigenvalues count as zero. `relative_cut`: the level, relative to λ_1, that separates survivors
    from collapsed directions (geometric mean of the two sides). `complete`: rank 0 by the reference-scale test.
    """

    rank: int
    numerical_rank: int
    measurable: int
    knee: Knee | None
    knees: tuple[Knee, ...]
    largest_step_decades: float
    largest_step_at: int
    surviving_share: float
    floor: float
    relative_cut: float
    complete: bool = False

    @property
    def knee_decades(self) -> float | None:
        """Depth of the knee that set the rank (None without one)."""
        return None if self.knee is None else self.knee.decades

    def to_dict(self) -> dict[str, Any]:
        return {**Result.to_dict(self), "rule": RULE}


def _row_medians(rows: np.ndarray) -> np.ndarray:
    """The median of each row ignoring NaN (NaN for an all-NaN row), without numpy's all-NaN warning."""
    srt = np.sort(rows, axis=1)  # NaN sort last
    cnt = np.count_nonzero(~np.isnan(rows), axis=1)
    idx = np.arange(rows.shape[0])
    lo, hi = np.maximum(cnt - 1, 0) // 2, np.maximum(cnt, 1) // 2
    return np.where(cnt > 0, (srt[idx, lo] + srt[idx, np.minimum(hi, rows.shape[1] - 1)]) / 2, np.nan)


def _side_medians(g: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(head, tail) trends per direction, 1-based a ↦ index a − 1: head[a − 1] = median of the `side` steps
    before direction a (g_{a−side} … g_{a−1}), tail[b − 1] = median of the `side` steps from direction b on
    (g_b … g_{b+side−1}); NaN where there is no step. Vectorised: a sliding window over NaN-padded steps."""
    pad = np.full(side, np.nan)
    med = _row_medians(np.lib.stride_tricks.sliding_window_view(np.r_[pad, g, pad], side))  # steps i − side … i − 1
    m = g.size + 1
    return med[:m], med[side : side + m]


def _neighbour_medians(step: np.ndarray, half: int) -> np.ndarray:
    """Per step j: the median of the other steps within ±`half` (the local slope a cliff is compared with)."""
    pad = np.full(half, np.nan)
    win = np.lib.stride_tricks.sliding_window_view(np.r_[pad, step, pad], 2 * half + 1).copy()
    win[:, half] = np.nan
    return _row_medians(win)


def knees(y: np.ndarray, *, floor_level: float, near_square: bool = False,
          above_floor: np.ndarray | None = None) -> list[Knee]:
    """Every knee of a descending log₁₀ spectrum `y` (module docstring), in order of their tops.

    `floor_level`: log₁₀ of the floor (for `Knee.to_floor`); `above_floor[k]`: λ_{k+1} > floor (the hard-edge
    test of near-square spectra); `near_square`: see `is_near_square`.
    """
    m = y.size
    if m < 2:
        return []
    x = np.log10(np.arange(1, m + 1, dtype=np.float64))
    step = y[:-1] - y[1:]  # step[j − 1]: the fall from direction j to j + 1 (≥ 0)
    g = step / (x[1:] - x[:-1])  # per-step log-log slopes
    head, _ = _side_medians(g, KNEE_SIDE)
    head[0] = KNEE_TOP_SLOPE  # nothing above direction 1: compare with a healthy power law
    _, tail = _side_medians(np.where(y[1:] <= floor_level, np.nan, g), KNEE_SIDE)  # the floor is no tail
    cliff = step >= CLIFF_STEEPNESS * np.nan_to_num(_neighbour_medians(step, CLIFF_NEIGHBOURS))
    above = np.ones(m, dtype=bool) if above_floor is None else above_floor
    passing: dict[int, np.ndarray] = {}  # w ↦ passes[a − 1] for windows a → a + w
    for w in range(1, min(KNEE_WIDTH, m - 1) + 1):
        a = np.arange(1, m - w + 1)  # window from direction a to b = a + w
        b = a + w
        fall = y[a - 1] - y[b - 1]
        slope = fall / (x[b - 1] - x[a - 1])
        t = tail[b - 1]
        need = np.where(near_square & (m - b <= 2) & above[a], EDGE_KNEE_DECADES, KNEE_DECADES)
        with np.errstate(invalid="ignore"):
            # steeper than both sides in log-log; where no tail follows (the spectrum ends, or drops to the floor)
            # a steepening decay cannot be told from a knee: only a cliff counts there
            bend = (slope >= KNEE_STEEPNESS * head[a - 1]) & ~np.isnan(t) & (slope >= KNEE_STEEPNESS * t)
        passing[w] = (fall >= need) & (bend | (cliff[a - 1] if w == 1 else False))
    windows = []  # the minimal passing windows: no smaller passing window inside (the head's steps left out)
    for w, ok in passing.items():
        inner = np.zeros_like(ok)
        for v in range(1, w):
            for offset in range(w - v + 1):
                inner |= passing[v][offset : offset + ok.size]
        windows += [(int(a0) + 1, int(a0) + 1 + w) for a0 in np.flatnonzero(ok & ~inner)]
    spans: list[list[int]] = []  # minimal windows merged where they overlap or touch: one knee [s, e, last start]
    for s, e in sorted(windows):
        if spans and s <= spans[-1][1]:
            spans[-1][1], spans[-1][2] = max(spans[-1][1], e), s
        else:
            spans.append([s, e, s])
    out = []
    for s, e, last in spans:
        while s < last and (step[s - 1] < KNEE_LEAD or g[s - 1] < KNEE_STEEPNESS * head[s - 1]):
            s += 1  # a head step at its top (small, or no steeper than the head): not the knee's
        # its top: back over the fall's first steps that a shorter window leaves out (each ≥ KNEE_LEAD decades and
        # KNEE_STEEPNESS × steeper than the step before it — in log-log and in decades — and the head), so the cut is
        # taken where the fall begins; in decades too, or an accelerating head (a geometric decay's steps grow in
        # log-log: 1, .72, .39, .091 then a cliff) would be walked back into (measured: the cut fell from 4 to 3)
        while (s > 2 and e - (s - 1) <= KNEE_WIDTH and y[e - 1] > floor_level
               and KNEE_LEAD <= step[s - 2] < KNEE_CUT and g[s - 2] >= KNEE_STEEPNESS * max(g[s - 3], head[s - 2])
               and step[s - 2] >= KNEE_STEEPNESS * step[s - 3]):
            s -= 1
        top = y[s - 1]
        keep = int(np.count_nonzero(y[s:e] >= top - KNEE_CUT))  # y is non-increasing: a prefix of the knee
        # its full depth: down to the end of the longest passing window that starts inside it
        e = int(max([e] + [a0 + 1 + w for w, ok in passing.items()
                           for a0 in np.flatnonzero(ok[s - 1 : e - 1]) + s - 1]))
        out.append(Knee(start=s, end=e, decades=float(top - y[e - 1]),
                        steps=tuple(float(v) for v in step[s - 1 : e - 1]), rank=s + keep,
                        to_floor=bool(y[e - 1] <= floor_level)))
    return out


def choose_knee(found: Sequence[Knee]) -> Knee | None:
    """The knee that sets the collapse rank: the first clear one — within KNEE_MARGIN decades of the deepest, or
    at least KNEE_CLEAR decades deep. No state: the same spectrum always gives the same knee."""
    if not found:
        return None
    clear = min(max(k.decades for k in found) - KNEE_MARGIN, KNEE_CLEAR)
    return next(k for k in found if k.decades >= clear)


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
        return CollapseCut(rank=0, numerical_rank=r_num, measurable=m, knee=None, knees=(), largest_step_decades=0.0,
                           largest_step_at=0, surviving_share=0.0, floor=floor, relative_cut=1.0, complete=r_num > 0)
    clamped = np.maximum(lam, max(floor, np.finfo(float).tiny))
    y = np.log10(clamped)
    found = knees(y, floor_level=float(np.log10(max(floor, np.finfo(float).tiny))), near_square=near_square,
                  above_floor=lam > floor)
    knee = choose_knee(found)
    rank = r_num if knee is None else min(knee.rank, r_num)
    steps = y[:-1] - y[1:]
    big = int(np.argmax(steps)) if steps.size else 0
    share = float(lam[:rank].sum() / total) if total > 0 else 0.0
    below = float(clamped[rank]) if rank < m else floor
    level = math.sqrt(float(lam[rank - 1]) * max(below, 0.0)) / top
    return CollapseCut(rank=rank, numerical_rank=r_num, measurable=m, knee=knee, knees=tuple(found),
                       largest_step_decades=float(steps[big]) if steps.size else 0.0, largest_step_at=big + 1,
                       surviving_share=share, floor=floor, relative_cut=level)


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


def predicted_range(predicted_spectrum: Sequence[float] | np.ndarray, alive_max: int | None = None,
                    alive_min: int | None = None) -> tuple[int, int]:
    """The rank range training is predicted to reach: the predicted spectrum cut by the collapse rule, widened up to
    `alive_max` (the theory's count of locally stable directions — depth ≥ 2 metastable band, SimSiam/BYOL seed
    band) and down to `alive_min` (a start-dependent answer's seed range). Computed once per prediction
    (`sslscape.theory.prediction`)."""
    cut = collapse_rank(predicted_spectrum)
    lo = cut if alive_min is None else min(cut, int(alive_min))
    return lo, cut if alive_max is None else max(cut, int(alive_max))


def agreement(
    predicted_spectrum: Sequence[float] | np.ndarray,
    measured_rank: int,
    *,
    predicted_rank_max: int | None = None,
    predicted_rank_min: int | None = None,
) -> Agreement:
    """The one agreement rule: the predicted spectrum cut by the collapse rule vs a measured collapse rank.

    `measured_rank` must come from `collapse_cut` on the measured spectrum (with its own noise floor and, for
    trained encoders, the data scale). `predicted_rank_max` is the number of locally stable directions for
    depth ≥ 2 (the metastable band); it only widens the range upwards, `predicted_rank_min` (a start-dependent
    answer's seed range) only downwards (`predicted_range`).
    """
    lo, hi = predicted_range(predicted_spectrum, predicted_rank_max, predicted_rank_min)
    return Agreement(lo, hi, int(measured_rank), lo <= int(measured_rank) <= hi)
