"""Closed-form minima of the quartic landscape (`sslscape.theory.solve`) against independent computations.

* depth 1: `closed_form_minimum` vs `numerical_minimum` (20 random L-BFGS starts on the same polynomial) for
  random PSD C, a noise covariance S that does not commute with C, several γ, d < D and d = D, with a bias;
* Sylvester: the learned rank is the number of positive eigenvalues of A − γG, capped by d;
* depth L = 2, 3: `depth_closed_form_minimum` vs `numerical_minimum(depth=L)` (a product of L factors, weight
  decay on every factor), and `depth_critical_weight_decay` / `depth_profile` vs a brute-force scan of
  f(p) = −a p + β² p² + γ L p^{1/L};
* properties (hypothesis): rotating the data basis leaves the spectrum and the loss unchanged; scaling C and S
  by k scales the weight-decay thresholds by k and leaves the spectrum at γ → kγ unchanged.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sslscape.moments import moments_of
from sslscape.spec import Spec
from sslscape.theory.landscape import Landscape, landscape
from sslscape.theory.solve import (
    closed_form_minimum,
    commuting_minimum,
    depth_closed_form_minimum,
    depth_critical_weight_decay,
    depth_profile,
    minimum,
    numerical_minimum,
    single_product_form,
)

torch.set_num_threads(1)

D = 6


def _rand_psd(seed: int, dim: int, rank: int | None = None, scale: float = 1.0) -> np.ndarray:
    g = np.random.default_rng(seed).standard_normal((dim, rank or dim))
    return scale * g @ g.T / dim


C = _rand_psd(0, D)
S = _rand_psd(1, D, scale=0.5)  # does not commute with C
C_LOW = _rand_psd(2, D, rank=4)  # singular data covariance: two directions with no data at all
MU = [0.3, -0.2, 0.1, 0.0, 0.25, -0.1]


def _spec(**kw: object) -> Spec:
    raw: dict = {"data": {"cov": C.tolist()}, "augmentation": {"noise_cov": S.tolist()}}
    raw.update(kw)
    return Spec.model_validate(raw)


def _land(spec: Spec) -> Landscape:
    return landscape(spec, moments_of(spec))


def _gamma_between(spec: Spec, k: int) -> float:
    """A weight decay halfway between the k-th and (k+1)-th eigenvalue of A (well away from every threshold)."""
    ev = np.sort(np.linalg.eigvalsh(_land(spec).quadratic))[::-1]
    return float((ev[k - 1] + ev[k]) / 2)


# objective settings whose landscape is a single product Tr[(ŴBŴᵀ)²] (closed form exists)
SINGLE = {
    "infonce-dot-aug": {"objective": "infonce", "temperature": 0.5},
    "infonce-dot-clean": {"objective": "infonce", "protocol": "clean_negatives", "temperature": 2.0},
    "infonce-euc-clean": {"objective": "infonce", "similarity": "euclidean", "protocol": "clean_negatives",
                          "temperature": 0.5, "augmentation": {"noise_cov": (0.3 * S).tolist()}},
    "spectral-aug": {"objective": "spectral"},
    "spectral-clean-lowrank": {"objective": "spectral", "protocol": "clean_negatives",
                               "data": {"cov": C_LOW.tolist()}},
    "spectral-aug-mean-bias": {"objective": "spectral", "bias": True, "data": {"cov": C.tolist(), "mean": MU}},
    "barlow-lam1": {"objective": "barlow", "barlow_lambda": 1.0},
    "barlow-lam1-bias": {"objective": "barlow", "barlow_lambda": 1.0, "bias": True,
                         "data": {"cov": C.tolist(), "mean": MU}},
}
# (case, embed_dim, how many eigenvalues of A lie above γ; 0 means γ = 0)
GRID = [("infonce-dot-aug", 3, 4), ("infonce-dot-clean", 6, 0),
        ("infonce-euc-clean", 4, 3), ("spectral-aug", 6, 5), ("spectral-clean-lowrank", 6, 3),
        ("spectral-aug-mean-bias", 3, 3), ("barlow-lam1", 5, 1), ("barlow-lam1-bias", 4, 2)]


def _grid_land(case: str, d: int, k: int) -> Landscape:
    spec = _spec(**SINGLE[case], embed_dim=d)
    gamma = 0.0 if k == 0 else _gamma_between(spec, k)
    return _land(spec.with_updates(weight_decay=gamma))


def _assert_same_minimum(found, ref, loss_rtol: float = 1e-6, spec_rtol: float = 1e-5) -> None:
    assert found.loss == pytest.approx(ref.loss, rel=loss_rtol)
    top = max(ref.spectrum.max(), 1e-300)
    np.testing.assert_allclose(found.spectrum, ref.spectrum, atol=spec_rtol * top, rtol=0)
    assert found.rank == ref.rank


@pytest.mark.slow
@pytest.mark.parametrize(("case", "d", "k"), GRID, ids=[f"{c}-d{d}-k{k}" for c, d, k in GRID])
def test_closed_form_is_the_global_minimum(case: str, d: int, k: int) -> None:
    land = _grid_land(case, d, k)
    b = single_product_form(land)
    assert b is not None, "this landscape should have the single-product form"
    closed = closed_form_minimum(land, b)
    assert closed.method == "closed_form"
    numerical = numerical_minimum(land, n_starts=20)
    _assert_same_minimum(closed, numerical)
    # the closed-form weights evaluate to the reported loss on the polynomial itself
    from sslscape.theory.landscape import quartic_loss

    assert float(quartic_loss(land, torch.as_tensor(closed.weights))) == pytest.approx(closed.loss, rel=1e-10)


@pytest.mark.parametrize(("case", "d", "k"), GRID, ids=[f"{c}-d{d}-k{k}" for c, d, k in GRID])
def test_sylvester_rank(case: str, d: int, k: int) -> None:
    """rank(Ŵ) = min(d, #positive eigenvalues of A − γG); without a bias this is the embedding rank."""
    land = _grid_land(case, d, k)
    n_pos = int(np.sum(np.linalg.eigvalsh(land.effective_quadratic) > 1e-10))
    found = minimum(land)
    assert np.linalg.matrix_rank(found.weights, tol=1e-8) == min(d, n_pos)
    if not SINGLE[case].get("bias"):
        assert found.rank == min(d, n_pos)
        assert found.rank == min(d, k if k else D - int(case.endswith("lowrank")) * 2)


def test_bias_spends_one_row_on_the_mean() -> None:
    """With a bias and a mean, e_bias is an exact generalised eigenvector (q = 2 for spectral, augmented): one
    row of Ŵ carries the constant embedding (zero variance) when it is among the top d."""
    land = _grid_land("spectral-aug-mean-bias", 6, 3)
    found = minimum(land)
    n_pos = int(np.sum(np.linalg.eigvalsh(land.effective_quadratic) > 1e-10))
    assert found.rank == n_pos - 1
    mean_embedding = found.weights @ np.append(MU, 1.0)
    assert np.linalg.norm(mean_embedding) > 0.1


def test_unbounded_landscape_is_reported() -> None:
    from sslscape.errors import UserError

    # spectral, clean negatives: noise only where the data has no variance → B singular there; a negative
    # weight decay is impossible, so make A positive on null(B) by hand
    land = _grid_land("spectral-clean-lowrank", 6, 0)
    u = np.linalg.eigh(C_LOW)[1][:, 0]  # a null direction of C_LOW (= of B)
    bad = dataclasses.replace(land, quadratic=land.quadratic + np.outer(u, u))
    with pytest.raises(UserError):
        closed_form_minimum(bad, single_product_form(bad))


# ---- depth L ---------------------------------------------------------------------------------------------------
DIAG_C = [3.0, 2.2, 1.5, 1.0, 0.6]
DIAG_S = [0.2, 1.5, 0.4, 2.0, 0.1]  # commutes with C; reorders the quartic coefficients β_k


def _depth_land(objective: str, depth: int, gamma: float, d: int) -> Landscape:
    return _land(Spec.model_validate({"objective": objective, "data": {"cov": DIAG_C},
                                      "augmentation": {"noise_cov": DIAG_S}, "embed_dim": d, "depth": depth,
                                      "weight_decay": gamma, "temperature": 1.0}))


def _deep_value(land: Landscape, weights: np.ndarray, depth: int) -> float:
    """The depth-L objective at a balanced factorisation of Ŵ = UΣVᵀ: W₁ = Σ^{1/L}Vᵀ, W_l = Σ^{1/L}, W_L = UΣ^{1/L}."""
    from sslscape.theory.landscape import quartic_loss

    u, sv, vt = np.linalg.svd(weights, full_matrices=False)
    root = np.diag(sv ** (1 / depth))
    factors = [root @ vt] + [root] * (depth - 2) + [u @ root]
    product = factors[0]
    for f in factors[1:]:
        product = f @ product
    np.testing.assert_allclose(product, weights, atol=1e-12)
    no_decay = dataclasses.replace(land, weight_decay=0.0)
    return float(quartic_loss(no_decay, torch.as_tensor(product))) + land.weight_decay * sum(
        float((f * f).sum()) for f in factors)


DEPTH_OK = [("spectral", 2, 0.4, 5), ("spectral", 2, 0.3, 2), ("infonce", 2, 0.2, 5), ("infonce", 3, 0.15, 2)]


@pytest.mark.slow
@pytest.mark.parametrize(("objective", "depth", "gamma", "d"), DEPTH_OK)
def test_depth_closed_form_is_the_global_minimum(objective: str, depth: int, gamma: float, d: int) -> None:
    land = _depth_land(objective, depth, gamma, d)
    closed = depth_closed_form_minimum(land, single_product_form(land), depth)
    assert closed is not None and closed.method == "closed_form_depth"
    assert closed.rank > 0
    assert _deep_value(land, closed.weights, depth) == pytest.approx(closed.loss, rel=1e-10)  # attained
    numerical = numerical_minimum(land, depth=depth, n_starts=20)
    _assert_same_minimum(closed, numerical, loss_rtol=1e-6, spec_rtol=1e-5)


# Settings where `numerical_minimum(depth ≥ 2, n_starts=20)` stopped in a local minimum in our runs (whether it
# does depends on floating-point details of the L-BFGS path): the depth-L landscape has a local minimum at 0 for
# every direction and, just past γ*_k, a local minimum at p > 0 with f_k > 0 that random starts fall into.
# The closed form is attained and never above the referee.
DEPTH_LOCAL = [("infonce", 2, 0.3, 5), ("spectral", 3, 0.15, 5)]


@pytest.mark.parametrize(("objective", "depth", "gamma", "d"), DEPTH_LOCAL)
def test_closed_form_attained_and_below_numerical(objective: str, depth: int, gamma: float, d: int) -> None:
    land = _depth_land(objective, depth, gamma, d)
    closed = depth_closed_form_minimum(land, single_product_form(land), depth)
    assert _deep_value(land, closed.weights, depth) == pytest.approx(closed.loss, rel=1e-10)
    assert closed.loss <= numerical_minimum(land, depth=depth, n_starts=2).loss + 1e-9


def _brute_min(a: float, beta2: float, gamma: float, depth: int) -> tuple[float, float]:
    """min over p ≥ 0 of f(p) by a dense log grid, then golden-section refinement (no use of derivatives)."""
    # p* ≥ a(L−1)/(β²(2L−1)) at the threshold: start the grid well below it but away from the barrier at 0
    p = np.geomspace(1e-4 * max(a, 1e-12) / beta2, 10 * max(a, 1e-12) / beta2, 4001)
    f = -a * p + beta2 * p**2 + gamma * depth * p ** (1 / depth)
    i = int(np.argmin(f))
    lo, hi = p[max(i - 1, 0)], p[min(i + 1, p.size - 1)]
    g = (np.sqrt(5) - 1) / 2
    fun = lambda x: -a * x + beta2 * x**2 + gamma * depth * x ** (1 / depth)  # noqa: E731
    for _ in range(80):
        x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
        lo, hi = (lo, x2) if fun(x1) < fun(x2) else (x1, hi)
    x = 0.5 * (lo + hi)
    return (x, fun(x)) if fun(x) < 0 else (0.0, 0.0)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_depth_critical_weight_decay_vs_scan(depth: int) -> None:
    rng = np.random.default_rng(depth)
    a, beta2 = rng.uniform(0.2, 3.0, 6), rng.uniform(0.1, 4.0, 6)
    crit = depth_critical_weight_decay(a, beta2, depth)
    for ak, bk, gk in zip(a, beta2, crit, strict=True):
        # bisection on γ with the brute-force minimum as the oracle
        lo, hi = 0.0, 10 * ak
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if _brute_min(ak, bk, mid, depth)[1] < 0 else (lo, mid)
        assert gk == pytest.approx(0.5 * (lo + hi), rel=1e-6)
    assert depth_critical_weight_decay(np.array([-1.0, 0.0]), np.array([1.0, 1.0]), depth).tolist() == [0, 0]


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_depth_profile_vs_scan(depth: int) -> None:
    rng = np.random.default_rng(10 + depth)
    a, beta2 = rng.uniform(-0.5, 3.0, 8), rng.uniform(0.1, 4.0, 8)
    gamma = 0.3
    p, val = depth_profile(a, beta2, gamma, depth)
    for k in range(a.size):
        bp, bv = _brute_min(a[k], beta2[k], gamma, depth)
        assert val[k] == pytest.approx(bv, rel=1e-9, abs=1e-12)
        assert p[k] == pytest.approx(bp, rel=1e-6, abs=1e-12)


# ---- properties ------------------------------------------------------------------------------------------------
def _random_problem(seed: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g, h = rng.standard_normal((dim, dim)), rng.standard_normal((dim, dim))
    return g @ g.T / dim + 0.05 * np.eye(dim), 0.5 * h @ h.T / dim


def _solve(objective: str, c: np.ndarray, s: np.ndarray, gamma: float, d: int, mean=None):
    data = {"cov": c.tolist()} | ({} if mean is None else {"mean": list(mean)})
    spec = Spec.model_validate({"objective": objective, "data": data, "augmentation": {"noise_cov": s.tolist()},
                                "weight_decay": gamma, "embed_dim": d, "temperature": 0.7,
                                "barlow_lambda": 1.0, "bias": mean is not None})
    land = _land(spec)
    return land, minimum(land)


OBJ = st.sampled_from(["spectral", "infonce", "barlow"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), dim=st.integers(2, 6), obj=OBJ, gfrac=st.floats(0.0, 1.2),
       dfrac=st.floats(0.3, 1.0))
def test_rotation_leaves_spectrum_invariant(seed: int, dim: int, obj: str, gfrac: float, dfrac: float) -> None:
    c, s = _random_problem(seed, dim)
    q, _ = np.linalg.qr(np.random.default_rng(seed + 1).standard_normal((dim, dim)))
    d = max(1, round(dfrac * dim))
    gamma = gfrac * float(np.linalg.eigvalsh(c).max())
    land, m1 = _solve(obj, c, s, gamma, d)
    _, m2 = _solve(obj, q @ c @ q.T, q @ s @ q.T, gamma, d)
    assert m1.method == m2.method == "closed_form"
    top = max(m1.spectrum.max(), 1e-12)
    np.testing.assert_allclose(m2.spectrum, m1.spectrum, atol=1e-9 * top)
    assert m2.loss == pytest.approx(m1.loss, rel=1e-9, abs=1e-12)
    assert m2.rank == m1.rank


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), dim=st.integers(2, 6), obj=OBJ, gfrac=st.floats(0.0, 1.2),
       k=st.floats(0.05, 20.0))
@example(seed=0, dim=3, obj="infonce", gfrac=5e-324, k=0.5)  # subnormal γ: τ·a/γ overflowed to inf (hypothesis)
def test_scaling_moments_scales_thresholds(seed: int, dim: int, obj: str, gfrac: float, k: float) -> None:
    from sslscape.theory.predict import critical_values

    c, s = _random_problem(seed, dim)
    gamma = gfrac * float(np.linalg.eigvalsh(c).max())
    land1, m1 = _solve(obj, c, s, gamma, dim)
    land2, m2 = _solve(obj, k * c, k * s, k * gamma, dim)
    np.testing.assert_allclose(land2.quadratic, k * land1.quadratic, rtol=1e-12, atol=1e-14)
    # every landscape here is −k Tr[ŴAŴᵀ] + k² (quartic): Q = B^{-1/2}(A − γ)B^{-1/2} is unchanged, hence the
    # loss and the embedding spectrum (Ŵ scales by k^{-1/2}, the data covariance by k)
    top = max(m1.spectrum.max(), 1e-12)
    np.testing.assert_allclose(m2.spectrum, m1.spectrum, atol=1e-8 * top)
    assert m2.loss == pytest.approx(m1.loss, rel=1e-8, abs=1e-12)
    spec1 = Spec.model_validate({"objective": obj, "data": {"cov": c.tolist()}, "weight_decay": gamma,
                                 "temperature": 0.7, "augmentation": {"noise_cov": s.tolist()}})
    spec2 = spec1.with_updates(**{"data.cov": (k * c).tolist(), "augmentation.noise_cov": (k * s).tolist(),
                                  "weight_decay": k * gamma})
    t1 = critical_values(spec1, moments_of(spec1), land1)
    t2 = critical_values(spec2, moments_of(spec2), land2)
    np.testing.assert_allclose(t2.critical_weight_decay, k * np.array(t1.critical_weight_decay), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(t2.critical_temperature, t1.critical_temperature, rtol=1e-9)


_NO_CLOSED_FORM = [  # depth-1 landscapes that need the numerical minimum (mixed product/row quartic terms, a bias)
    dict(objective="barlow", barlow_lambda=0.1, weight_decay=0.2),
    dict(objective="barlow", barlow_lambda=0.005, weight_decay=0.05, embed_dim=4),
    dict(objective="infonce", weight_decay=0.3, bias=True, data={"cov": C.tolist(), "mean": MU}),
    dict(objective="barlow", barlow_lambda=0.5, weight_decay=0.1, batch_size=64),
]


@pytest.mark.parametrize("kw", _NO_CLOSED_FORM)
def test_numpy_polynomial_gradient_is_torch_autodiff(kw):
    from sslscape.theory.landscape import quartic_loss
    from sslscape.theory.solve import quartic_value_and_grad

    land = _land(_spec(**kw))
    w = np.random.default_rng(3).standard_normal((3, land.embed_dim, land.input_dim))
    values, grads = quartic_value_and_grad(land, w)
    for k in range(3):
        wt = torch.tensor(w[k], dtype=torch.float64, requires_grad=True)
        loss = quartic_loss(land, wt)
        loss.backward()
        assert values[k] == pytest.approx(loss.item(), rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(grads[k], wt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", _NO_CLOSED_FORM)
def test_depth1_numerical_minimum_matches_torch_lbfgs_from_many_starts(kw):
    # the scipy path (all starts in one call) against 12 independent torch L-BFGS runs on `quartic_loss`
    from sslscape.theory._optim import lbfgs_minimise
    from sslscape.theory.landscape import quartic_loss

    land = _land(_spec(**kw))
    ours = numerical_minimum(land)
    gen = torch.Generator().manual_seed(7)
    scale = float(np.sqrt(np.abs(land.quadratic).max()))
    best = 0.0
    for start in range(12):
        w = ((0.5 if start % 2 == 0 else 2.0) * scale * torch.randn(land.embed_dim, land.input_dim, generator=gen,
                                                                     dtype=torch.float64) / np.sqrt(land.input_dim))
        w.requires_grad_()
        best = min(best, lbfgs_minimise([w], lambda w=w: quartic_loss(land, w), 500, 1e-13, 1e-16))
    assert ours.loss == pytest.approx(best, rel=1e-7, abs=1e-10)
    assert ours.loss <= best + 1e-9 * max(1.0, abs(best))


# commuting landscapes outside the single-product form (raw Barlow Twins with λ < 1 or a finite batch)
def _barlow_diag(c: list[float], s: list[float], lam: float, gamma: float, d: int, batch: int | None) -> Landscape:
    return _land(Spec.model_validate({"objective": "barlow", "barlow_lambda": lam, "weight_decay": gamma,
                                      "embed_dim": d, "batch_size": batch, "data": {"cov": c},
                                      "augmentation": {"noise_cov": s}}))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), dim=st.integers(2, 6), d=st.sampled_from([1, 2, 3, 4]),
       lam=st.floats(0.0, 1.0), gfrac=st.floats(0.0, 1.5), batch=st.sampled_from([None, 8, 64]))
@example(seed=0, dim=4, d=4, lam=0.5, gfrac=0.99999, batch=8)  # one direction barely alive (found by CI)
def test_commuting_minimum_is_the_global_minimum(seed: int, dim: int, d: int, lam: float, gfrac: float,
                                                 batch: int | None) -> None:
    rng = np.random.default_rng(seed)
    c = sorted(rng.uniform(0.1, 3.0, dim), reverse=True)
    land = _barlow_diag(c, list(rng.uniform(0.0, 2.0, dim)), lam, gfrac * 2 * c[0], d, batch)
    found = commuting_minimum(land)
    ref = numerical_minimum(land, n_starts=8)
    if found is None:  # where the bound may not be attained (fewer rows than directions, d = 3) or g is flat (λ = 0)
        assert d < dim or d == 3 or lam < 1e-3
        assert minimum(land).method != "closed_form_commuting"
        return
    assert found.method == "closed_form_commuting"
    # a lower bound on the loss, attained: no start of the numerical minimiser may go below it
    assert found.loss <= ref.loss + 1e-9 * max(abs(ref.loss), 1.0)
    assert found.loss == pytest.approx(ref.loss, rel=1e-6, abs=1e-12)
    # the referee's own precision is absolute (L-BFGS tolerances): near a threshold the top eigenvalue is tiny
    # (1e-5 at γ → 2 c₁) and it is only good to ~1e-8 there
    atol = 1e-4 * max(ref.spectrum.max(), 1e-300) + 1e-8 * max(c)
    np.testing.assert_allclose(found.spectrum, ref.spectrum, atol=atol, rtol=0)
    assert found.rank == ref.rank


def test_commuting_minimum_stacks_rows_and_declines_what_it_cannot_prove() -> None:
    c, s = [3.0, 2.0, 1.5, 1.0, 0.5, 0.2], [1.0] * 6
    land = _barlow_diag(c, s, 0.05, 0.3, 4, 256)
    found, ref = commuting_minimum(land), numerical_minimum(land, n_starts=8)
    assert found is not None and found.rank == ref.rank == 3  # λ ≪ 1: fewer directions than rows
    alive = np.abs(found.weights[:, :3])
    assert np.allclose(alive / alive.max(0), 1.0)  # each row mixes every surviving direction equally
    assert minimum(_barlow_diag(c, s, 0.05, 0.3, 4, 256)).method == "closed_form_commuting"
    # noise that does not commute with C (it enters through the batch): the numerical minimiser answers
    rot = _spec(objective="barlow", barlow_lambda=0.5, weight_decay=0.2, embed_dim=4, batch_size=64)
    assert commuting_minimum(_land(rot)) is None and minimum(_land(rot)).method == "numerical"
    # three directions alive on three rows with row terms: no ±1/√3 orthogonal mixing exists
    assert commuting_minimum(_barlow_diag([1.0] * 3, [0.1] * 3, 0.5, 0.1, 3, None)) is None
