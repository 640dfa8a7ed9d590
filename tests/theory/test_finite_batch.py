"""The InfoNCE learned-point closed form (sslscape.theory.finite_batch, docs/theory.md §5). Each test can fail:
tolerances are set from the measured errors (tables ≈ 1e-13, interpolation ≈ 3e-5, pair quadrature ≈ 1e-4) with
a margin, not loosely; the independent references are brute-force quadrature, Monte-Carlo of sslscape's exact
softmax (`logits_with_positive`), the quartic closed form as N → ∞ and the independent Stein form of the gradient."""

from __future__ import annotations

import numpy as np
import pytest

from sslscape.moments import moments_of
from sslscape.spec import parse_spec
from sslscape.theory import finite_batch as ib
from sslscape.theory.prediction import TheoryDeclined

FAILING = {"objective": "infonce", "similarity": "dot", "protocol": "augmented_negatives",
           "data": {"cov": [4] * 11 + [0.12]}, "augmentation": {"noise_cov": [0.01] * 12}, "weight_decay": 0.1,
           "temperature": 1.0, "embed_dim": 12, "batch_size": 512}


def _spec(**kw) -> object:
    raw = {"objective": "infonce", "similarity": "dot", "protocol": "augmented_negatives",
           "data": {"cov": kw.pop("cov")}, "augmentation": {"noise_cov": kw.pop("noise")}}
    raw.update(kw)
    return parse_spec(raw)


# ---- the failing example ---------------------------------------------------------------------------------------
def test_failing_example_gives_rank_11():
    lp = ib.learned_point_solution(parse_spec(FAILING))
    assert lp.quartic_rank == 12          # the W = 0 expansion keeps direction 12 ...
    assert lp.rank == 11                  # ... the learned point kills it (training and the exact order: 11)
    assert lp.converged and lp.kkt_residual < 1e-6
    assert 0.45 < lp.positive_weight < 0.50          # exact order measured 0.471 on its 4,096-pair sample
    assert lp.spectrum[11] == 0.0 and all(v > 1.0 for v in lp.spectrum[:11])
    # direction 12 dies because (1 − p̄)·0.12 < 0.1 although (1 − 1/512)·0.12 > 0.1
    assert lp.critical_weight_decay[11] == pytest.approx((1 - lp.positive_weight) * 0.12, rel=1e-12)
    assert lp.critical_weight_decay[11] < 0.1 < (1 - 1 / 512) * 0.12


# ---- the universal tables and the conditional (given anchor/positive) statistics -------------------------------
def _psi_direct(k: int, y: float, sig: float) -> float:
    g = np.linspace(-14, 14, 28001)
    w = np.exp(-g**2 / 2) / np.sqrt(2 * np.pi) * (g[1] - g[0])
    x = y + sig * g
    ex = np.exp(np.minimum(x, 700))
    f = -np.expm1(-ex) if k == 0 else np.exp(np.minimum(k * x - ex, 700))
    return float((f * w).sum())


def test_psi_tables_match_direct_quadrature():
    y, psi0, psi2 = ib._psi_tables()
    rng = np.random.default_rng(0)
    for _ in range(40):
        r = rng.integers(ib._ROW0, psi0.shape[0])
        j = rng.integers(0, y.size)
        sig = (r - ib._ROW0) * ib.SIG_STEP
        assert abs(psi0[r, j] - _psi_direct(0, y[j], sig)) < 1e-11
        assert abs(psi2[r, j] - _psi_direct(2, y[j], sig)) < 1e-11


def _conditional_direct(s: float, sig: float, n: int, du: float = 0.02) -> np.ndarray:
    """P, ℓ, C₂ by brute-force quadrature of the Laplace-transform integrals (no tables, no interpolation)."""
    u = np.arange(-60, 5, du)
    g = np.linspace(-13, 13, 2601)
    w = np.exp(-g**2 / 2) / np.sqrt(2 * np.pi) * (g[1] - g[0])
    out = np.zeros(3)
    for a in range(0, u.size, 500):
        uu = u[a:a + 500]
        x = (uu - s)[:, None] + sig * g
        ex = np.exp(np.minimum(x, 700))
        p0 = (-np.expm1(-ex) * w).sum(1)
        p2 = (np.exp(np.minimum(2 * x - ex, 700)) * w).sum(1)
        l1 = np.log1p(-np.minimum(p0, 1 - 1e-16))
        f, fm = np.exp((n - 1) * l1), np.exp((n - 2) * l1)
        out += du * np.array([(np.exp(uu - np.exp(uu)) * f).sum(), (np.exp(-np.exp(uu)) * (1 - f)).sum(),
                              ((n - 1) * np.exp(-np.exp(uu)) * p2 * fm).sum()])
    return out


@pytest.mark.parametrize("n", [16, pytest.param(512, marks=pytest.mark.slow)])
def test_conditional_tables_match_direct_integrals(n):
    rng = np.random.default_rng(n)
    s, sig = rng.uniform(-2, 30, 4), rng.uniform(0, 7, 4)
    got = ib.conditional_stats(s, sig, n)
    for i in range(4):
        ref = _conditional_direct(s[i], sig[i], n)
        assert got["P"][i] == pytest.approx(ref[0], abs=1e-4)
        assert got["loss"][i] == pytest.approx(ref[1], abs=1e-4)
        assert got["C2"][i] == pytest.approx(ref[2], abs=1e-4)


def test_collapsed_point_gives_one_over_n():
    """At W = 0 every logit is 0: P_ii = 1/N, loss = log N, Σ_{j≠i} P_ij² = (N − 1)/N²."""
    for n in (16, 100, 1024):
        got = ib.conditional_stats(np.array([0.0]), np.array([0.0]), n)
        assert got["P"][0] == pytest.approx(1 / n, rel=1e-6)
        assert got["loss"][0] == pytest.approx(np.log(n), rel=1e-6)
        assert got["C2"][0] == pytest.approx((n - 1) / n**2, rel=1e-4)


def test_laplace_identity_against_simulated_negatives_heavy_tail():
    """E[1/(1 + Σ_j e^{T_j − S})] for N − 1 i.i.d. N(0, σ²) negatives, in the frozen regime σ² > 2 log N where
    the negatives' sum is not self-averaging (the annealed (N − 1)e^{σ²/2} is far off)."""
    n, s, sig = 128, 9.0, 3.6
    rng = np.random.default_rng(1)
    t = rng.standard_normal((40000, n - 1)) * sig
    p = 1.0 / (1.0 + np.exp(t - s).sum(1))
    got = ib.conditional_stats(np.array([s]), np.array([sig]), n)["P"][0]
    assert abs(got - p.mean()) < 4 * p.std() / np.sqrt(p.size)
    annealed = 1 / (1 + (n - 1) * np.exp(sig**2 / 2 - s))
    assert abs(annealed - p.mean()) > 0.1  # the approximation we did not use


# ---- p̄ at given weights vs Monte-Carlo of the exact loss's softmax ---------------------------------------------
def _mc_positive_weight(spec, w: np.ndarray, n_batches: int, seed: int = 0) -> tuple[float, float]:
    import torch

    from sslscape.objectives.similarity import logits_with_positive

    m = moments_of(spec)
    c, s = m.cov, m.noise_cov
    dim, n = c.shape[0], spec.batch_size
    gen = np.random.default_rng(seed)
    lc, ls = ib._psd_factor(c), ib._psd_factor(s)
    x = gen.standard_normal((n_batches, n, dim)) @ lc.T
    e1 = gen.standard_normal((n_batches, n, dim)) @ ls.T
    e2 = gen.standard_normal((n_batches, n, dim)) @ ls.T
    emb = lambda v: torch.as_tensor(v @ w.T)  # noqa: E731
    if spec.protocol == "augmented_negatives":
        za, zp, zn = emb(x + e1), emb(x + e2), None
    else:
        za, zp, zn = emb(x), emb(x + e2), emb(x)
    logits = logits_with_positive(za, zp, zn, spec.similarity) / spec.temperature
    per_batch = torch.softmax(logits, -1).diagonal(dim1=-2, dim2=-1).mean(-1).numpy()
    return float(per_batch.mean()), float(per_batch.std() / np.sqrt(n_batches))


def test_p_bar_matches_monte_carlo_at_the_learned_point():
    spec = parse_spec(FAILING)
    lp = ib.learned_point_solution(spec)
    w = np.diag(np.sqrt(lp.gains))  # the learned W (directions already in the data's eigenbasis)
    mc, se = _mc_positive_weight(spec, w, 120)
    assert abs(lp.positive_weight - mc) < 4 * se + 2e-3
    assert abs(ib.positive_weight(spec, w) - mc) < 4 * se + 2e-3


@pytest.mark.parametrize("protocol", ["augmented_negatives", "clean_negatives"])
def test_p_bar_matches_monte_carlo_at_random_weights(protocol):
    """General (non-diagonal, rank-deficient) W and a full data covariance: no diagonal ansatz involved."""
    rng = np.random.default_rng(7)
    dim = 6
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    cov = q @ np.diag([3.0, 2.0, 1.0, 0.5, 0.3, 0.1]) @ q.T
    spec = _spec(cov=cov.tolist(), noise=[0.3] * dim, weight_decay=0.1, temperature=0.5, batch_size=32,
                 protocol=protocol)
    w = 0.35 * rng.standard_normal((4, dim))
    mc, se = _mc_positive_weight(spec, w, 2000)
    assert 0.1 < mc < 0.9  # a regime where p̄ ≫ 1/N
    assert abs(ib.positive_weight(spec, w) - mc) < 4 * se + 2e-3


# ---- N → ∞ recovers the quartic closed form -------------------------------------------------------------------
def _quartic_closed_form_spectrum(spec) -> np.ndarray:
    """sslscape's own closed form with p = 1/N → 0 (the quartic landscape of the N → ∞ loss)."""
    from sslscape.theory import landscape
    from sslscape.theory.solve import closed_form_minimum, single_product_form

    flat = spec.with_updates(batch_size=None)
    land = landscape(flat, moments_of(flat))
    return closed_form_minimum(land, single_product_form(land)).spectrum


def test_large_batch_recovers_quartic_closed_form():
    """N → ∞ at fixed W: the negatives' sum self-averages, log E_c e^{zᵀz_c/τ} = zᵀK_c z/(2τ²) exactly, and the
    population loss becomes the quartic polynomial with p = 0. The learned point must converge to sslscape's
    closed form, with a gap that falls like p̄ ∝ 1/N (measured: 0.18, 0.012, 1.9e-4, 1.9e-5 at γ = 0.5)."""
    for gamma in (0.5, 0.7, 0.9):
        gaps = []
        for n in (10**2, 10**4, 10**6, 10**7):
            spec = _spec(cov=[1.0, 0.9, 0.6, 0.2], noise=[0.1] * 4, weight_decay=gamma, temperature=1.0,
                         batch_size=n)
            lp = ib.learned_point_solution(spec)
            ref = _quartic_closed_form_spectrum(spec)
            assert lp.rank == int(np.sum(ref > 0))
            alive = ref > 0
            gaps.append(float(np.max(np.abs(np.asarray(lp.spectrum)[alive] / ref[alive] - 1))))
        assert gaps[0] > gaps[1] > gaps[2] > gaps[3]
        assert gaps[0] > 0.05 and gaps[3] < 1e-4
        assert lp.positive_weight < 1e-5


def test_quartic_gains_formula_is_sslscape_closed_form():
    spec = _spec(cov=[2.0, 1.0, 0.5], noise=[0.2, 0.1, 0.3], weight_decay=0.3, temperature=0.7, batch_size=64)
    prob = ib._problem(spec)
    grp = ib._groups(prob, ib._group_members(prob, prob.growth > prob.gamma), 64)
    mine = np.sort(ib._quartic_gains(prob, grp, 1 - 1 / 64) * grp.c)[::-1]
    from sslscape.theory import landscape
    from sslscape.theory.solve import closed_form_minimum, single_product_form

    land = landscape(spec, moments_of(spec))
    ref = closed_form_minimum(land, single_product_form(land)).spectrum
    np.testing.assert_allclose(mine, ref[: mine.size], rtol=1e-10)


# ---- the fixed point -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["augmented_negatives", "clean_negatives"])
def test_fixed_point_is_stationary_and_self_consistent(protocol):
    spec = _spec(cov=[2.0, 1.5, 1.0, 1.0, 0.12, 0.06], noise=[0.1] * 6, weight_decay=0.25, temperature=0.4,
                 batch_size=32, protocol=protocol)
    lp = ib.learned_point_solution(spec)
    assert lp.converged and lp.kkt_residual < 1e-6
    prob = ib._problem(spec)
    g = np.asarray(lp.gains)
    members = ib._group_members(prob, g > 0)
    grp = ib._groups(prob, members, ib.N_QMC)
    gg = np.array([g[m[0]] for m in members])
    cond = ib._conditional(32)
    # (1) stationarity by the *independent* Stein form of the gradient (P and C₂ tables, not ℓ's derivative)
    s, sig = ib._logits(prob, grp, gg)
    p, _, c2 = cond.read(sig, s)
    stein = (-((1 - p)[:, None] * grp.ap).mean(0) / prob.tau
             + gg * grp.sc / prob.tau**2 * (((1 - p - c2)[:, None] * grp.aa).mean(0)) + prob.gamma * grp.n)
    assert np.max(np.abs(stein / grp.n)) < 2e-4 * prob.growth.max()  # terms are O(c/τ); interpolation 1e-5
    # (2) p̄ reported = p̄ recomputed at the returned gains (fixed point of the p̄ map)
    assert ib._p_bar(prob, grp, gg, cond) == pytest.approx(lp.positive_weight, abs=1e-12)
    # (3) the growth law decides every direction: alive ⇔ (1 − p̄_{−k}) a_k^∞ > γ
    growth = np.asarray(lp.growth)
    assert np.array_equal(growth > 0, g > 0)
    assert lp.rank == int(np.sum(g > 0))


def test_temperature_weight_decay_scaling():
    """G = τ G'(γτ): the learned point depends on (γ, τ) only through γτ; the spectrum scales with τ."""
    base = dict(cov=[1.0] * 6 + [0.15, 0.1], noise=[0.05] * 8, batch_size=64)
    a = ib.learned_point_solution(_spec(weight_decay=0.4, temperature=0.25, **base))
    b = ib.learned_point_solution(_spec(weight_decay=0.1, temperature=1.0, **base))
    assert a.rank == b.rank
    assert a.positive_weight == pytest.approx(b.positive_weight, abs=2e-4)
    np.testing.assert_allclose(np.asarray(a.spectrum) * 4.0, b.spectrum, rtol=2e-3, atol=1e-9)


def test_anchor_quadrature_is_converged():
    spec = parse_spec(FAILING)
    coarse = ib.learned_point_solution(spec, n_qmc=1024)
    fine = ib.learned_point_solution(spec, n_qmc=16384)
    assert abs(coarse.positive_weight - fine.positive_weight) < 5e-4
    assert coarse.spectrum[0] == pytest.approx(fine.spectrum[0], rel=1e-3)


def test_iteration_is_deterministic_and_rank_capped():
    spec = _spec(cov=[1.0] * 8 + [0.12, 0.05], noise=[0.05] * 10, weight_decay=0.04, temperature=1.0,
                 batch_size=64, embed_dim=5)
    lp = ib.learned_point_solution(spec)
    assert lp.rank == 5 and len(lp.spectrum) == 5 and lp.notes
    again = ib.learned_point_solution(spec)  # the per-N table cache has grown meanwhile: same answer to rounding
    assert again.rank == lp.rank
    np.testing.assert_allclose(again.spectrum, lp.spectrum, rtol=1e-10)
    assert again.positive_weight == pytest.approx(lp.positive_weight, abs=1e-12)


def test_self_consistent_critical_weight_decay_brackets_the_spec():
    """Direction 12 of the failing example dies at γ = 0.1; the re-solved threshold lies below 0.1 and above the
    frozen-p̄ estimate's neighbourhood, and at it the growth vanishes."""
    spec = parse_spec(FAILING)
    gstar = ib.critical_value_self_consistent(spec, 11, "weight_decay")
    assert gstar is not None and gstar < 0.1
    assert abs(ib.growth_at(spec.with_updates(weight_decay=gstar), 11)) < 1e-5
    assert ib.growth_at(spec.with_updates(weight_decay=0.98 * gstar), 11) > 0
    assert ib.learned_point_solution(spec.with_updates(weight_decay=0.98 * gstar)).rank == 12


def test_unsupported_specs_raise():
    for extra in ({"similarity": "euclidean"}, {"similarity": "cosine"}, {"depth": 2}, {"bias": True}):
        with pytest.raises(TheoryDeclined):
            ib.learned_point_solution(_spec(cov=[1.0, 0.5], noise=[0.1, 0.1], weight_decay=0.1, batch_size=32,
                                            **extra))
    with pytest.raises(TheoryDeclined):  # no batch size: the quartic closed form is the answer
        ib.learned_point_solution(_spec(cov=[1.0, 0.5], noise=[0.1, 0.1], weight_decay=0.1))
    with pytest.raises(TheoryDeclined):  # no weight decay: no finite learned point with dot similarity
        ib.learned_point_solution(_spec(cov=[1.0, 0.5], noise=[0.1, 0.1], weight_decay=0.0, batch_size=32))
