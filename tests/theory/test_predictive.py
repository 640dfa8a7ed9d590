"""The SimSiam/BYOL per-direction closed form (sslscape.theory.predictive) against independent numerical
integrations (equation numbers as in docs/theory.md §7).

Everything is numpy and small: the reduced per-mode ODEs and the full matrix dynamics are integrated here with
their own (naive) integrators, independent of the ones in predictive.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sslscape.theory.predictive import (
    INIT_QUANTILE,
    PredictiveResult,
    blowup_time,
    byol_dot_critical_weight_decay,
    byol_dot_escapes,
    cosine_alive_counts,
    cosine_mean_field_state,
    dot_escapes_from,
    ema_rate,
    init_w0_quantile,
    matrix_blowup_time,
    predictive_fixed_points,
    simsiam_dot_critical_weight_decay,
)


# ------------------------------------------------------------------------------------------------ helpers
def rk4(f, y, h):
    k1 = f(y)
    k2 = f([a + 0.5 * h * b for a, b in zip(y, k1, strict=True)])
    k3 = f([a + 0.5 * h * b for a, b in zip(y, k2, strict=True)])
    k4 = f([a + h * b for a, b in zip(y, k3, strict=True)])
    return [a + h / 6 * (b + 2 * c + 2 * d + e) for a, b, c, d, e in zip(y, k1, k2, k3, k4, strict=True)]


def matrix_dot_fate(w0, p0, x, gamma, kappa=math.inf, t_max=400.0):
    """Full matrix dot dynamics (4) (+ EMA target (6) when κ < ∞), RK4 with step 0.02/(rate). +1 escape, −1 collapse."""
    lam = float(np.linalg.eigvalsh(x).max())
    simsiam = not np.isfinite(kappa)

    def f(y):
        w, p, a = y
        tgt = w if simsiam else a
        return [p.T @ tgt @ x - 2 * gamma * w, tgt @ x @ w.T - 2 * gamma * p,
                np.zeros_like(a) if simsiam else kappa * (w - a)]

    y, t = [w0.copy(), p0.copy(), w0.copy()], 0.0
    n0 = np.linalg.norm(w0)
    while t < t_max:
        m = max(np.linalg.norm(y[0], 2), np.linalg.norm(y[1], 2), np.linalg.norm(y[2], 2))
        h = 0.02 / (lam * m + 2 * gamma + (0 if simsiam else kappa))
        y = rk4(f, y, h)
        if simsiam:
            y[2] = y[0]  # the target slot is W itself
        t += h
        if np.linalg.norm(y[0]) > 1e4 * n0:
            return 1
        m = max(np.linalg.norm(y[0], 2), np.linalg.norm(y[1], 2), np.linalg.norm(y[2], 2))
        if lam * m < 2 * gamma:  # the matrix version of the collapse-certain set of §4.3
            return -1
    return 0


def aligned_init(dim, d, w0, p0, u, seed=0):
    r, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return w0 * r @ u[:, :d].T, p0 * np.eye(d)


def random_psd(dim, seed, spread=(0.5, 4.0)):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    lam = np.sort(rng.uniform(*spread, dim))[::-1]
    return q @ np.diag(lam) @ q.T, lam, q


# ------------------------------------------------------------------------------------------------ dot SimSiam
@pytest.mark.parametrize("p0,w0", [(1.0, 0.5), (1.0, 1.0), (1.0, 1.7), (0.6, 0.2), (2.0, 0.05)])
def test_blowup_time_matches_integration(p0, w0):
    """(13): s* of dw/ds = pw, dp/ds = w² in closed form vs RK4 to blow-up."""
    y, s = [np.array(w0), np.array(p0)], 0.0
    while y[0] < 1e7:
        h = 1e-3 / max(float(y[1]), float(y[0]), 1.0)
        y = rk4(lambda v: [v[1] * v[0], v[0] * v[0]], y, h)
        s += h
    assert blowup_time(p0, w0) == pytest.approx(s, rel=2e-3)


def test_blowup_time_never_for_negative_predictor():
    assert np.isinf(blowup_time(-1.0, 0.5))
    assert np.isinf(blowup_time(1.0, 0.0))


@pytest.mark.parametrize("lam,p0,w0", [(4.0, 1.0, 0.5), (1.5, 1.0, 1.0), (0.7, 1.0, 1.4), (2.0, 1.0, 0.1)])
def test_simsiam_dot_threshold_per_mode(lam, p0, w0):
    """(14): the reduced ODE (10) escapes just below γ* and collapses just above."""
    g = float(simsiam_dot_critical_weight_decay(np.array([lam]), p0, np.array([w0]))[0])
    x = np.array([[lam]])
    for factor, fate in ((0.97, 1), (1.03, -1)):
        assert matrix_dot_fate(np.array([[w0]]), np.array([[p0]]), x, factor * g) == fate


def test_simsiam_dot_threshold_matrix_aligned():
    """(14) for the full matrix dynamics (4): non-diagonal X, aligned init rotated by a random V."""
    x, lam, q = random_psd(5, seed=3)
    w0, p0 = 0.6, 1.0
    g = simsiam_dot_critical_weight_decay(lam, p0, np.full(5, w0))
    w_init, p_init = aligned_init(5, 5, w0, p0, q)
    assert matrix_dot_fate(w_init, p_init, x, 0.97 * g[0]) == 1
    assert matrix_dot_fate(w_init, p_init, x, 1.03 * g[0]) == -1
    # a closed-form statement for the *second* direction: with only modes ≥ 2 present it escapes below γ*_2
    w_init2 = w0 * np.eye(5)[:, :5] @ q.T
    w_init2[0] = 0.0  # remove mode 1 from W (and keep P = I)
    assert matrix_dot_fate(w_init2, p_init, x, 0.97 * g[1]) == 1
    assert matrix_dot_fate(w_init2, p_init, x, 1.03 * g[1]) == -1


def test_matrix_blowup_time_random_init():
    """(12m): γ* = 1/(2 s*(W₀, P₀)) for a random, non-aligned init and non-diagonal X."""
    x, _, _ = random_psd(4, seed=5)
    rng = np.random.default_rng(11)
    w_init = rng.standard_normal((4, 4)) / 2
    p_init = np.eye(4) + 0.2 * rng.standard_normal((4, 4))
    g = 1 / (2 * matrix_blowup_time(w_init, p_init, x))
    assert matrix_dot_fate(w_init, p_init, x, 0.97 * g) == 1
    assert matrix_dot_fate(w_init, p_init, x, 1.03 * g) == -1


def test_matrix_blowup_time_aligned_equals_closed_form():
    x, lam, q = random_psd(6, seed=8)
    w_init, p_init = aligned_init(6, 6, 0.4, 1.0, q)
    assert matrix_blowup_time(w_init, p_init, x) == pytest.approx(blowup_time(1.0, 0.4) / lam[0], rel=1e-3)


def test_finite_horizon_threshold():
    """(15): with horizon T a direction escapes by T iff λ(1 − e^{−2γT})/(2γ) > s*."""
    lam, p0, w0, T = 3.0, 1.0, 0.5, 2.0
    g = float(simsiam_dot_critical_weight_decay(np.array([lam]), p0, np.array([w0]), horizon=T)[0])
    g_inf = float(simsiam_dot_critical_weight_decay(np.array([lam]), p0, np.array([w0]))[0])
    assert 0 < g < g_inf
    fate = lambda gam: byol_dot_escapes(np.array([lam]), np.array([gam]), math.inf, p0, np.array([w0]),  # noqa
                                        horizon=T)[0]
    assert fate(0.97 * g) == 1
    assert fate(1.03 * g) != 1


def test_conservation_law_dot_and_byol():
    """(8): PᵀP − WWᵀ = e^{−4γt}(P₀ᵀP₀ − W₀W₀ᵀ) for SimSiam and BYOL (dot), any init."""
    x, _, _ = random_psd(4, seed=1, spread=(0.2, 1.0))
    rng = np.random.default_rng(2)
    w0, p0 = 0.3 * rng.standard_normal((3, 4)), np.eye(3) + 0.3 * rng.standard_normal((3, 3))
    gamma = 0.3
    for kappa in (math.inf, 0.7):
        def f(y, kappa=kappa):
            w, p, a = y
            tgt = w if not np.isfinite(kappa) else a
            return [p.T @ tgt @ x - 2 * gamma * w, tgt @ x @ w.T - 2 * gamma * p,
                    np.zeros_like(a) if not np.isfinite(kappa) else kappa * (w - a)]
        y, h = [w0, p0, w0.copy()], 1e-3
        for _ in range(1500):
            y = rk4(f, y, h)
        m0 = p0.T @ p0 - w0 @ w0.T
        m1 = y[1].T @ y[1] - y[0] @ y[0].T
        np.testing.assert_allclose(m1, np.exp(-4 * gamma * 1.5) * m0, atol=1e-8)


def test_saddle_eigenvalues():
    """(11), (17): the nonzero fixed point is a saddle for SimSiam (2γ, −4γ) and for BYOL at every κ."""
    gamma, lam = 0.3, 2.0
    g = 2 * gamma
    j = np.array([[0, g], [2 * g, -g]])  # (11) at w = p = 2γ/λ
    np.testing.assert_allclose(np.sort(np.linalg.eigvals(j).real), [-4 * gamma, 2 * gamma])
    for kappa in (0.01, 0.3, 5.0, 100.0):
        jb = np.array([[-g, g, g], [g, -g, g], [kappa, 0, -kappa]])
        ev = np.linalg.eigvals(jb)
        assert np.sum(ev.real > 0) == 1
        assert np.linalg.det(jb) == pytest.approx(2 * g * g * kappa)
    # and it is a fixed point of (16) with a = w
    w = p = a = 2 * gamma / lam
    assert lam * p * a - 2 * gamma * w == pytest.approx(0) and lam * a * w - 2 * gamma * p == pytest.approx(0)


# ------------------------------------------------------------------------------------------------ dot BYOL
def brute_byol(lam, gamma, kappa, p0, w0, t_max=800.0, h=2e-3):
    """Forward Euler of (16) with a tiny fixed step: +1 escape, −1 collapse (independent of predictive.py)."""
    w, p, a = w0, p0, w0
    for _ in range(int(t_max / h)):
        w, p, a = w + h * (lam * p * a - 2 * gamma * w), p + h * (lam * a * w - 2 * gamma * p), a + h * kappa * (w - a)
        if w > 1e6:
            return 1
        if abs(w) + abs(a) < 1e-6 * w0:
            return -1
    return 0


@pytest.mark.parametrize("kappa", [0.2, 1.0, 10.0])
def test_byol_dot_threshold_vs_brute_force(kappa):
    lam, p0, w0 = 3.0, 1.0, 0.5
    g = float(byol_dot_critical_weight_decay(np.array([lam]), kappa, p0, np.array([w0]))[0])
    assert lam * min(p0, w0) / 2 <= g <= lam * max(p0, w0) / 2
    assert brute_byol(lam, 0.97 * g, kappa, p0, w0) == 1
    assert brute_byol(lam, 1.03 * g, kappa, p0, w0) == -1


def test_byol_dot_threshold_monotone_in_ema_rate_and_limit():
    lam, p0, w0 = 2.0, 1.0, 0.3
    gs = [float(byol_dot_critical_weight_decay(np.array([lam]), k, p0, np.array([w0]))[0])
          for k in (0.1, 1.0, 10.0, 1000.0)]
    assert all(a <= b + 1e-9 for a, b in zip(gs, gs[1:], strict=False))
    g_ss = float(simsiam_dot_critical_weight_decay(np.array([lam]), p0, np.array([w0]))[0])
    assert gs[-1] == pytest.approx(g_ss, rel=0.02)


@pytest.mark.parametrize("kappa", [0.05, 1.0, 50.0])
def test_byol_dot_balanced_init_threshold_is_ema_independent(kappa):
    """§4.3: with w₀ = p₀ the bounds close, γ* = λp₀/2 for every EMA rate."""
    lam, p0 = 2.5, 0.8
    assert brute_byol(lam, 0.98 * lam * p0 / 2, kappa, p0, p0) == 1
    assert brute_byol(lam, 1.02 * lam * p0 / 2, kappa, p0, p0) == -1


@pytest.mark.slow
def test_byol_dot_matrix_aligned_vs_per_mode():
    x, lam, q = random_psd(4, seed=4)
    kappa, w0, p0 = 0.5, 0.5, 1.0
    g = byol_dot_critical_weight_decay(lam, kappa, p0, np.full(4, w0))
    w_init, p_init = aligned_init(4, 4, w0, p0, q)
    assert matrix_dot_fate(w_init, p_init, x, 0.97 * g[0], kappa) == 1
    assert matrix_dot_fate(w_init, p_init, x, 1.03 * g[0], kappa) == -1


def test_ema_rate():
    """(6): a per-step EMA of a constant W relaxes as e^{−κ t}, t = lr·n."""
    beta, lr, n = 0.99, 0.05, 700
    a = 1.0 * beta**n  # A_n − W for A₀ − W = 1
    assert a == pytest.approx(math.exp(-ema_rate(beta, lr) * lr * n))
    assert math.isinf(ema_rate(0.0, 0.1))


# ------------------------------------------------------------------------------------------------ cosine
def mf_grads(w, p, a, x, sig):
    """Full-matrix mean-field cosine loss L = −A/(√B N), stop-gradient on the target a (§5.3)."""
    big_a = np.trace(p @ w @ x @ a.T)
    big_b = np.trace(p @ w @ sig @ w.T @ p.T)
    n = math.sqrt(np.trace(a @ sig @ a.T))
    da_dp, da_dw = a @ x @ w.T, p.T @ a @ x
    db_dp, db_dw = 2 * p @ w @ sig @ w.T, 2 * p.T @ p @ w @ sig
    k = 1 / (math.sqrt(big_b) * n)
    gp = -k * da_dp + k * big_a / (2 * big_b) * db_dp
    gw = -k * da_dw + k * big_a / (2 * big_b) * db_dw
    return gw, gp


def mf_matrix_flow(w, p, x, sig, gamma=0.0, kappa=math.inf, t_max=300.0, h=0.01):
    a = w.copy()
    for _ in range(int(t_max / h)):
        gw, gp = mf_grads(w, p, w if not np.isfinite(kappa) else a, x, sig)
        w, p = w - h * (gw + 2 * gamma * w), p - h * (gp + 2 * gamma * p)
        if np.isfinite(kappa):
            a = a + h * kappa * (w - a)
    return w, p


def per_mode_w2(w, u):
    return np.sum((w @ u) ** 2, axis=0)  # ‖W u_k‖²


@pytest.mark.parametrize("w0", [pytest.param(0.5, marks=pytest.mark.slow), 0.3])
def test_cosine_closed_form_vs_reduced_ode(w0):
    lam = np.array([4.0, 3.0, 2.5, 2.0, 1.5, 1.0])
    s = np.array([0.2, 0.5, 0.8, 1.5, 2.0, 3.0])
    rho, sig = lam / (lam + s), lam + s
    c = np.full(6, 1 - w0**2)
    w2, r = cosine_mean_field_state(rho, c, 6 * w0**2)
    w, p = np.full(6, w0), np.ones(6)
    h = 0.02
    for _ in range(40000):
        big_a, big_b = np.sum(p * w * w * lam), np.sum(p * p * w * w * sig)
        br = (lam - big_a / big_b * p * sig) / (math.sqrt(big_b) * math.sqrt(np.sum(w * w * sig)))
        w, p = w + h * p * w * br, p + h * w * w * br
    alive = w2 > 0
    assert 0 < alive.sum() < 6  # the case is non-trivial
    np.testing.assert_allclose(w[alive] ** 2, w2[alive], rtol=0.02)
    assert np.all(w[~alive] ** 2 < 1e-2 * w2[alive].min())
    np.testing.assert_allclose(p[alive], rho[alive] / r, rtol=0.01)
    np.testing.assert_allclose(p[~alive], np.sqrt(c[~alive]), rtol=1e-3)


def test_cosine_closed_form_with_negative_c_mode():
    """A direction with c_k < 0 (encoder larger than predictor) can never collapse, whatever its SNR."""
    rho = np.array([0.9, 0.8, 0.1])
    c = np.array([0.8, 0.8, -0.1])
    w2, r = cosine_mean_field_state(rho, c, 0.6)
    assert w2[2] > 0
    assert np.sum(w2) == pytest.approx(0.6)


@pytest.mark.slow
def test_cosine_full_matrix_mean_field_nondiagonal():
    """Full matrix mean-field flow (non-diagonal C, isotropic S), aligned init rotated: same alive set and w²."""
    x, lam, q = random_psd(5, seed=9, spread=(0.3, 3.0))
    sig = x + 1.0 * np.eye(5)
    w0, p0 = 0.45, 1.0
    res = predictive_fixed_points(x, np.eye(5), 0.0, "simsiam", "cosine", w0=w0, p0=p0)
    w_init, p_init = aligned_init(5, 5, w0, p0, q)
    w, _ = mf_matrix_flow(w_init, p_init, x, sig, t_max=400.0)
    got = per_mode_w2(w, q)
    pred = np.zeros(5)
    pred[list(res.surviving)] = 1
    assert 0 < len(res.surviving) < 5
    assert set(np.flatnonzero(got > 1e-2 * got.max())) == set(res.surviving)
    spec = np.sort(lam * got)[::-1]
    np.testing.assert_allclose(spec[: res.rank], np.asarray(res.spectrum[: res.rank]), rtol=0.05)


@pytest.mark.slow
def test_cosine_weight_decay_only_rescales_time_and_byol_matches():
    """§5.1–5.3: with γ > 0 (and for BYOL with an EMA) the direction of W converges to the γ = 0 SimSiam state."""
    lam = np.array([3.0, 2.0, 1.0, 0.5])
    x, noise = np.diag(lam), np.diag([0.3, 0.6, 1.5, 2.0])
    sig = x + noise
    w0 = 0.5
    w_a, _ = mf_matrix_flow(w0 * np.eye(4), np.eye(4), x, sig, gamma=0.0, t_max=250.0)
    w_b, _ = mf_matrix_flow(w0 * np.eye(4), np.eye(4), x, sig, gamma=0.003, t_max=250.0)
    w_c, _ = mf_matrix_flow(w0 * np.eye(4), np.eye(4), x, sig, gamma=0.0, kappa=0.5, t_max=400.0)
    d = lambda w: np.diag(w) ** 2 / np.sum(np.diag(w) ** 2)  # noqa: E731 — shape of the per-mode spectrum
    assert np.linalg.norm(w_b) < 0.5 * np.linalg.norm(w_a)  # the norm did shrink
    np.testing.assert_allclose(d(w_b), d(w_a), atol=2e-3)
    np.testing.assert_allclose(d(w_c), d(w_a), atol=2e-3)
    res = predictive_fixed_points(x, noise, 0.0, "simsiam", "cosine", w0=w0)
    res_b = predictive_fixed_points(x, noise, 0.5, "byol", "cosine", ema_decay=0.9, lr=0.1, w0=w0)
    assert res.surviving == res_b.surviving
    pred = np.zeros(4)
    pred[list(res.surviving)] = 1
    assert set(np.flatnonzero(d(w_a) > 1e-3)) == set(res.surviving)


# ------------------------------------------------------------------------------------------------ the driver
def test_result_fields_and_presets():
    cov = [4, 3, 2.5, 2, 1.5, 1, 0.7, 0.5]
    r = predictive_fixed_points(cov, [1.0] * 8, 0.01, "simsiam", "dot")
    assert isinstance(r, PredictiveResult)
    assert r.fate == "diverge" and r.rank == 8 and r.measured_rank == 1
    assert r.critical_weight_decay[0] == pytest.approx(2.0)  # trainer preset: w₀ = p₀ = 1 → γ* = λ/2
    r2 = predictive_fixed_points(cov, None, 2.3, "simsiam", "dot")
    assert r2.fate == "collapse" and r2.rank == 0 and r2.measured_rank == 0
    r3 = predictive_fixed_points(cov, [1.0] * 8, 2.3, "byol", "dot", ema_decay=0.99, lr=0.01)
    assert r3.rank == 0
    assert r3.critical_weight_decay[0] == pytest.approx(2.0, rel=1e-3)  # balanced init: EMA-independent
    rc = predictive_fixed_points(cov, [1.0] * 8, 0.01, "simsiam", "cosine", init_scale=0.5)
    assert rc.fate == "stationary" and all(g is None for g in rc.critical_weight_decay)
    assert rc.rank == predictive_fixed_points(cov, [1.0] * 8, 5.0, "simsiam", "cosine", init_scale=0.5).rank
    with pytest.raises(AttributeError):
        r.rank = 3  # frozen
    with pytest.raises(ValueError):
        predictive_fixed_points(cov, None, 0.1, "simsiam", "euclidean")


def test_cosine_degenerate_data_spectrum_uses_noise_basis():
    """Isotropic C with diagonal S commute; the SNRs must be those of S's axes, with no false warning."""
    r = predictive_fixed_points(np.eye(4), np.diag([0.1, 0.5, 1.0, 2.0]), 0.0, "simsiam", "cosine", init_scale=0.5)
    np.testing.assert_allclose(sorted(r.snr, reverse=True), [1 / 1.1, 1 / 1.5, 0.5, 1 / 3])
    assert not any("do not share eigenvectors" in n for n in r.notes)
    assert 0 < r.rank < 4


@pytest.mark.parametrize(("d", "dim"), [(4, 8), (8, 8), (3, 16)])
def test_init_w0_quantile_matches_the_trainers_random_starts(d, dim):
    # ‖W₀u‖ over random W₀ ~ N(0, 1/D) (d × D), sampled: its 97.5 % quantile is the closed form's
    rng = np.random.default_rng(0)
    w = rng.standard_normal((200_000, d)) / math.sqrt(dim)  # W₀u for a fixed unit u: d iid N(0, 1/D)
    sampled = float(np.quantile(np.linalg.norm(w, axis=1), INIT_QUANTILE))
    assert init_w0_quantile(1.0, d, dim) == pytest.approx(sampled, rel=5e-3)
    assert init_w0_quantile(2.0, d, dim, 0.5) == pytest.approx(2 * float(np.median(np.linalg.norm(w, axis=1))),
                                                               rel=5e-3)


@pytest.mark.parametrize("objective", ["simsiam", "byol"])
def test_dot_escapes_from_the_typical_start_is_the_closed_form_and_grows_with_the_start(objective):
    lam = np.array([4.0, 3.0, 2.5, 2.0, 1.5, 1.0, 0.7, 0.5])
    for gamma in (0.5, 1.2, 1.7, 2.4):
        res = predictive_fixed_points(lam, weight_decay=gamma, objective=objective, similarity="dot", embed_dim=4)
        typical = dot_escapes_from(res, gamma, res.init_w0[0])
        assert tuple(np.flatnonzero(typical)) == res.surviving
        larger = dot_escapes_from(res, gamma, 1.5 * res.init_w0[0])
        assert np.all(larger >= typical)  # a larger start escapes whenever the typical one does


def test_cosine_alive_counts_match_the_one_start_search():
    # the vectorised search over many starts equals cosine_mean_field_state start by start
    rng = np.random.default_rng(1)
    rho = np.sort(rng.uniform(0.05, 0.95, 8))[::-1]
    w0_sq = rng.chisquare(8, size=(300, 8)) / 8
    counts = cosine_alive_counts(rho, 1.0, w0_sq)
    for k in range(300):
        w2, _ = cosine_mean_field_state(rho, 1.0 - w0_sq[k], float(w0_sq[k].sum()))
        if counts[k] >= 0:
            assert counts[k] == int((w2 > 0).sum())
    assert np.all(counts >= 0)  # ordered by ρ/√c the search always finds the (unique) state


def test_cosine_seed_band_drops_a_low_snr_direction_the_typical_start_keeps():
    # compare sweep: C = diag(4 … 0.1), S = 0.5 I, d = D = 8 — the typical start (c_k = 0) keeps all 8, the
    # median random start 7, which every trained seed showed (SGD and Adam)
    cov = np.array([4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1])
    res = predictive_fixed_points(cov, np.full(8, 0.5), 0.01, "simsiam", "cosine")
    typical = predictive_fixed_points(cov, np.full(8, 0.5), 0.01, "simsiam", "cosine", w0=1.0)
    assert typical.rank == 8 and typical.seed_band is None
    assert res.rank == res.seed_band[1] == 7 and res.seed_band[2] == 8 and 7 not in res.surviving
    assert any("seed band" in n for n in res.notes)


def test_byol_dot_balanced_start_is_decided_by_its_closed_threshold():
    """A balanced start (w₀ = p₀, the trainer's when d = D): the fate is γ < γ*_k = λ_k p₀/2 without integrating
    (the same as the brute-force flow off the threshold); a direction exactly at it stays at its start — collapsed,
    with a note — instead of an integration that can only run out of steps (seconds)."""
    cov, kappa = [1.0, 0.6], ema_rate(0.99, 0.01)
    for gamma in (0.28, 0.32):
        res = predictive_fixed_points(cov, None, gamma, "byol", "dot", ema_decay=0.99, lr=0.01, w0=1.0)
        brute = [brute_byol(lam, gamma, kappa, 1.0, 1.0) for lam in cov]
        assert res.surviving == tuple(k for k, f in enumerate(brute) if f == 1), gamma
    tie = predictive_fixed_points(cov, None, 0.3, "byol", "dot", ema_decay=0.99, lr=0.01, w0=1.0)  # γ = λ₂p₀/2
    assert tie.surviving == (0,) and any("exactly at their threshold" in n for n in tie.notes)
