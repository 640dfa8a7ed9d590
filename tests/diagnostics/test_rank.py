"""sslscape.diagnostics.rank: the collapse rule, the numerical rank and the agreement rule, on spectra built to
be smooth, steep, cliffed, floored or degenerate (hypothesis where the inputs vary)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sslscape.diagnostics.rank import (
    KNEE_CLEAR,
    KNEE_CUT,
    KNEE_DECADES,
    KNEE_MARGIN,
    SCALE_COMPLETE,
    agreement,
    collapse_cut,
    complete_collapse,
    is_near_square,
    numerical_rank,
    rounding_noise,
)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5, 3.0, 6.0, 10.0])
@pytest.mark.parametrize("d", [8, 64, 768])
def test_a_power_law_however_steep_is_never_a_cliff(alpha, d):
    lam = np.arange(1, d + 1, dtype=float) ** -alpha
    cut = collapse_cut(lam, noise_floor=0.0)
    assert cut.rank == d and cut.knee is None


@pytest.mark.parametrize("ratio", [1e-1, 1e-2, 1e-3])
def test_a_geometric_decay_is_not_a_cliff(ratio):
    lam = ratio ** np.arange(6.0)
    assert collapse_cut(lam, noise_floor=0.0).rank == 6


@pytest.mark.parametrize("floor", [0.0, 1e-16, 1e-8, 1e-4])
def test_a_drop_to_a_floor_is_collapse_whatever_the_floor(floor):
    lam = np.r_[np.linspace(2.0, 0.5, 10), np.full(54, floor)]
    cut = collapse_cut(lam, noise_floor=1e-14)
    assert cut.rank == 10
    assert cut.surviving_share == pytest.approx(lam[:10].sum() / lam.sum())


def test_power_law_then_noise_floor_cuts_at_the_floor():
    k = np.arange(1, 101, dtype=float)
    lam = np.r_[k**-2.0, np.full(28, 1e-7)]  # λ_100 = 1e-4, then a floor 3 decades lower
    assert collapse_cut(lam).rank == 100


def test_two_level_collapse_cuts_at_the_first_cliff():
    lam = np.r_[np.ones(10), 1e-4, np.zeros(117)]
    assert collapse_cut(lam, noise_floor=1e-14).rank == 10


def test_decay_into_rounding_noise_without_a_cliff_is_the_numerical_rank():
    lam = 10.0 ** -np.arange(20.0)  # one decade per direction, below the floor from k = 13 on
    cut = collapse_cut(lam, noise_floor=1e-12)
    assert cut.rank == cut.numerical_rank == 12 and cut.knee is None


def test_near_square_hard_edge_needs_a_bigger_drop():
    # the last one or two eigenvalues of an N ≈ d Gaussian matrix are small by random-matrix theory
    lam = np.r_[np.linspace(1.0, 0.3, 60), 2e-3]
    assert collapse_cut(lam, noise_floor=1e-14, near_square=True).rank == 61
    assert collapse_cut(lam, noise_floor=1e-14).rank == 60  # a population spectrum has no hard edge
    assert collapse_cut(np.r_[np.linspace(1.0, 0.3, 60), 1e-6], noise_floor=1e-14, near_square=True).rank == 60
    assert is_near_square(62, 61) and is_near_square(128, 128) and not is_near_square(128, 512)


def test_measurable_limits_the_directions_considered():
    lam = np.r_[np.ones(9), np.zeros(23)]  # N = 10 samples in d = 32: λ_10… are zero by construction
    cut = collapse_cut(lam, measurable=9)
    assert cut.rank == 9 and cut.measurable == 9


def test_complete_collapse_by_scale_and_by_spread():
    cut = collapse_cut([1e-9, 5e-10], reference_scale=1.0)
    assert cut.rank == 0 and cut.complete
    assert collapse_cut([1e-9, 5e-10]).rank == 2  # without a scale the shape alone is healthy
    assert collapse_cut(np.zeros(4)).rank == 0
    assert complete_collapse(1e-4, 1.0) and not complete_collapse(1e-2, 1.0)
    assert SCALE_COMPLETE < 1e-3


def test_numerical_rank_counts_above_the_floor():
    assert numerical_rank([1.0, 1e-3, 1e-9, 0.0], 1e-6) == 2
    assert numerical_rank(np.zeros(3), 0.0) == 0


def test_rounding_noise_scales_with_the_unit_roundoff_squared():
    a = rounding_noise(2.0**-11, 1.0, 8.0, 100)
    b = rounding_noise(2.0**-24, 1.0, 8.0, 100)
    assert a / b == pytest.approx(2.0**26)


def test_agreement_cuts_both_spectra_with_the_same_rule():
    # theory: 14 directions alive, two of them with variance ≤ 1e-4 of their neighbours (barely above their
    # thresholds); training drops the same two below the same line — they agree (issue 9's compare bug)
    predicted = np.r_[np.linspace(1.0, 0.2, 12), 1e-5, 5e-6, np.zeros(2)]
    a = agreement(predicted, 12)
    assert a.predicted_rank == 12 and a.agree
    assert not agreement(predicted, 11).agree


def test_agreement_with_a_metastable_range():
    predicted = np.r_[np.ones(2), np.zeros(4)]
    assert agreement(predicted, 4, predicted_rank_max=4).agree
    assert not agreement(predicted, 5, predicted_rank_max=4).agree
    assert not agreement(predicted, 1, predicted_rank_max=4).agree


@settings(max_examples=200, deadline=None)
@given(alpha=st.floats(0.1, 8.0), d=st.integers(3, 400), scale=st.floats(1e-20, 1e20))
def test_property_power_laws_are_full_rank_at_any_scale(alpha, d, scale):
    # (with d = 2 a steep power law is one step: nothing tells it from a cliff)
    lam = scale * np.arange(1, d + 1, dtype=float) ** -alpha
    assert collapse_cut(lam, noise_floor=0.0).rank == d


@settings(max_examples=200, deadline=None)
@given(k=st.integers(1, 60), extra=st.integers(3, 60), decades=st.floats(KNEE_DECADES + 0.5, 14.0),
       alpha=st.floats(0.0, 2.0), spread=st.floats(0.0, 0.3), seed=st.integers(0, 2**31 - 1))
def test_property_any_cliff_to_a_floor_is_found(k, extra, decades, alpha, spread, seed):
    rng = np.random.default_rng(seed)
    top = np.arange(1, k + 1, dtype=float) ** -alpha
    floor = top[-1] * 10.0**-decades * np.exp(spread * rng.standard_normal(extra))
    lam = np.r_[top, np.sort(floor)[::-1]]
    assert collapse_cut(lam, noise_floor=0.0).rank == k


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(1e-10, 1e10))
def test_property_cut_is_scale_invariant(seed, scale):
    rng = np.random.default_rng(seed)
    lam = np.sort(rng.lognormal(0, 3, 40))[::-1]
    a = collapse_cut(lam, noise_floor=0.0)
    b = collapse_cut(scale * lam, noise_floor=0.0)
    assert a.rank == b.rank


# ---- knees: dimensional collapse spread over a few directions (issue 19) -------------------------------------------

def _spectrum(head: np.ndarray, steps: list[float], tail: np.ndarray) -> np.ndarray:
    """λ from log₁₀ levels: `head` levels, then a fall of `steps` (decades each), then `tail` levels below it."""
    y = np.r_[head, head[-1] - np.cumsum(steps)]
    return 10.0 ** np.r_[y, y[-1] + tail]


def test_the_shipped_simclr_shape_is_a_knee_at_17():
    # λ₁…λ₁₆ within 0.6 decade, then 0.49, 0.72, 0.41 decades, then a tail down to 4.7 decades (issue 19)
    lam = _spectrum(-np.linspace(0, 0.6, 16), [0.49, 0.72, 0.41], -np.linspace(0.05, 4.7 - 2.22, 109))
    cut = collapse_cut(lam)
    assert cut.rank == 17 and cut.knee.start == 16 and cut.knee.decades >= 1.62
    assert cut.surviving_share == pytest.approx(lam[:17].sum() / lam.sum())


@pytest.mark.parametrize(("lam", "rank"), [
    # trained NT-Xent, dot, geometric data spectrum (benchmarks/agreement_grid_ntxent.py, dot-geom-N256-τ2): four
    # directions whose steps grow (0.14, 0.27, 0.63 decades), then a 6-decade cliff — the cut is the cliff, not a
    # walk back up the head (it read 3 while the walk-back compared each step only with the one before it)
    ([1.0, 0.72, 0.39, 0.091, 6.6e-8, 1.7e-8, 2.7e-9, 2.7e-12], 4),
    ([1.0, 0.72, 0.39, 0.094, 9.0e-8, 5.9e-10, 1.5e-10, 9.1e-15], 4),
    # the tiny augmentation-collapse experiment's trained dot InfoNCE spectrum (predicted 5)
    ([0.152, 0.103, 0.048, 0.026, 0.0039, 2.5e-7], 5),
])
def test_an_accelerating_head_before_a_cliff_is_not_walked_back_into(lam, rank):
    assert collapse_cut(np.array(lam)).rank == rank


def test_a_lightly_simclr_knee_at_8():
    lam = _spectrum(-np.linspace(0, 0.4, 8), [0.8, 0.7, 0.5], -np.linspace(0.05, 1.5, 117))
    assert collapse_cut(lam).rank == 8


def test_simsiam_without_predictor_top_two_then_a_floor():
    # falls 1.01, 1.22, 1.44 decades over directions 1 → 4, then a flat floor; the top 2 hold > 99 %
    lam = _spectrum(np.zeros(1), [1.01, 1.22, 1.44], -1.0 - 0.3 * np.random.default_rng(0).random(124).cumsum() / 124)
    cut = collapse_cut(lam)
    assert cut.rank == 1 and cut.knee.start == 1 and cut.knee.decades >= 3.67
    assert lam[:2].sum() / lam.sum() > 0.99 and cut.surviving_share == pytest.approx(lam[0] / lam.sum())


@settings(max_examples=150, deadline=None)
@given(k=st.integers(1, 60), w=st.integers(1, 5), depth=st.floats(1.8, 6.0), alpha_head=st.floats(0.0, 1.5),
       alpha_tail=st.floats(0.0, 1.0), tail=st.integers(10, 200), jitter=st.floats(0.0, 0.02),
       seed=st.integers(0, 2**31 - 1))
def test_property_a_knee_of_one_to_five_steps_is_found(k, w, depth, alpha_head, alpha_tail, tail, jitter, seed):
    rng = np.random.default_rng(seed)
    kk = np.arange(1, k + 1, dtype=float)
    steps = depth * (s := rng.uniform(0.7, 1.3, w)) / s.sum()  # the fall, spread over w steps of similar size
    x_head = np.log10(kk)
    slope = depth / np.log10((k + w) / k)  # the knee's log-log slope, and each of its steps'
    each = steps / np.diff(np.log10(np.arange(k, k + w + 1, dtype=float)))
    head = alpha_head if k > 1 else 1.0
    assume(slope >= 4 * max(head, alpha_tail) and each.min() >= 4 * head)  # a bend, with a margin over the rule
    kt = np.arange(k + w + 1, k + w + 1 + tail, dtype=float)
    tail_levels = -alpha_tail * (np.log10(kt) - np.log10(k + w)) - 0.01
    lam = _spectrum(-alpha_head * x_head, list(steps), tail_levels)
    lam = lam * 10.0 ** (jitter * rng.uniform(-1, 1, lam.size))  # sample noise of a few percent
    lam = np.sort(lam)[::-1]
    # survivors: the head, and the knee's directions within KNEE_CUT decades of its top (by construction)
    def survivors(top: int) -> int:
        return top + int(np.count_nonzero(np.log10(lam[top - 1] / lam[top : k + w]) <= KNEE_CUT))

    expected = {survivors(k)}
    if steps[0] >= KNEE_CUT and depth - steps[0] >= KNEE_DECADES:  # a near-cliff, then a knee of its own below it:
        expected.add(survivors(k + 1))  # direction k + 1 carries real variance; either top is a fair reading
    assert collapse_cut(lam, noise_floor=0.0).rank in expected


@settings(max_examples=150, deadline=None)
@given(alpha=st.floats(0.05, 8.0), d=st.integers(8, 1000), jitter=st.floats(0.0, 0.01), seed=st.integers(0, 2**31 - 1))
def test_property_noisy_power_laws_of_any_alpha_are_healthy(alpha, d, jitter, seed):
    lam = np.arange(1, d + 1, dtype=float) ** -alpha
    lam = np.sort(lam * 10.0 ** (jitter * np.random.default_rng(seed).uniform(-1, 1, d)))[::-1]
    cut = collapse_cut(lam, noise_floor=0.0)
    assert cut.rank == d and cut.knee is None


def test_a_knee_onto_a_floor_of_real_variance_and_a_decay_into_the_noise_floor():
    head = np.arange(1, 41, dtype=float) ** -0.5
    fall = 10.0 ** -np.array([1.6, 2.2, 2.8])  # 0.8, 0.6, 0.6 decades below λ_40
    # a floor of real variance (a BatchNorm'd projector's dead directions): a knee, the fall's directions collapsed
    cut = collapse_cut(np.r_[head, fall, np.full(85, 3e-4)], noise_floor=1e-9)
    assert cut.rank == 40 and cut.knee.start == 40 and not cut.knee.to_floor
    # the same fall into the noise floor (exact zeros, rounding): its directions carry measurable variance and
    # only the drop to the floor is the cut — as for a theory spectrum whose weakest direction nears its threshold
    cut = collapse_cut(np.r_[head, fall, np.full(85, 1e-9)], noise_floor=1e-6)
    assert cut.rank == 43 and cut.knee.start == 43 and cut.knee.to_floor


def _two_knees(first_depth: float, second_depth: float, jitter: np.ndarray) -> np.ndarray:
    """A knee after direction 2 of depth `first_depth` (three equal steps) onto a plateau to direction 32, a knee
    of depth `second_depth` (one step) onto a floor to 128: the shape whose collapse rank jumped 32 → 1."""
    y = np.r_[0.0, -0.1, -0.1 - first_depth * np.array([1, 2, 3]) / 3]
    y = np.r_[y, y[-1] - np.linspace(0.05, 0.4, 27)]
    y = np.r_[y, y[-1] - second_depth - np.linspace(0, 0.3, 96)]
    return np.sort(10.0 ** (y + jitter))[::-1]


def test_rank_of_a_slowly_changing_spectrum_moves_once_when_one_knee_becomes_clearly_deeper():
    depths = np.linspace(1.0, 4.0, 61)  # the first knee deepens log by log; the second stays 3.2 decades deep
    ranks = [collapse_cut(_two_knees(a, 3.2, np.zeros(128))).rank for a in depths]
    switch = int(np.argmax(np.array(ranks) < 32))
    assert ranks[:switch] == [32] * switch and ranks[switch:] == [2] * (len(ranks) - switch)  # one move, no return
    assert depths[switch] == pytest.approx(min(3.2 - KNEE_MARGIN, KNEE_CLEAR), abs=0.06)


@pytest.mark.parametrize("first, second, rank", [(1.6, 3.5, 32), (3.7, 1.6, 2), (3.2, 3.3, 2)])
def test_rank_of_a_slowly_changing_spectrum_does_not_jump_between_logs(first, second, rank):
    from sslscape.diagnostics.metrics import effective_rank

    rng = np.random.default_rng(0)
    logs = [_two_knees(first, second, 0.05 * rng.standard_normal(128)) for _ in range(40)]
    assert {collapse_cut(lam).rank for lam in logs} == {rank}
    eranks = [effective_rank(np.sqrt(lam)) for lam in logs]
    assert max(eranks) / min(eranks) < 1.2  # flat effective rank, flat collapse rank
