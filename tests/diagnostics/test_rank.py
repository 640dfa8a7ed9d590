"""sslscape.diagnostics.rank: the collapse rule, the numerical rank and the agreement rule, on spectra built to
be smooth, steep, cliffed, floored or degenerate (hypothesis where the inputs vary)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sslscape.diagnostics.rank import (
    CLIFF_DECADES,
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
    assert cut.rank == d and cut.cliff_decades is None


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
    assert cut.rank == cut.numerical_rank == 12 and cut.cliff_decades is None


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
@given(k=st.integers(1, 60), extra=st.integers(3, 60), decades=st.floats(CLIFF_DECADES + 0.5, 14.0),
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
