"""NT-Xent's theory (`sslscape.theory.ntxent`, docs/theory.md §15) against Monte-Carlo of the exact batch loss
`sslscape.objectives.ntxent_loss`: the exact finite-N expansion at W = 0 (its same-view term included), the pair
tables of the learned point, p̄ at the learned point, and the cosine solver's pair variance."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch

from sslscape.moments import moments_of
from sslscape.objectives import infonce_loss, ntxent_loss
from sslscape.spec import parse_spec
from sslscape.theory import cosine_infonce as ci
from sslscape.theory import finite_batch as fb
from sslscape.theory.landscape import landscape, quartic_loss
from sslscape.theory.ntxent import finite_batch_quartic

torch.set_num_threads(1)

C4 = [2.0, 1.2, 0.7, 0.3]
S4 = [0.4, 0.6, 0.2, 0.5]


def _spec(objective: str, **kw: object):
    raw = {"objective": objective, "similarity": "dot", "data": {"cov": C4}, "augmentation": {"noise_cov": S4},
           "temperature": 0.8, "batch_size": 4, "embed_dim": 3, **kw}
    return parse_spec(raw)


# ---- the W = 0 expansion at finite N --------------------------------------------------------------------------
@functools.cache
def _sample(n_pairs: int = 1 << 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Two views of n_pairs examples, float64, moment-matched (sample covariance of (x, ε₁, ε₂) exactly C, S)."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((n_pairs, 12))
    z -= z.mean(0)
    z = np.linalg.solve(np.linalg.cholesky(z.T @ z / n_pairs), z.T).T
    x = z[:, :4] * np.sqrt(C4)
    v1, v2 = x + z[:, 4:8] * np.sqrt(S4), x + z[:, 8:] * np.sqrt(S4)
    return torch.as_tensor(v1), torch.as_tensor(v2)


def _taylor(objective: str, w: torch.Tensor, n: int, eps_max: float,
            groups: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """ε² and ε⁴ coefficients of the sample loss along εW, fitted per group of batches (mean, standard error):
    L(εW) − log K = a ε² + b ε⁴ + c ε⁶ + d ε⁸ on eight ε up to `eps_max`."""
    v1, v2 = _sample()
    z1, z2 = (v @ w.T for v in (v1, v2))
    eps = np.linspace(eps_max / 8, eps_max, 8)
    loss = ntxent_loss if objective == "ntxent" else infonce_loss
    k = 2 * n - 1 if objective == "ntxent" else n
    per = z1.shape[0] // (n * groups)
    rows = []
    for e in eps:
        s1, s2 = ((e * z).reshape(groups, per, n, -1) for z in (z1, z2))
        rows.append([float(loss(s1[g], s2[g], temperature=0.8, similarity="dot")) - math.log(k) for g in range(groups)])
    design = np.stack([eps**2, eps**4, eps**6, eps**8], 1)
    coef = np.linalg.lstsq(design, np.array(rows), rcond=None)[0][:2]  # (2, groups)
    return coef.mean(1), coef.std(1, ddof=1) / math.sqrt(groups)


def _poly_coefficients(land, w: torch.Tensor) -> tuple[float, float]:
    quad = float(quartic_loss(land.__class__(**{**land.__dict__, "terms": ()}), w))
    return quad, float(quartic_loss(land, w)) - quad


@pytest.mark.parametrize("objective, n", [("ntxent", 2), ("ntxent", 4), ("infonce", 4)])
def test_finite_batch_quartic_matches_the_exact_loss(objective, n):
    """N = 2 and 4 (K = 3 and 7 for NT-Xent): the O(1/N) terms are large, the same-view term 20 %/6 % of the
    quartic part."""
    spec = _spec(objective, batch_size=n)
    land = finite_batch_quartic(spec)
    w = torch.as_tensor(np.random.default_rng(3).standard_normal((3, 4)))
    a_th, b_th = _poly_coefficients(land, w)
    (a, b), (sa, sb) = _taylor(objective, w, n, math.sqrt(0.05 * abs(a_th / b_th)))  # quartic ≤ 5 % of quadratic
    assert a == pytest.approx(a_th, abs=4 * sa + 1e-9 * abs(a_th))
    assert abs(b - b_th) < 4 * sb + 2e-3 * abs(b_th), (b, b_th, sb)
    if n == 2:  # the check can fail: without the same-view pair term, or with the landscape's leading term only
        no_pairs = land.__class__(**{**land.__dict__, "terms": tuple(t for t in land.terms if t.coef > 0)})
        assert abs(b - _poly_coefficients(no_pairs, w)[1]) > 8 * sb
        annealed = landscape(spec, moments_of(spec))  # the landscape's leading term only: off by O(1/N)
        assert abs(b - _poly_coefficients(annealed, w)[1]) > 8 * sb


def test_large_batch_limit_is_the_clip_form():
    for objective in ("ntxent", "infonce"):
        a = landscape(_spec(objective, batch_size=None), moments_of(_spec(objective)))
        b = landscape(_spec("infonce", batch_size=None), moments_of(_spec("infonce")))
        np.testing.assert_allclose(a.quadratic, b.quadratic)
        assert [(t.kind, t.coef) for t in a.terms] == [(t.kind, t.coef) for t in b.terms]
    w = torch.as_tensor(np.random.default_rng(4).standard_normal((3, 4)))
    big = [finite_batch_quartic(_spec(o, batch_size=10**6)) for o in ("ntxent", "infonce")]
    assert float(quartic_loss(big[0], w)) == pytest.approx(float(quartic_loss(big[1], w)), rel=1e-5)
    # the landscape keeps (1 − 1/K), K = 2N − 1
    np.testing.assert_allclose(landscape(_spec("ntxent"), moments_of(_spec("ntxent"))).quadratic,
                               (1 - 1 / 7) * np.diag(C4) / 0.8)


# ---- the learned point's pair tables --------------------------------------------------------------------------
def test_pair_table_matches_direct_quadrature():
    g = np.linspace(-10, 10, 801)  # trapezoid on a Gaussian weight: exponentially accurate
    wts = np.exp(-g**2 / 2)
    wts /= wts.sum()
    for j in (0, 9, 20):
        r = j * fb.R_STEP
        tab = fb._pair_psi(j, 64)
        for sig in (0.0, 1.0, 3.5):
            se, sx = sig * math.sqrt(1 - r), sig * math.sqrt(r)
            for y in (-6.0, -1.0, 0.0, 2.0):
                inner = (np.exp(-np.exp(y + sx * g[:, None] + se * g[None, :])) * wts).sum(1)
                direct = 1 - (inner**2 * wts).sum()
                row, col = round(sig / fb.SIG_STEP) + fb._ROW0, round((y - fb.Y_MIN) / fb.H)
                assert tab[row, col] == pytest.approx(direct, abs=1e-12)


@pytest.mark.parametrize("s, sig, r", [(0.0, 0.0, 0.4), (4.0, 2.5, 0.83), (7.0, 4.0, 0.97), (2.0, 2.0, 0.12)])
def test_pair_conditional_matches_simulated_negative_pairs(s, sig, r):
    """P = E[e^S/(e^S + Σ_k (e^T_k + e^T'_k))], ℓ = E[log(1 + Σ e^{T − S})] for N − 1 = 31 correlated pairs."""
    rng = np.random.default_rng(1)
    n, m = 32, 40000
    shared = rng.standard_normal((m, n - 1, 1))
    t = sig * (math.sqrt(r) * shared + math.sqrt(1 - r) * rng.standard_normal((m, n - 1, 2)))
    y = np.exp(t).sum((1, 2))
    p_mc, l_mc = np.exp(s) / (np.exp(s) + y), np.log1p(y * np.exp(-s))
    p, ell = fb._pair_conditional(n).read(np.array([sig]), np.array([s]), np.array([r]), which=(0, 1))
    assert p[0] == pytest.approx(p_mc.mean(), abs=4 * p_mc.std() / math.sqrt(m) + 2e-4)
    assert ell[0] == pytest.approx(l_mc.mean(), abs=4 * l_mc.std() / math.sqrt(m) + 2e-4)
    if s == 0.0 and sig == 0.0:
        assert p[0] == pytest.approx(1 / 63, abs=1e-9)  # 1/(2N − 1) at W = 0


def test_pair_conditional_derivatives():
    pc = fb._pair_conditional(64)
    pts = (np.array([1.3, 2.9]), np.array([3.1, 6.4]), np.array([0.33, 0.78]))
    (val, d_sig, d_s, d_r), = pc.read(*pts, which=(1,), derivs=True)
    for k, deriv in enumerate((d_sig, d_s, d_r)):
        up, dn = [list(pts) for _ in range(2)]
        up[k], dn[k] = pts[k] + 1e-5, pts[k] - 1e-5
        num = (pc.read(*up, which=(1,))[0] - pc.read(*dn, which=(1,))[0]) / 2e-5
        np.testing.assert_allclose(deriv, num, rtol=2e-3, atol=1e-5)


# ---- the learned point --------------------------------------------------------------------------------------------
def _lp_spec(objective: str = "ntxent"):
    cov = [1.0] * 6 + [0.1773, 0.08075, 0.04267]
    return parse_spec({"objective": objective, "similarity": "dot", "data": {"cov": cov},
                       "augmentation": {"noise_cov": [0.05 * c for c in cov]}, "weight_decay": 0.1,
                       "temperature": 0.5, "batch_size": 16})


def _weights(lp) -> np.ndarray:
    g = np.asarray(lp.gains)
    return np.diag(np.sqrt(g))  # the spec's covariance is diagonal and sorted descending


def test_p_bar_at_the_learned_point_matches_the_exact_softmax():
    """N = 16, p̄ ≈ 0.53: the tables' p̄ against sslscape's exact NT-Xent softmax on simulated batches."""
    from sslscape.theory.exact import _pairs, _positive_weight, sample_views

    spec = _lp_spec()
    lp = fb.learned_point_solution(spec)
    clean, v1, v2 = sample_views(spec, moments_of(spec), 1 << 15, 1)
    mc = _positive_weight(spec, *_pairs(spec, clean, v1, v2), _weights(lp), 16)
    assert lp.positive_weight == pytest.approx(mc, abs=3e-3)
    assert fb.positive_weight(spec, _weights(lp)) == pytest.approx(mc, abs=3e-3)
    clip = fb.learned_point_solution(_lp_spec("infonce"))
    assert lp.positive_weight < clip.positive_weight - 0.03  # more negatives: a smaller positive share
    iid = fb.learned_point_solution(_lp_spec("infonce").with_updates(batch_size=31))
    assert abs(lp.positive_weight - iid.positive_weight) > 0.01  # 2N − 2 independent negatives are not NT-Xent


def test_learned_point_is_stationary_in_the_exact_loss():
    """At the learned gains, autodiff of the exact NT-Xent loss (simulated batches) + 2γg is ≈ 0 on alive
    directions and ≥ 0 on dead ones, with the dead directions' growth (1 − p̄_{−k}) c_k/τ − γ < 0."""
    spec = _lp_spec()
    lp = fb.learned_point_solution(spec)
    v1, v2 = _views(spec, 1 << 16)
    alive = np.asarray(lp.gains) > 0
    h = 1e-5 * max(lp.gains)

    def loss(g: torch.Tensor, rows: slice) -> torch.Tensor:
        z1, z2 = (v[rows] * g.sqrt() for v in (v1, v2))
        value = ntxent_loss(z1.reshape(-1, 16, 9), z2.reshape(-1, 16, 9), temperature=0.5, similarity="dot")
        return value + spec.weight_decay * g.sum()

    grads = []
    for part in range(16):  # 16 independent groups of 256 batches: mean gradient and its standard error
        rows = slice(part * 4096, (part + 1) * 4096)
        g = torch.tensor(lp.gains, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(loss(g, rows), g)  # alive directions (g > 0)
        with torch.no_grad():  # dead ones: the one-sided derivative at g_k = 0 (√g is not differentiable there)
            for k in np.flatnonzero(~alive):
                grad[k] = (loss(g + h * torch.eye(9, dtype=torch.float64)[k], rows) - loss(g, rows)) / h
        grads.append(grad.numpy())
    grad, se = np.mean(grads, 0), np.std(grads, 0, ddof=1) / 4
    assert np.all(np.abs(grad[alive]) < 4 * se[alive] + 1e-3 * spec.weight_decay), (grad, se)
    dead = ~alive
    assert dead.any() and np.all(np.asarray(lp.growth)[dead] < 0)
    # the growth law is the gradient at g_k = 0: −((1 − p̄_{−k}) c_k/τ − γ)
    assert np.all(np.abs(grad[dead] + np.asarray(lp.growth)[dead]) < 4 * se[dead] + 1e-3), (grad, lp.growth)


def _views(spec, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    m = moments_of(spec)
    gen = torch.Generator().manual_seed(5)
    c, s = torch.tensor(np.diag(m.cov)), torch.tensor(np.diag(m.noise_cov))
    x = torch.randn(n, c.numel(), generator=gen, dtype=torch.float64) * c.sqrt()
    return tuple(x + torch.randn(n, c.numel(), generator=gen, dtype=torch.float64) * s.sqrt() for _ in range(2))


# ---- cosine: the pair variance in the reduced loss ------------------------------------------------------------
C8 = np.array([4, 3, 2, 1.5, 1, 0.5, 0.25, 0.1])


def test_cosine_reduced_loss_gradient_with_pairs():
    a, p, b_c = ci._pairs(C8, np.full(8, 0.5), "augmented_negatives", 256)
    g = np.random.default_rng(0).uniform(0.05, 1.0, 8)
    args = (a * a, p * p, a * p, b_c, 6.0, 64, C8)
    value, grad, _ = ci.reduced_loss(g, *args)
    num = np.array([(ci.reduced_loss(g + 1e-6 * e, *args)[0] - ci.reduced_loss(g - 1e-6 * e, *args)[0]) / 2e-6
                    for e in np.eye(8)])
    assert np.abs(grad - num).max() < 1e-4 * np.abs(num).max()
    assert abs(g @ grad) < 1e-3 * np.abs(grad).max() * g.sum()  # scale-invariant: Σ g ∂L/∂g = 0


@pytest.mark.parametrize("tau, n, reps", [(0.2, 64, 300), (0.5, 16, 1000)])
def test_cosine_reduced_loss_matches_the_exact_batch_loss(tau, n, reps):
    s = np.full(8, 0.5)
    g = np.array([0.25, 0.2, 0.18, 0.14, 0.11, 0.07, 0.04, 0.01]) / (C8 + s)
    a, p, b_c = ci._pairs(C8, s, "augmented_negatives", 4096)
    ours = ci.reduced_loss(g, a * a, p * p, a * p, b_c, 1 / tau, n, C8)[0]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(reps, n, 8, generator=gen, dtype=torch.float64) * torch.tensor(C8).sqrt()
    w = torch.tensor(np.sqrt(g))
    z1, z2 = ((x + torch.randn(reps, n, 8, generator=gen, dtype=torch.float64) * math.sqrt(0.5)) * w
              for _ in range(2))
    exact = float(ntxent_loss(z1, z2, temperature=tau))
    assert ours == pytest.approx(exact, abs=0.012)
    clip_form = ci.reduced_loss(g, a * a, p * p, a * p, b_c, 1 / tau, n)[0]
    assert abs(clip_form - exact) > 0.3  # the CLIP form's loss is not NT-Xent's (≈ log 2 apart)
