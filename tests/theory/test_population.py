"""The population closed forms of VICReg and standardised Barlow Twins (theory/population.py, docs/theory.md §12)
against independent float64 minimisation of the population loss over W, and against the exact solver."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from sslscape.spec import parse_spec
from sslscape.theory.population import (
    BN_EPS,
    VICREG_STD_EPS,
    barlow_population,
    covers,
    schur_horn,
    vicreg_population,
)
from sslscape.theory.predict import plan, predict


# ---- independent references: the population losses over W, in float64 numpy --------------------------------------
def _vicreg_smooth(w, c, s, gamma, li, lc, n):
    """VICReg (V1) without the hinge, and its gradient; v = diag(W B Wᵀ) and ∂v_k/∂W for the hinge's epigraph."""
    d = w.shape[0]
    b = c + s
    wb = w @ b
    k = wb @ w.T
    v = np.diag(k).copy()
    fb = 0.0 if n is None else 1.0 / (n - 1)
    beta = 2 * lc / d
    off = (k**2).sum() - (v**2).sum()
    val = (2 * li / d) * np.trace(w @ s @ w.T) + beta * ((1 + fb) * off + fb * (v.sum() ** 2 - (v**2).sum())) \
        + gamma * (w**2).sum()
    grad = (4 * li / d) * w @ s + 4 * beta * (1 + fb) * (k - np.diag(v)) @ wb \
        + 4 * beta * fb * (v.sum() * wb - v[:, None] * wb) + 2 * gamma * w
    return val, grad, v, wb


def vicreg_loss_np(w, c, s, gamma, li=25.0, lv=25.0, lc=1.0, n=None):
    val, _, v, _ = _vicreg_smooth(w, c, s, gamma, li, lc, n)
    return val + lv / w.shape[0] * np.clip(1 - np.sqrt(v + VICREG_STD_EPS), 0, None).sum()


def vicreg_minimise(c, s, d, gamma, li=25.0, lv=25.0, lc=1.0, n=None, starts=4, seed=0):
    """Multi-start SLSQP on the epigraph form min smooth(W) + (λ_var/d) Σ t_k, t_k ≥ 1 − √(v_k + ε), t ≥ 0: the
    hinge's kink at std 1 — where VICReg's optimum often sits — stalls L-BFGS, not this smooth problem."""
    dim = c.shape[0]
    nw = d * dim

    def fun(x):
        val, grad, _, _ = _vicreg_smooth(x[:nw].reshape(d, dim), c, s, gamma, li, lc, n)
        return val + lv / d * x[nw:].sum(), np.r_[grad.ravel(), np.full(d, lv / d)]

    def cons(x):
        _, _, v, _ = _vicreg_smooth(x[:nw].reshape(d, dim), c, s, gamma, li, lc, n)
        return x[nw:] - (1 - np.sqrt(v + VICREG_STD_EPS))

    def cons_jac(x):
        _, _, v, wb = _vicreg_smooth(x[:nw].reshape(d, dim), c, s, gamma, li, lc, n)
        jac = np.zeros((d, nw + d))
        for k in range(d):  # ∂√(v_k + ε)/∂w_k = (W B)_k / √(v_k + ε)
            jac[k, k * dim:(k + 1) * dim] = wb[k] / np.sqrt(v[k] + VICREG_STD_EPS)
        jac[:, nw:] = np.eye(d)
        return jac

    gen = np.random.default_rng(seed)
    best = (np.inf, None)
    for _ in range(starts):
        w0 = gen.standard_normal((d, dim)) * (0.3 + 1.5 * gen.random()) / np.sqrt(dim)
        v0 = np.diag(w0 @ (c + s) @ w0.T)
        x0 = np.r_[w0.ravel(), np.clip(1 - np.sqrt(v0 + VICREG_STD_EPS), 0, None) + 1e-3]
        res = minimize(fun, x0, jac=True, method="SLSQP", bounds=[(None, None)] * nw + [(0, None)] * d,
                       constraints=[{"type": "ineq", "fun": cons, "jac": cons_jac}],
                       options={"maxiter": 500, "ftol": 1e-14})
        w = res.x[:nw].reshape(d, dim)
        val = vicreg_loss_np(w, c, s, gamma, li, lv, lc, n)
        if val < best[0]:
            best = (val, w)
    return best


def barlow_loss_np(w, c, s, lam, grad=False):
    """Standardised Barlow's population loss (ε → 0: scale-invariant), and with `grad` its gradient in W."""
    b = c + s
    sd = np.sqrt(np.einsum("kd,de,ke->k", w, b, w))
    inv = 1 / sd
    a = w @ c @ w.T
    k = a * inv[:, None] * inv[None, :]
    dg = np.diag(k)
    val = float(((1 - dg) ** 2).sum() + lam * ((k**2).sum() - (dg**2).sum()))
    if not grad:
        return val
    g = 2 * lam * k
    np.fill_diagonal(g, -2 * (1 - dg))          # ∂L/∂K
    h = g * inv[:, None] * inv[None, :]          # ∂L/∂A, A = W C Wᵀ
    g_inv = 2 * (g * a * inv[None, :]).sum(1)    # ∂L/∂(1/sd_k)
    return val, 2 * h @ w @ c - (g_inv * inv**3)[:, None] * (w @ b)


def barlow_minimise(c, s, d, lam, starts=6, seed=0):
    """Multi-start L-BFGS on the scale-invariant loss: (best loss, its number of used directions = rank of the
    unit-row Gram matrix UᵀU, U = W B^{1/2} with rows normalised)."""
    dim = c.shape[0]
    gen = np.random.default_rng(seed)
    best = (np.inf, None)
    for _ in range(starts):
        res = minimize(lambda x: (lambda v, g: (v, g.ravel()))(*barlow_loss_np(x.reshape(d, dim), c, s, lam, True)),
                       gen.standard_normal(d * dim), jac=True, method="L-BFGS-B",
                       options={"maxiter": 20000, "gtol": 1e-12, "ftol": 1e-15})
        if res.fun < best[0]:
            best = (float(res.fun), res.x.reshape(d, dim))
    lam_b, vec = np.linalg.eigh(c + s)
    u = best[1] @ (vec * np.sqrt(lam_b)) @ vec.T
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return best[0], _rank(np.linalg.eigvalsh(u.T @ u))


def test_barlow_reference_gradient_is_right() -> None:
    gen = np.random.default_rng(1)
    w, c, s = gen.standard_normal((3, 4)), np.diag([3.0, 2.0, 1.0, 0.5]), 0.4 * np.eye(4)
    _, g = barlow_loss_np(w, c, s, 0.1, True)
    e = np.zeros_like(w)
    e[1, 2] = 1e-6
    fd = (barlow_loss_np(w + e, c, s, 0.1) - barlow_loss_np(w - e, c, s, 0.1)) / 2e-6
    assert fd == pytest.approx(g[1, 2], rel=1e-5)


def _rank(spectrum) -> int:
    sp = np.asarray(spectrum)
    return int((sp > 1e-6 * sp.max()).sum()) if sp.max() > 1e-10 else 0


# ---- constants and the Schur–Horn construction ---------------------------------------------------------------------
def test_epsilons_are_the_losses_own() -> None:
    from sslscape.objectives.barlow import BN_EPS as LOSS_BN_EPS
    from sslscape.objectives.vicreg import STD_EPS

    assert VICREG_STD_EPS == STD_EPS and BN_EPS == LOSS_BN_EPS


def test_schur_horn_gives_an_orthogonal_matrix_with_the_target_diagonal() -> None:
    gen = np.random.default_rng(0)
    for _ in range(100):
        n = int(gen.integers(1, 9))
        lam = np.sort(gen.random(n) * 3)[::-1]
        lam[int(gen.integers(0, n)):] = 0.0
        q, _ = np.linalg.qr(gen.standard_normal((n, n)))
        target = (q**2) @ lam  # orthostochastic image of λ: majorised by λ
        g = schur_horn(lam, target)
        assert np.allclose(g @ g.T, np.eye(n), atol=1e-10)
        assert np.allclose(np.sort(np.diag(g @ np.diag(lam) @ g.T)), np.sort(target), atol=1e-8)
    with pytest.raises(ValueError, match="majorised"):
        schur_horn(np.array([1.0, 1.0]), np.array([2.0, 0.0]))


# ---- VICReg --------------------------------------------------------------------------------------------------------
C8 = np.diag([4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1])


def _vicreg_cases():
    gen = np.random.default_rng(11)
    out = [(C8[:6, :6], 0.5 * np.eye(6), 6, 0.05, None)]
    for i in range(5):
        dim = int(gen.integers(3, 5))
        d = int([max(1, dim - 2), dim, dim + 2][i % 3])
        c = np.diag(np.sort(gen.uniform(0.05, 4, dim))[::-1])
        s = np.diag(float(gen.choice([0.01, 0.5, 2.0])) * gen.uniform(0.2, 1, dim))
        if i % 3 == 2:  # C and S without a common eigenbasis
            rot, _ = np.linalg.qr(gen.standard_normal((dim, dim)))
            s = rot @ s @ rot.T
        out.append((c, s, d, float(gen.choice([0.0, 0.1, 0.5, 2.0])), None if i % 2 == 0 else 256))
    return out


@pytest.mark.parametrize(("c", "s", "d", "gamma", "n"), _vicreg_cases())
def test_vicreg_closed_form_is_the_population_minimum(c, s, d, gamma, n) -> None:
    """The closed form's loss is attained by its own W (an independent evaluation of (V1)) and no start of a
    multi-start float64 minimisation goes lower; the ranks agree."""
    sol = vicreg_population(c, s, d, gamma, batch_size=n)
    assert vicreg_loss_np(sol.weights, c, s, gamma, n=n) == pytest.approx(sol.loss, rel=1e-9, abs=1e-12)
    best, w = vicreg_minimise(c, s, d, gamma, n=n)
    assert best >= sol.loss - 1e-7 * max(1.0, abs(sol.loss))
    assert best <= sol.loss + 1e-5 * max(1.0, abs(sol.loss))  # the minimiser found the same minimum
    assert _rank(np.linalg.eigvalsh(w @ c @ w.T)) == sol.rank


def test_vicreg_water_level_decides_each_direction() -> None:
    """Direction i is used iff m_i < ν; γ*_i (ν held) brackets the spec's γ on the right side for every direction."""
    s = 0.5 * np.eye(8)
    for gamma in (0.05, 0.5, 2.0):
        sol = vicreg_population(C8, s, 8, gamma)
        used = np.asarray(sol.direction_variance) > 0
        assert np.array_equal(used, np.asarray(sol.costs) < sol.level)
        crit = np.sort(sol.critical_weight_decay)[::-1]
        assert sum(g > gamma for g in crit) == sol.rank


def test_vicreg_sweep_specs_match_training() -> None:
    """benchmarks/results sweep: VICReg (25/25/1) on C8, noise 0.5, γ = 0.05 and 0.5 — trained rank 4 both."""
    for gamma in (0.05, 0.5):
        spec = parse_spec({"objective": "vicreg", "data": {"cov": list(np.diag(C8))},
                           "augmentation": {"noise_cov": [0.5] * 8}, "weight_decay": gamma})
        pred = predict(spec)
        assert (pred.order, pred.method, pred.rank) == ("per_direction", "population_vicreg", 4)
        assert pred.thresholds.kind == "water_level" and pred.thresholds.order == "per_direction"


def test_vicreg_without_covariance_penalty_stacks_on_one_direction() -> None:
    sol = vicreg_population(C8, 0.5 * np.eye(8), 8, 0.1, covariance=0.0)
    assert sol.rank == 1 and sol.structure == "stacked"
    assert vicreg_loss_np(sol.weights, C8, 0.5 * np.eye(8), 0.1, lc=0.0) == pytest.approx(sol.loss, rel=1e-9)


# ---- Barlow Twins, standardised -----------------------------------------------------------------------------------
def _barlow_cases():
    gen = np.random.default_rng(3)
    out = [(C8, 0.5 * np.eye(8), 8, 0.005)]
    for i in range(6):
        dim = int(gen.integers(3, 6))
        d = int([max(1, dim - 2), dim, dim + 2][i % 3])
        c = np.diag(np.sort(gen.uniform(0.05, 4, dim))[::-1])
        s = np.diag(gen.uniform(0.0, 2, dim))
        if i % 3 == 2:
            rot, _ = np.linalg.qr(gen.standard_normal((dim, dim)))
            s = rot @ s @ rot.T
        out.append((c, s, d, float([0.005, 0.05, 0.3, 1.0][i % 4])))
    return out


@pytest.mark.parametrize(("c", "s", "d", "lam"), _barlow_cases())
def test_barlow_closed_form_is_the_population_minimum(c, s, d, lam) -> None:
    """The closed form assumes equal diagonals K_kk (B1). It is a lower bound that every start respects, attained
    where the equal diagonals are feasible; with few coordinates (d = 3) they are not, and the true minimum lies
    up to ~1 % higher — with the same used directions (rank)."""
    sol = barlow_population(c, s, d, lam)
    best, rank = barlow_minimise(c, s, d, lam)
    assert best >= sol.loss - 1e-9
    assert best <= sol.loss * 1.02 + 1e-9
    assert rank == sol.rank
    assert barlow_loss_np(sol.weights, c, s, lam) >= sol.loss - 1e-9  # a unit-row W never beats the minimum
    rho = np.asarray(sol.costs)
    assert np.array_equal(np.asarray(sol.direction_variance) > 0, (rho > sol.level)[: rho.size] &
                          (np.arange(rho.size) < d))


def test_barlow_weight_decay_never_changes_the_rank_but_noise_does() -> None:
    base = {"objective": "barlow", "normalization": "batch", "data": {"cov": list(np.diag(C8))},
            "augmentation": {"noise_cov": [0.5] * 8}}
    ranks = {predict(parse_spec({**base, "weight_decay": g})).rank for g in (0.0, 0.3, 3.0)}
    assert ranks == {3}
    pred = predict(parse_spec({**base, "weight_decay": 0.3}))
    assert pred.thresholds.kind == "snr_level" and pred.thresholds.critical_weight_decay == ()
    s_star = sorted(pred.thresholds.critical_noise_scale)  # ρ_c held: rank changes near these noise scales
    assert sum(v > 1.0 for v in s_star) == pred.rank
    quieter = predict(parse_spec({**base, "augmentation": {"noise_cov": [0.5] * 8, "noise_scale": 0.25}}))
    assert quieter.rank >= pred.rank


# ---- coverage, plan and the exact solver ---------------------------------------------------------------------------
def test_coverage_and_plan() -> None:
    base = {"data": {"cov": [2.0, 1.0, 0.5]}, "augmentation": {"noise_cov": [0.3] * 3}, "weight_decay": 0.1}
    assert plan(parse_spec({**base, "objective": "vicreg"})).order == "per_direction"
    assert plan(parse_spec({**base, "objective": "barlow", "normalization": "batch"})).order == "per_direction"
    assert plan(parse_spec({**base, "objective": "barlow"})).order == "quartic"
    for extra, needle in (({"normalization": "l2"}, "normalisation"), ({"depth": 2}, "depth"),
                          ({"protocol": "clean_negatives"}, "clean"), ({"vicreg": {"variance": 5.0}}, "λ_var")):
        spec = parse_spec({**base, "objective": "vicreg", **extra})
        assert needle in covers(spec)
        chosen = plan(spec)
        assert chosen.order == "exact" and needle in dict(chosen.declined)["population"]


@pytest.mark.parametrize("raw", [
    {"objective": "vicreg", "weight_decay": 0.3, "data": {"cov": [3.0, 1.0, 0.2]},
     "augmentation": {"noise_cov": [0.5, 0.5, 0.5]}, "embed_dim": 3},
    {"objective": "barlow", "normalization": "batch", "weight_decay": 0.1, "data": {"cov": [3.0, 1.0, 0.2]},
     "augmentation": {"noise_cov": [0.2, 0.5, 0.5]}, "embed_dim": 3},
])
def test_closed_form_agrees_with_the_exact_solver(raw: dict) -> None:
    spec = parse_spec(raw)
    closed, exact = predict(spec), predict(spec, "exact")
    assert closed.order == "per_direction" and exact.order == "exact"
    assert closed.rank == exact.rank
    assert exact.thresholds.order == "per_direction"  # the exact order shows the closed form's critical values
