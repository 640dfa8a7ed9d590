"""sslscape.diagnostics.metrics: closed forms, exact power laws and invariances (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sslscape.diagnostics.diagnosis import diagnose
from sslscape.diagnostics.metrics import (
    RANKME_EPS,
    alpha_req,
    effective_rank,
    normalized_std,
    power_law_fit,
    rankme,
)
from sslscape.diagnostics.rank import numerical_rank
from sslscape.errors import UserError


@pytest.mark.parametrize("r", [1, 3, 17])
def test_effective_rank_of_r_equal_singular_values_is_r(r):
    assert effective_rank(np.r_[np.full(r, 2.5), np.zeros(5)]) == pytest.approx(r, rel=1e-12)


def test_effective_rank_two_values_closed_form():
    a, b = 3.0, 1.0
    p, q = a / (a + b), b / (a + b)
    assert effective_rank(np.array([a, b])) == pytest.approx(math.exp(-(p * math.log(p) + q * math.log(q))))


def test_rankme_closed_form_with_epsilon():
    s = np.array([4.0, 2.0, 1.0, 0.0])
    p = s / s.sum() + RANKME_EPS
    assert rankme(s) == pytest.approx(math.exp(-np.sum(p * np.log(p))), rel=1e-12)
    # ε shifts RankMe from the effective rank by ~ d ε log(1/ε), nothing more
    assert abs(rankme(s) - effective_rank(s)) < 1e-4


def test_all_zero_spectrum_gives_zero_not_nan():
    assert effective_rank(np.zeros(4)) == 0.0
    assert rankme(np.zeros(4)) == 0.0
    assert numerical_rank(np.zeros(4), 1e-6) == 0


def test_numerical_rank_threshold_is_an_absolute_noise_floor():
    lam = np.array([1.0, 1e-3, 1e-5, 1e-9, 0.0])
    assert numerical_rank(lam, 1e-4) == 2
    assert numerical_rank(1e6 * lam, 1e-4 * 1e6) == 2


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.3])
def test_alpha_req_recovers_an_exact_power_law(alpha):
    k = np.arange(1, 201)
    assert alpha_req(7.0 * k ** (-alpha)) == pytest.approx(alpha, rel=1e-10)


def test_alpha_req_fit_range_excludes_the_noise_tail():
    k = np.arange(1, 101)
    lam = np.r_[k[:60] ** -1.2, np.full(40, 1e-9)]  # a flat rounding-noise floor after k = 60
    assert alpha_req(lam, k_max=60) == pytest.approx(1.2, rel=1e-10)
    assert alpha_req(lam) != pytest.approx(1.2, rel=0.1)  # the tail would spoil it
    assert math.isnan(alpha_req(np.array([1.0, 0.5])))


def test_alpha_in_diagnose_on_embeddings_with_power_law_spectrum(make_embeddings):
    d = 32
    lam = np.arange(1, d + 1, dtype=float) ** -1.0
    x = make_embeddings(np.sqrt(500 * lam), n=500)  # covariance eigenvalues = σ²/N = lam
    assert diagnose(x).alpha == pytest.approx(1.0, rel=1e-6)


def test_normalized_std_matches_explicit_computation_and_isotropic_value():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20000, 16)).astype(np.float32)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert normalized_std(x) == pytest.approx(u.std(axis=0).mean(), rel=1e-5)
    assert normalized_std(x) == pytest.approx(1 / 4, rel=0.01)  # 1/√d for isotropic embeddings
    assert normalized_std(np.ones((10, 16)) * 3.0) == 0.0


# ---- property tests ------------------------------------------------------------------------------------

_shapes = st.tuples(st.integers(min_value=3, max_value=40), st.integers(min_value=1, max_value=12))


@settings(max_examples=30, deadline=None)
@given(shape=_shapes, seed=st.integers(0, 2**31 - 1), rank=st.integers(1, 12))
def test_rank_never_exceeds_min_n_minus_one_and_d(shape, seed, rank):
    n, d = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, min(rank, d))) @ rng.standard_normal((min(rank, d), d))
    r = diagnose(x).rank
    assert 0 <= r <= min(n - 1, d, rank)


@settings(max_examples=30, deadline=None)
# scale ≥ 1 keeps the spread above the complete-collapse rule (variance > 1e-3 · mean‖z‖²) for |shift| ≤ 10
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(1.0, 1e3), shift=st.floats(-10, 10))
def test_rotation_scale_and_shift_invariance(seed, scale, shift):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((60, 6)) * np.array([3, 2, 1, 0.5, 0.25, 0.0])
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    a, b = diagnose(x), diagnose(scale * x @ q + shift)
    assert b.rank == a.rank == 5
    assert b.effective_rank == pytest.approx(a.effective_rank, rel=1e-6)
    assert b.alpha_fit.alpha == pytest.approx(a.alpha_fit.alpha, rel=1e-6)
    assert b.verdict == a.verdict
    # RankMe uses the raw (uncentred) matrix: rotation- and scale- but not shift-invariant
    assert diagnose(scale * x @ q).rankme == pytest.approx(a.rankme, rel=1e-6)


@settings(max_examples=30, deadline=None)
@given(s=st.lists(st.just(0.0) | st.floats(1e-6, 1e3), min_size=1, max_size=30), c=st.floats(1e-3, 1e3))
def test_entropy_ranks_are_bounded_and_scale_invariant(s, c):
    s = np.array(s)
    r = int(np.count_nonzero(s))
    er = effective_rank(s)
    if r == 0:
        assert er == 0.0
        return
    assert 1.0 - 1e-9 <= er <= r + 1e-9
    assert effective_rank(c * s) == pytest.approx(er, rel=1e-9)
    assert rankme(c * s) == pytest.approx(rankme(s), rel=1e-9)


# ---- issue 19: refusals, the authors' α window, the fit's quality, normalised std's convention ---------------

@pytest.mark.parametrize("fn, name", [(rankme, "rankme"), (effective_rank, "effective_rank"), (alpha_req, "alpha")])
def test_spectrum_functions_refuse_an_embedding_matrix_with_a_hint(fn, name):
    z = np.random.default_rng(0).standard_normal((400, 16))
    with pytest.raises(UserError, match=r"1-D vector .*diagnose\(z\)\." + name + "$") as info:
        fn(z)
    assert "\n" not in str(info.value)


def test_authors_window_is_a_weighted_fit_of_k_6_to_100():
    rng = np.random.default_rng(1)
    k = np.arange(1, 301, dtype=float)
    lam = k ** -1.3 * np.exp(0.1 * rng.standard_normal(300))
    fit = power_law_fit(lam, window="authors")
    kk = np.arange(6, 101, dtype=float)  # reptrix: fit_range np.arange(5, 100) (0-based), weights 1/k
    slope = np.polyfit(np.log(kk), np.log(lam[5:100]), 1, w=np.sqrt(1 / kk))[0]  # polyfit weighs residuals by w
    assert (fit.k_min, fit.k_max) == (6, 100) and fit.alpha == pytest.approx(-slope, rel=1e-10)
    assert alpha_req(lam, window="authors") == fit.alpha


def test_alpha_is_reported_only_for_a_power_law(make_embeddings):
    d = 64
    power = np.arange(1, d + 1, dtype=float) ** -1.5
    exponential = np.exp(-np.arange(d) / 4.0)  # 7 decades, curved in log-log: α-ReQ would say ≈ 7
    fit_p, fit_e = power_law_fit(power), power_law_fit(exponential)
    assert fit_p.power_law and fit_p.rms_decades < 1e-12 and fit_p.r2 == pytest.approx(1.0)
    assert not fit_e.power_law and fit_e.rms_decades > 0.3
    a = diagnose(make_embeddings(np.sqrt(2000 * power), n=2000))
    b = diagnose(make_embeddings(np.sqrt(2000 * exponential), n=2000))
    assert a.alpha == pytest.approx(1.5, rel=1e-6) and b.alpha is None and b.alpha_fit.alpha > 3
    assert b.to_dict()["alpha"] is None and b.to_dict()["alpha_fit"]["power_law"] is False


def test_normalized_std_is_the_biased_std_lightly_uses_the_unbiased_one():
    import torch

    x = np.random.default_rng(2).standard_normal((50, 8))
    u = torch.nn.functional.normalize(torch.from_numpy(x), dim=1)
    lightly = float(u.std(dim=0).mean())  # lightly's std_of_l2_normalized: torch.std, unbiased (N − 1)
    assert normalized_std(x) == pytest.approx(lightly * math.sqrt(49 / 50), rel=1e-12)
