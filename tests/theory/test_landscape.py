"""The quartic landscape (`sslscape.theory.landscape`) against Monte-Carlo estimates of the exact sample losses.

For every expandable case we draw one fixed sample of (x, ε₁, ε₂) — moment-matched, so that the whole sample's
mean and covariance equal (μ, C, S) exactly (a standard variance reduction; the batch statistics still fluctuate
as they do in training) — split it into batches of N, and evaluate the objective's own sample loss
(`sslscape.objectives.view_loss`) at εŴ and at 0 on the *same* samples (common random numbers).

With Δ(ε) = E[L(εŴ)] − E[L(0)], P₄ = `quartic_loss(land, εŴ)` and P₂ its quadratic part, the relative error of
the quartic part r(ε) = (Δ − P₄)/(P₄ − P₂) must behave like f + c ε² (the O(W⁶) remainder over the O(W⁴) part):
we fit f, c over ε² ∈ {ρ, ρ/2, ρ/4, ρ/8} and require the extrapolated |f| (the error of the quartic
coefficient) to be at the Monte-Carlo / O(1/N) floor. At the largest ε the quadratic part alone must be off by
most of the quartic part. A separate, tight check compares the quadratic coefficient at tiny ε, including small
batches where the (1 − 1/N) factor is 6 %. Gradients: autodiff of the Monte-Carlo loss against the gradient of
`quartic_loss`. `test_check_detects_wrong_coefficients` runs the same checks on deliberately wrong landscapes.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pytest
import torch

from sslscape.moments import Moments, moments_of
from sslscape.objectives import view_loss
from sslscape.spec import Spec
from sslscape.theory.landscape import Landscape, QuarticTerm, landscape, quartic_loss

torch.set_num_threads(1)  # the per-batch matmuls are small; threads only contend under `pytest -n 2`

D = 5
RHOS = (0.3, 0.15, 0.075, 0.0375)  # ε² |q₄| / |q₂|: the quartic part is 30 % … 4 % of the quadratic one
RHO_TINY = 1e-4


def _rand_psd(seed: int, dim: int, top: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return (q * (top * np.linspace(1.0, 0.2, dim))) @ q.T


C = np.diag([2.0, 1.5, 1.0, 0.6, 0.3])
S = _rand_psd(7, D, 0.8)  # does not commute with C
MU = [0.5, -0.3, 0.2, 0.0, 0.4]
BASE = {"data": {"cov": C.tolist()}, "augmentation": {"noise_cov": S.tolist()}, "embed_dim": 3}
MEAN_BIAS = {**BASE, "data": {"cov": C.tolist(), "mean": MU}, "bias": True}
AUG, CLEAN = "augmented_negatives", "clean_negatives"

# id -> (spec, batch size N used by the Monte Carlo, number of pairs)
CASES: dict[str, tuple[dict, int, int]] = {
    "infonce-dot-aug": ({**BASE, "objective": "infonce", "similarity": "dot", "protocol": AUG,
                         "temperature": 0.7, "batch_size": 1024}, 1024, 16384),
    "infonce-dot-clean": ({**BASE, "objective": "infonce", "similarity": "dot", "protocol": CLEAN,
                           "temperature": 0.7, "batch_size": 1024}, 1024, 16384),
    "infonce-euc-aug": ({**BASE, "objective": "infonce", "similarity": "euclidean", "protocol": AUG,
                         "temperature": 2.0, "batch_size": 1024}, 1024, 16384),
    "infonce-euc-clean": ({**BASE, "objective": "infonce", "similarity": "euclidean", "protocol": CLEAN,
                           "temperature": 0.7, "batch_size": 1024}, 1024, 16384),
    "infonce-dot-aug-mean-bias": ({**MEAN_BIAS, "objective": "infonce", "similarity": "dot", "protocol": AUG,
                                   "temperature": 0.7, "batch_size": 1024}, 1024, 16384),
    "infonce-euc-clean-mean-bias": ({**MEAN_BIAS, "objective": "infonce", "similarity": "euclidean",
                                     "protocol": CLEAN, "temperature": 0.7, "batch_size": 1024}, 1024, 16384),
    "infonce-dot-aug-symmetric": ({**BASE, "objective": "infonce", "similarity": "dot", "protocol": AUG,
                                   "symmetric": True, "temperature": 1.5, "batch_size": 1024}, 1024, 16384),
    "spectral-aug-N32": ({**BASE, "objective": "spectral", "protocol": AUG, "batch_size": 32}, 32, 16384),
    "spectral-clean-mean-bias": ({**MEAN_BIAS, "objective": "spectral", "protocol": CLEAN, "batch_size": 32},
                                 32, 16384),
    "barlow-lam1-N64": ({**BASE, "objective": "barlow", "barlow_lambda": 1.0, "batch_size": 64}, 64, 65536),
    "barlow-lam0.3-N64": ({**BASE, "objective": "barlow", "barlow_lambda": 0.3, "batch_size": 64}, 64, 65536),
    "barlow-lam0.3-mean-bias": ({**MEAN_BIAS, "objective": "barlow", "barlow_lambda": 0.3}, 4096, 65536),
}

# small batches: the landscape keeps the exact (1 − 1/N) quadratic factor but drops O(1/N) quartic corrections,
# so only the quadratic coefficient is checked (tightly: 1/N = 6 %, tolerance 0.2 %)
SMALL_N_CASES: dict[str, tuple[dict, int, int]] = {
    "infonce-dot-aug-N16": ({**BASE, "objective": "infonce", "similarity": "dot", "protocol": AUG,
                             "temperature": 0.7, "batch_size": 16}, 16, 65536),
    "infonce-euc-clean-N16": ({**BASE, "objective": "infonce", "similarity": "euclidean", "protocol": CLEAN,
                               "temperature": 0.7, "batch_size": 16}, 16, 65536),
    "infonce-dot-clean-mean-bias-N16": ({**MEAN_BIAS, "objective": "infonce", "similarity": "dot",
                                         "protocol": CLEAN, "temperature": 0.7, "batch_size": 16}, 16, 65536),
}


# ---- Monte Carlo of the exact sample loss ----------------------------------------------------------------------
def _factor(cov: np.ndarray) -> np.ndarray:
    lam, u = np.linalg.eigh(cov)
    return u * np.sqrt(np.clip(lam, 0.0, None))


def moment_matched_views(moments: Moments, n: int, seed: int, bias: bool) -> tuple[torch.Tensor, ...]:
    """(clean, view1, view2), float64 (n, D̂); the sample mean/covariance of (x, ε₁, ε₂) are exactly (μ, C, S)."""
    rng = np.random.default_rng(seed)
    dim = moments.dim
    z = rng.standard_normal((n, 3 * dim))
    z -= z.mean(0)
    z = np.linalg.solve(np.linalg.cholesky(z.T @ z / n), z.T).T  # empirical covariance exactly I
    x = moments.mean + z[:, :dim] @ _factor(moments.cov).T
    fs = _factor(moments.noise_cov)
    e1, e2 = z[:, dim:2 * dim] @ fs.T, z[:, 2 * dim:] @ fs.T

    def hat(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.hstack([a, np.ones((n, 1))]) if bias else a)

    return hat(x), hat(x + e1), hat(x + e2)


def batch_losses(spec: Spec, views: tuple[torch.Tensor, ...], w: torch.Tensor, n_batch: int) -> torch.Tensor:
    """The objective's exact sample loss of every batch at encoder Ŵ (embedding z = Ŵ x̂)."""
    clean, v1, v2 = views
    a, p, c = (v1, v2, None) if spec.protocol == AUG else (clean, v2, clean)
    za, zp = a @ w.T, p @ w.T
    zc = None if c is None else c @ w.T
    out = []
    for i in range(za.shape[0] // n_batch):
        sl = slice(i * n_batch, (i + 1) * n_batch)
        out.append(view_loss(spec.objective, za[sl], zp[sl], None if zc is None else zc[sl], **spec.loss_kwargs()))
    return torch.stack(out)


def quadratic_part(land: Landscape) -> Landscape:
    return dataclasses.replace(land, terms=())


@dataclasses.dataclass(frozen=True)
class Problem:
    spec: Spec
    land: Landscape
    views: tuple[torch.Tensor, ...]
    w0: torch.Tensor
    n_batch: int

    def eps_for(self, land: Landscape, rho: float) -> float:
        q2 = float(quartic_loss(quadratic_part(land), self.w0))
        q4 = float(quartic_loss(land, self.w0)) - q2
        return math.sqrt(rho * abs(q2) / abs(q4))


@functools.cache
def problem(case: str) -> Problem:
    raw, n_batch, n = {**CASES, **SMALL_N_CASES}[case]
    spec = Spec.model_validate(raw)
    moments = moments_of(spec)
    land = landscape(spec, moments)
    assert land.expandable, land.reason
    w0 = torch.as_tensor(np.random.default_rng(1).standard_normal((land.embed_dim, land.input_dim)))
    return Problem(spec, land, moment_matched_views(moments, n, seed=0, bias=spec.bias), w0, n_batch)


@functools.cache
def loss_at_zero(case: str) -> torch.Tensor:
    pb = problem(case)
    return batch_losses(pb.spec, pb.views, 0 * pb.w0, pb.n_batch)


def expansion_errors(case: str, land: Landscape) -> dict[str, np.ndarray]:
    """Monte-Carlo Δ(ε) against the landscape `land` (which may be a deliberately perturbed one)."""
    pb = problem(case)
    base = loss_at_zero(case)
    eps = np.array([pb.eps_for(land, r) for r in RHOS])
    mc, p4, p2 = (np.empty(len(RHOS)) for _ in range(3))
    for k, e in enumerate(eps):
        w = e * pb.w0
        mc[k] = float((batch_losses(pb.spec, pb.views, w, pb.n_batch) - base).mean())
        p4[k], p2[k] = float(quartic_loss(land, w)), float(quartic_loss(quadratic_part(land), w))
    rel = (mc - p4) / (p4 - p2)  # error relative to the quartic part
    # rel ≈ f + c ε²: f is the relative error of the quartic coefficient, c ε² the O(W⁶) remainder
    design = np.stack([np.ones_like(eps), eps**2], 1)
    (f, c), *_ = np.linalg.lstsq(design, rel, rcond=None)
    return {"eps": eps, "mc": mc, "p4": p4, "p2": p2, "rel": rel, "intercept": np.array(f),
            "residual": rel - design @ np.array([f, c]), "quad_only": (mc - p2) / (p4 - p2)}


def tolerances(case: str) -> tuple[float, float]:
    """(quartic, quadratic) relative tolerances: spectral and Barlow are exactly quartic in expectation (any N)."""
    exact = problem(case).spec.objective in ("spectral", "barlow")
    return (5e-3, 1e-5) if exact else (0.04, 2e-3)


def expansion_ok(case: str, r: dict[str, np.ndarray]) -> bool:
    tol = tolerances(case)[0]
    return bool(abs(r["intercept"]) < tol and np.abs(r["residual"]).max() < 0.02 and abs(r["rel"][0]) < 0.3
                and abs(r["rel"][-1]) < max(0.06, tol))


def quadratic_rel_error(case: str, land: Landscape) -> float:
    pb = problem(case)
    w = pb.eps_for(pb.land, RHO_TINY) * pb.w0
    mc = float((batch_losses(pb.spec, pb.views, w, pb.n_batch) - loss_at_zero(case)).mean())
    return (mc - float(quartic_loss(land, w))) / float(quartic_loss(quadratic_part(land), w))


# ---- tests -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_quartic_matches_exact_loss(case: str) -> None:
    r = expansion_errors(case, problem(case).land)
    msg = {k: np.round(v, 5).tolist() for k, v in r.items()}
    tol = tolerances(case)[0]
    assert abs(r["intercept"]) < tol, f"quartic coefficient off by {float(r['intercept']):+.4f}: {msg}"
    assert np.abs(r["residual"]).max() < 0.02, f"remainder does not shrink like ε²: {msg}"
    assert abs(r["rel"][0]) < 0.3 and abs(r["rel"][-1]) < 0.06, msg
    # the quadratic part alone misses most of the quartic part at the largest ε (so the check can fail)
    assert abs(r["quad_only"][0]) > 0.7, msg


@pytest.mark.parametrize("case", list(CASES) + list(SMALL_N_CASES))
def test_quadratic_coefficient(case: str) -> None:
    rel = quadratic_rel_error(case, problem(case).land)
    assert abs(rel) < tolerances(case)[1], f"quadratic coefficient off by {rel:+.2e} relative"


@pytest.mark.parametrize("case", list(CASES))
def test_loss_at_collapse(case: str) -> None:
    pb = problem(case)
    value = float(loss_at_zero(case).mean())
    expected = {"infonce": math.log(pb.n_batch), "barlow": float(pb.land.embed_dim), "spectral": 0.0}
    assert value == pytest.approx(expected[pb.spec.objective], abs=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_gradient_matches_autograd(case: str) -> None:
    """At ε where the quartic part is 2 % of the quadratic one (the euclidean O(W⁶) remainder is then ~3 %)."""
    pb = problem(case)
    w = (pb.eps_for(pb.land, 0.02) * pb.w0).clone().requires_grad_()
    (g_mc,) = torch.autograd.grad(batch_losses(pb.spec, pb.views, w, pb.n_batch).mean(), w)
    (g4,) = torch.autograd.grad(quartic_loss(pb.land, w), w)
    (g2,) = torch.autograd.grad(quartic_loss(quadratic_part(pb.land), w), w)

    def cos(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a * b).sum() / (a.norm() * b.norm()))

    assert cos(g_mc, g4) > 0.99999
    # the quartic part of the gradient on its own: direction and size
    assert cos(g_mc - g2, g4 - g2) > 0.999
    assert float((g_mc - g2).norm() / (g4 - g2).norm()) == pytest.approx(1.0, abs=0.05)


def test_weight_decay_spares_the_bias() -> None:
    pb = problem("infonce-dot-aug-mean-bias")
    land = dataclasses.replace(pb.land, weight_decay=0.37)
    w = pb.w0
    extra = quartic_loss(land, w) - quartic_loss(pb.land, w)
    assert float(extra) == pytest.approx(0.37 * float((w[:, :-1] ** 2).sum()), rel=1e-12)


def test_documented_quadratic_coefficients() -> None:
    """docs/theory.md examples: A = C/τ (dot), (2C − S)/(2τ) (euclidean, clean), 2C (spectral), 2C (Barlow)."""
    tau, s_cov = 0.7, S
    mom = Moments(cov=C, mean=np.zeros(D), noise_cov=s_cov)

    def quad(**kw: object) -> np.ndarray:
        return landscape(Spec.model_validate({**BASE, **kw}), mom).quadratic

    np.testing.assert_allclose(quad(objective="infonce", temperature=tau), C / tau, atol=1e-12)
    np.testing.assert_allclose(quad(objective="infonce", temperature=tau, protocol=CLEAN), C / tau, atol=1e-12)
    np.testing.assert_allclose(quad(objective="infonce", similarity="euclidean", temperature=tau),
                               C / tau, atol=1e-12)
    np.testing.assert_allclose(quad(objective="infonce", similarity="euclidean", protocol=CLEAN,
                                    temperature=tau), (2 * C - s_cov) / (2 * tau), atol=1e-12)
    np.testing.assert_allclose(quad(objective="infonce", temperature=tau, batch_size=8), (7 / 8) * C / tau,
                               atol=1e-12)
    np.testing.assert_allclose(quad(objective="spectral"), 2 * C, atol=1e-12)
    np.testing.assert_allclose(quad(objective="barlow", barlow_lambda=0.2), 2 * C, atol=1e-12)


NOT_EXPANDABLE = {
    "vicreg": {"objective": "vicreg"},
    "infonce-cosine": {"objective": "infonce", "similarity": "cosine"},
    "infonce-l2": {"objective": "infonce", "normalization": "l2"},
    "infonce-batchnorm": {"objective": "infonce", "normalization": "batch"},
    "spectral-l2": {"objective": "spectral", "normalization": "l2"},
    "barlow-standardised": {"objective": "barlow", "normalization": "batch"},
    "simsiam": {"objective": "simsiam"},
    "byol": {"objective": "byol"},
}


@pytest.mark.parametrize("case", list(NOT_EXPANDABLE))
def test_not_expandable(case: str) -> None:
    spec = Spec.model_validate({**BASE, **NOT_EXPANDABLE[case]})
    land = landscape(spec, moments_of(spec))
    assert not land.expandable
    assert land.reason
    assert land.terms == ()


# ---- the checks above can fail -----------------------------------------------------------------------------------
def _scaled_terms(land: Landscape, factor: float, index: int | None = None) -> Landscape:
    terms = tuple(QuarticTerm(t.kind, t.coef * (factor if index in (None, k) else 1.0), t.x, t.y)
                  for k, t in enumerate(land.terms))
    return dataclasses.replace(land, terms=terms)


@pytest.mark.parametrize(("case", "perturb"), [
    ("infonce-dot-aug", lambda land: _scaled_terms(land, 1.15)),
    ("infonce-euc-clean", lambda land: _scaled_terms(land, 0.0, index=1)),  # drop ½ Tr K_c²
    ("spectral-aug-N32", lambda land: _scaled_terms(land, 0.98)),
    ("barlow-lam0.3-N64", lambda land: dataclasses.replace(land, terms=land.terms[:2])),  # no finite-batch terms
])
def test_check_detects_wrong_quartic(case: str, perturb) -> None:
    assert expansion_ok(case, expansion_errors(case, problem(case).land))
    assert not expansion_ok(case, expansion_errors(case, perturb(problem(case).land)))


@pytest.mark.parametrize("case", ["infonce-dot-aug-N16", "infonce-euc-clean-N16"])
def test_check_detects_missing_batch_factor(case: str) -> None:
    land = problem(case).land
    wrong = dataclasses.replace(land, quadratic=land.quadratic / (1 - 1 / problem(case).n_batch))
    assert abs(quadratic_rel_error(case, wrong)) > 2e-2


# ---- consistency of `expandable` with the exact sample loss ------------------------------------------------------
# A landscape without an expansion at W = 0 is justified by a scale-invariant loss (L(2z) = L(z)); a loss that is
# not scale-invariant (and smooth at 0) has the expansion. VICReg (hinge) and SimSiam/BYOL are left out.
SCALE_CASES = [("infonce", "dot", "none"), ("infonce", "euclidean", "none"), ("infonce", "cosine", "none"),
               ("infonce", "dot", "l2"), ("infonce", "dot", "batch"), ("spectral", "dot", "none"),
               ("spectral", "dot", "l2"), ("barlow", "dot", "none"), ("barlow", "dot", "batch"),
               ("barlow", "dot", "l2")]


def test_similarity_rejected_where_it_does_not_apply() -> None:
    """spectral_loss is defined with dot products; a 'cosine' similarity there used to be silently ignored while
    landscape() called it not expandable (now the spec rejects it)."""
    from sslscape.spec import SpecError

    with pytest.raises((SpecError, ValueError)):
        Spec.model_validate({**BASE, "objective": "spectral", "similarity": "cosine"})


@pytest.mark.parametrize(("objective", "similarity", "normalization"), SCALE_CASES)
def test_expandable_iff_loss_not_scale_invariant(objective: str, similarity: str, normalization: str) -> None:
    spec = Spec.model_validate({**BASE, "objective": objective, "similarity": similarity,
                                "normalization": normalization})
    gen = torch.Generator().manual_seed(0)
    za, zp = torch.randn(64, 3, generator=gen, dtype=torch.float64), torch.randn(64, 3, generator=gen,
                                                                                 dtype=torch.float64)
    kw = spec.loss_kwargs()
    invariant = math.isclose(float(view_loss(spec.objective, 2 * za, 2 * zp, **kw)),
                             float(view_loss(spec.objective, za, zp, **kw)),
                             rel_tol=1e-3)
    assert landscape(spec, moments_of(spec)).expandable == (not invariant)
