"""The `exact` order: deterministic minimisation of the exact sample loss, the referee of the closed forms.

The population loss E[L_N] of a batch of N pairs is estimated on one fixed Monte-Carlo sample (seeded, so the
answer is deterministic): `n_pairs` data points drawn from N(μ, C) — or resampled from the user's sample file —
with Gaussian noise N(0, S), split into batches of N = `spec.batch_size` (the large-N limit uses N = 512). The
loss is the objective's own function from `sslscape.objectives` (one definition, shared with training) plus
γ Σ_l ‖W_l‖² (the bias is not decayed), minimised with L-BFGS from several starts: each start searched in float32,
the best one polished in float64 to tight tolerances (`precision`).

* Scale-invariant losses (cosine similarity, l2 or batch normalisation) have no minimiser once γ > 0 — the
  weights shrink forever while the direction converges — so they are minimised on the sphere ‖W‖_F = √d, where
  weight decay is a constant and cannot change the answer.
* SimSiam / BYOL have no loss whose minimum is the learned state: their gradient dynamics (stop-gradient,
  linear predictor, EMA target for BYOL) are integrated instead, started like the trainer and run on its
  schedule (`_integrate_predictive`), so that `exact` and training answer the same problem.

Long solves report `progress(done, expected)` and stop after `max_seconds` with the best answer so far
(`converged=False`); `estimate_seconds` says up front about how long. Tests: tests/theory/test_predict.py (the
closed forms reproduced where they hold, the budget), tests/theory/test_exact_dynamics.py (the trainer's start).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..diagnostics.rank import collapse_cut
from ..errors import UserError
from ..io import load_samples
from ..moments import Moments, psd_factor
from ..objectives import PREDICTIVE, byol_loss, logits_with_positive, normalize_embeddings, simsiam_loss, view_loss
from ..objectives.ntxent import ntxent_logits
from ..objectives.registry import STACKABLE, objective
from ..recipe import LARGE_N, LR, PREDICTOR_NOISE, STEPS, cosine_lr, start_scale
from ..spec import Spec
from ._clock import Clock, OutOfTime
from ._optim import deep_shapes, lbfgs_minimise, product
from .solve import embedding_spectrum


@dataclass(frozen=True, kw_only=True)
class ExactSolution:
    weights: np.ndarray            # Ŵ = W_L⋯W_1, bias as the last column when present (d × D̂)
    loss: float
    spectrum: np.ndarray           # predicted eigenvalues of Ŵ Cov(x̂) Ŵᵀ, descending
    rank: int
    positive_weight: float | None  # mean softmax weight p̄ of the positive pair (InfoNCE), else None
    method: str
    converged: bool = True         # False: stopped by the time budget, the best answer so far
    evaluations: int = 0           # loss evaluations (integration steps for SimSiam/BYOL)
    wall_s: float = 0.0


def solution_rank(spectrum: np.ndarray, data_cov: np.ndarray) -> int:
    """Rank of a numerically optimised solution: the collapse rule every measured rank uses (its dead
    directions decay only exponentially), with the data's mean variance as the complete-collapse scale."""
    d = data_cov.shape[0]
    return collapse_cut(spectrum, reference_scale=float(np.trace(data_cov)) / max(d, 1)).rank


def is_scale_invariant(spec: Spec) -> bool:
    """The spec's loss is unchanged by rescaling W (the objectives registry's rule: a normalisation, cosine)."""
    return objective(spec.objective).scale_invariant(spec.similarity, spec.normalization)


def sample_views(spec: Spec, moments: Moments, n_pairs: int, seed: int) -> tuple[torch.Tensor, torch.Tensor,
                                                                                  torch.Tensor]:
    """(clean, view1, view2), each (n_pairs, D) float64: x, x + ε₁, x + ε₂.

    Gaussian data are *moment-matched*: the standard-normal draws for x, ε₁ and ε₂ are jointly centred and
    whitened, so the sample has exactly mean μ, covariance C, noise covariance S and zero cross-covariances.
    The losses whose population value depends on second moments only (spectral; Barlow as N → ∞) are then
    exact on the sample, and the others lose the O(1/√n) second-moment error that otherwise moves directions
    within a few percent of a threshold (seen at noise scale 3: a 0.15 growth rate read as −0.006 on 4,096
    plain draws). A user's sample file is resampled as it is (its moments are the data's).
    """
    gen = np.random.default_rng(seed)
    dim = moments.dim
    if spec.data.samples is not None:
        data = load_samples(spec.data.samples)
        x = data[gen.integers(0, data.shape[0], n_pairs)]
        e1, e2 = (gen.standard_normal((n_pairs, dim)) @ psd_factor(moments.noise_cov).T for _ in range(2))
    else:
        z = gen.standard_normal((n_pairs, 3 * dim))
        z = _whitened(z) if n_pairs > 3 * dim + 1 else z  # whitening needs more draws than columns
        x = moments.mean + z[:, :dim] @ psd_factor(moments.cov).T
        noise = psd_factor(moments.noise_cov)
        e1, e2 = z[:, dim:2 * dim] @ noise.T, z[:, 2 * dim:] @ noise.T
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    return t(x), t(x + e1), t(x + e2)


def _whitened(z: np.ndarray) -> np.ndarray:
    """Columns centred and decorrelated so that zᵀz / n = I exactly (needs n > number of columns)."""
    z = z - z.mean(axis=0)
    chol = np.linalg.cholesky(z.T @ z / z.shape[0])
    return np.linalg.solve(chol, z.T).T



def _pairs(spec: Spec, clean: torch.Tensor, v1: torch.Tensor, v2: torch.Tensor):
    if spec.protocol == "augmented_negatives":
        return v1, v2, None
    return clean, v2, clean


EVALS_PER_START = 60  # loss evaluations an L-BFGS start typically takes here (measured: 45–140)


def _warm_start(spec: Spec, moments: Moments, d: int, dim: int) -> np.ndarray | None:
    """The closed-form minimiser of the nearest expandable problem (the same spec with dot similarity and no
    normalisation), rescaled: a start inside the right basin, so one start usually converges in few steps."""
    from .landscape import landscape
    from .solve import closed_form_minimum, single_product_form

    if spec.depth != 1 or spec.bias or spec.objective not in ("infonce", "ntxent", "spectral", "barlow"):
        return None
    near = spec.with_updates(similarity="dot" if spec.objective in ("infonce", "ntxent") else spec.similarity,
                             normalization="none")
    land = landscape(near, moments)
    b = single_product_form(land) if land.expandable else None
    if b is None:
        return None
    w = closed_form_minimum(land, b).weights
    if not np.any(w) or w.shape != (d, dim):
        return None
    return w


SEARCH_EVALS_PER_START = 40  # float32 evaluations a search start typically takes (L-BFGS stops at float32 noise)
POLISH_EVALS = 40            # float64 evaluations of the final polish (typically 15–60)
PREDICTIVE_SAMPLE = 2048     # pairs of the SimSiam/BYOL sample (their losses have no cross-sample terms)


def estimate_seconds(spec: Spec, moments: Moments, n_pairs: int = 4096, n_starts: int = 3) -> float:
    """About how long `exact_solution` takes: timed loss evaluations × the evaluations it usually needs (within a
    factor of about 2; the machine's load changes it as much)."""
    d, dim = spec.embed_dim or moments.dim, moments.dim
    if spec.objective in PREDICTIVE:
        clean, v1, v2 = sample_views(spec, moments, PREDICTIVE_SAMPLE, spec.seed)
        anchor, positive, _ = _pairs(spec, clean, v1, v2)
        t = time.perf_counter()
        _integrate_predictive(spec, anchor, positive, d, np.eye(dim), steps=20)
        return (time.perf_counter() - t) * STEPS / 20
    clean, v1, v2 = sample_views(spec, moments, n_pairs, spec.seed)
    anchor, positive, negatives = _pairs(spec, clean, v1, v2)
    n = spec.batch_size or LARGE_N
    starts = min(n_starts, 2) if _warm_start(spec, moments, d, dim) is not None else n_starts
    seconds = 0.0
    for dtype, evals in ((torch.float32, SEARCH_EVALS_PER_START * starts), (torch.float64, POLISH_EVALS)):
        factors = [(0.1 * torch.randn(s, dtype=dtype)).requires_grad_() for s in deep_shapes(d, dim, spec.depth)]
        problem = _ExactProblem(spec, anchor.to(dtype), positive.to(dtype),
                                None if negatives is None else negatives.to(dtype), factors,
                                torch.zeros(d, dtype=dtype), n, max(1, n_pairs // n), is_scale_invariant(spec))
        t = time.perf_counter()
        problem.loss().backward()
        seconds += (time.perf_counter() - t) * evals
    return seconds


def exact_solution(spec: Spec, moments: Moments, n_pairs: int = 4096, n_starts: int = 3, max_iter: int = 150,
                   progress: Callable[[int, int], None] | None = None, max_seconds: float | None = None,
                   precision: str = "mixed") -> ExactSolution:
    """Minimise the exact sample loss (see module docstring); deterministic for a given spec.seed.

    The first start is the closed-form minimiser of the nearest expandable problem (`_warm_start`) when there
    is one, the others random. `precision='mixed'` (default) searches every start in float32 (3× cheaper per
    evaluation) and polishes the best one in float64 to the same tolerances as `precision='float64'` (every start
    in float64, the earlier solver; benchmarks/bench_theory.py --exact compares the two). `progress(done,
    expected)` is called per loss evaluation; after `max_seconds` the best answer so far is returned with
    `converged=False`. SimSiam/BYOL: the integrated dynamics (`_integrate_predictive`). Raises UserError for a
    spec with `theory_gaps()` (e.g. a deep BYOL).
    """
    if precision not in ("mixed", "float64"):
        raise ValueError(f"precision must be 'mixed' or 'float64', got {precision!r}")
    gaps = spec.theory_gaps()
    if gaps:  # the integrator is one linear W and a predictor: never answer a different problem silently
        raise UserError(f"the theory cannot answer this spec (training can): {'; '.join(gaps)}")
    dim = moments.dim
    d = spec.embed_dim or dim
    data_cov = moments.cov if not spec.bias else np.pad(moments.cov, ((0, 1), (0, 1)))
    budget = Clock(SEARCH_EVALS_PER_START * n_starts + POLISH_EVALS, progress, max_seconds)
    if spec.objective in PREDICTIVE:
        clean, v1, v2 = sample_views(spec, moments, PREDICTIVE_SAMPLE, spec.seed)
        anchor, positive, _ = _pairs(spec, clean, v1, v2)
        return _integrate_predictive(spec, anchor, positive, d, data_cov, budget)
    torch_gen = torch.Generator().manual_seed(spec.seed)
    clean, v1, v2 = sample_views(spec, moments, n_pairs, spec.seed)
    anchor, positive, negatives = _pairs(spec, clean, v1, v2)
    n = spec.batch_size or LARGE_N
    n_batches = max(1, n_pairs // n)
    scale_inv = is_scale_invariant(spec)
    top = float(np.sqrt(max(np.linalg.eigvalsh(moments.cov).max(), 1e-12)))
    warm = _warm_start(spec, moments, d, dim)
    if warm is not None:  # the warm start lands in the right basin: one random start more is a check, not a search
        n_starts = min(n_starts, 2)
    search = torch.float32 if precision == "mixed" else torch.float64
    budget.expected = (SEARCH_EVALS_PER_START if precision == "mixed" else EVALS_PER_START) * n_starts + (
        POLISH_EVALS if precision == "mixed" else 0)
    cast = lambda t, dt: None if t is None else t.to(dt)  # noqa: E731
    data = {dt: (cast(anchor, dt), cast(positive, dt), cast(negatives, dt)) for dt in {search, torch.float64}}

    def solve(factors: list[torch.Tensor], bias: torch.Tensor, dtype: torch.dtype,
              **tolerances: float) -> tuple[float, _ExactProblem]:
        problem = _ExactProblem(spec, *data[dtype], factors, bias, n, n_batches, scale_inv, budget)
        try:
            value = lbfgs_minimise(factors + ([bias] if spec.bias else []), problem.loss, max_iter, **tolerances)
        except OutOfTime:
            with torch.no_grad():
                value = float(problem.loss(count=False))
        return value, problem

    # float32 stops at its own noise: gradients below 1e-6 and loss changes below 1e-9 carry no information there
    loose = {"tolerance_grad": 1e-6, "tolerance_change": 1e-9} if search == torch.float32 else {}
    best: tuple[float, list[torch.Tensor], torch.Tensor] | None = None
    for start in range(n_starts):
        init = (0.5, 2.0, 1.0)[start % 3]
        factors = [(init * torch.randn(s, generator=torch_gen, dtype=torch.float64) / np.sqrt(s[1])
                    / top ** (1 / spec.depth)).to(search).requires_grad_() for s in deep_shapes(d, dim, spec.depth)]
        if start == 0 and warm is not None:
            factors = [torch.tensor(warm + 1e-3 * np.abs(warm).max() * torch.randn(warm.shape, generator=torch_gen,
                                    dtype=torch.float64).numpy(), dtype=search, requires_grad=True)]
        bias = torch.zeros(d, dtype=search, requires_grad=spec.bias)
        value, problem = solve(factors, bias, search, **loose)
        if search != torch.float64:  # rank the starts by their float64 loss
            with torch.no_grad():
                value = float(_ExactProblem(spec, *data[torch.float64], [f.double() for f in factors], bias.double(),
                                            n, n_batches, scale_inv).loss(count=False))
        if np.isfinite(value) and (best is None or value < best[0]):
            best = (value, [f.detach().clone() for f in factors], bias.detach().clone())
        if budget.out_of_time:
            break
    if best is None:
        raise UserError("every start of the exact solver diverged (a non-finite loss): check the spec's scales "
                        "(variances, temperature, weight decay) — docs/theory.md §6")
    factors = [f.double().requires_grad_() for f in best[1]]
    bias = best[2].double().requires_grad_(spec.bias)
    if search != torch.float64 and not budget.out_of_time:  # polish the best start in float64
        value, problem = solve(factors, bias, torch.float64)
    else:
        value, problem = best[0], _ExactProblem(spec, *data[torch.float64], factors, bias, n, n_batches, scale_inv)
    weights = problem.weights()
    spec_ev = embedding_spectrum(weights, data_cov, d)
    p_bar = (_positive_weight(spec, anchor, positive, negatives, weights, n)
             if spec.objective in ("infonce", "ntxent") else None)
    rank = solution_rank(spec_ev, data_cov)
    return ExactSolution(weights=weights, loss=float(value), spectrum=spec_ev, rank=rank, positive_weight=p_bar,
                         method="exact_lbfgs", converged=not budget.out_of_time, evaluations=budget.done,
                         wall_s=budget.elapsed)


@dataclass
class _ExactProblem:
    """The exact Monte-Carlo objective of one start: embeddings of the fixed sample through the current W."""

    spec: Spec
    anchor: torch.Tensor
    positive: torch.Tensor
    negatives: torch.Tensor | None
    factors: list[torch.Tensor]
    bias: torch.Tensor
    batch: int
    n_batches: int
    scale_invariant: bool
    budget: Clock | None = None

    def product(self) -> torch.Tensor:
        w = product(self.factors)
        return w * np.sqrt(w.shape[0]) / w.norm() if self.scale_invariant else w

    def loss(self, count: bool = True) -> torch.Tensor:
        if count and self.budget is not None:
            self.budget.tick()
        w, b, n = self.product(), self.bias, self.batch
        za, zp = self.anchor @ w.T + b, self.positive @ w.T + b
        zn = None if self.negatives is None else self.negatives @ w.T + b
        if self.spec.objective in STACKABLE:  # all batches in one call: (n_batches, n, d)
            used = self.n_batches * n
            stack = lambda z: None if z is None else z[:used].reshape(self.n_batches, n, -1)  # noqa: E731
            loss = view_loss(self.spec.objective, stack(za), stack(zp), stack(zn), **self.spec.loss_kwargs())
        else:
            loss = sum(view_loss(self.spec.objective, za[i * n:(i + 1) * n], zp[i * n:(i + 1) * n],
                                 None if zn is None else zn[i * n:(i + 1) * n], **self.spec.loss_kwargs())
                       for i in range(self.n_batches)) / self.n_batches
        if not self.scale_invariant:
            loss = loss + self.spec.weight_decay * sum((f * f).sum() for f in self.factors)
        return loss

    def weights(self) -> np.ndarray:
        with torch.no_grad():
            w = self.product()
            w_hat = torch.cat([w, self.bias[:, None]], 1) if self.spec.bias else w
        return w_hat.detach().numpy().copy()


def _positive_weight(spec: Spec, anchor, positive, negatives, weights: np.ndarray, n: int) -> float:
    """Mean softmax weight p̄ of the positive pair at `weights`, over every batch of n pairs of the sample."""
    w = torch.as_tensor(weights[:, : anchor.shape[1]], dtype=anchor.dtype)
    b = torch.as_tensor(weights[:, -1], dtype=anchor.dtype) if spec.bias else 0.0
    k = anchor.shape[0] // n
    stack = lambda x: None if x is None else (x[: k * n] @ w.T + b).reshape(k, n, -1)  # noqa: E731
    z = [stack(anchor), stack(positive), stack(negatives)]
    if spec.normalization != "none":
        z = [None if t is None else normalize_embeddings(t, spec.normalization) for t in z]
    if spec.objective == "ntxent":  # 2N anchors, each against the other 2N − 1 embeddings
        logits, pos = ntxent_logits(z[0], z[1], temperature=spec.temperature, similarity=spec.similarity)
        share = torch.softmax(logits, dim=-1).gather(-1, pos.expand(k, -1)[..., None])
        return float(share.mean())
    logits = logits_with_positive(z[0], z[1], z[2], spec.similarity) / spec.temperature  # (k, n, n)
    return float(torch.softmax(logits, dim=-1).diagonal(dim1=-2, dim2=-1).mean())


# SimSiam/BYOL: the integrated dynamics answer the trainer's problem — compare's recipe (`sslscape.compare`), with
# full-batch gradient descent on the fixed moment-matched sample instead of fresh minibatches and Adam


def trainer_start(spec: Spec, dim: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(W₀, P₀) exactly as the trainer draws them for `spec.seed` (training/loop.py `_Run`, training/models.py:
    one torch.Generator seeded with the seed, W₀ = init_scale · randn(d, D)/√D then P₀ = I + 0.1 randn(d, d)/√d,
    in float32), returned as float64. Replicated here because the theory never imports the trainer; the test
    tests/theory/test_exact_dynamics.py::test_integrator_starts_like_the_trainer compares the two."""
    gen = torch.Generator().manual_seed(spec.seed)
    w = torch.randn(d, dim, generator=gen) * start_scale(spec) / np.sqrt(dim)
    p = torch.eye(d) + PREDICTOR_NOISE * torch.randn(d, d, generator=gen) / np.sqrt(d)
    return w.double(), p.double()


def _integrate_predictive(spec: Spec, anchor: torch.Tensor, positive: torch.Tensor, d: int,
                          data_cov: np.ndarray, budget: Clock | None = None, steps: int = STEPS,
                          lr: float = LR) -> ExactSolution:
    """Gradient dynamics of SimSiam/BYOL with a linear predictor (no loss to minimise), answering the trainer's
    problem: the trainer's start (`trainer_start`), its symmetrised loss (`sslscape.objectives`, the spec's
    similarity) + γ(‖W‖² + ‖P‖²), its cosine learning-rate schedule and step count, the EMA target updated after
    every step (BYOL) — with full-batch gradient descent on the fixed moment-matched sample (`PREDICTIVE_SAMPLE`
    pairs; the losses have no cross-sample terms, so the batch size only sets minibatch noise) instead of
    minibatches and the run's optimiser. Stops when W leaves 1e8 (dot similarity: an escaping direction,
    `dynamics_diverged`).
    """
    dim = anchor.shape[1]
    w0, p0 = trainer_start(spec, dim, d)
    w, pred = w0.clone().requires_grad_(), p0.clone().requires_grad_()
    target = w0.clone()
    sim = spec.similarity  # dot, cosine or euclidean: the similarity training uses
    xa, xp = anchor, positive
    # dot similarity: the symmetrised loss is −tr(W_tᵀ P W X) exactly, X = sym(E_n[x₁x₂ᵀ]) (docs/theory.md §7 (4)),
    # so each step needs only the D×D moment: the same dynamics as autograd on the sample, without the sample
    cross = (xa.T @ xp / xa.shape[0] + xp.T @ xa / xa.shape[0]) / 2 if sim == "dot" else None
    loss = torch.tensor(float("nan"))
    if budget is not None:
        budget.expected = steps
    for step in range(steps):
        if budget is not None:
            try:
                budget.tick()
            except OutOfTime:
                break
        if cross is not None:
            with torch.no_grad():
                w_t = w if spec.objective == "simsiam" else target
                wx = w_t @ cross
                gw = -pred.T @ wx + 2 * spec.weight_decay * w
                gp = -wx @ w.T + 2 * spec.weight_decay * pred
                loss = -(pred * (wx @ w.T)).sum() + spec.weight_decay * ((w * w).sum() + (pred * pred).sum())
        else:
            za, zp = xa @ w.T, xp @ w.T
            if spec.objective == "simsiam":
                loss = simsiam_loss(za @ pred.T, zp @ pred.T, za, zp, similarity=sim)
            else:
                loss = byol_loss(za @ pred.T, zp @ pred.T, xa @ target.T, xp @ target.T, similarity=sim)
            loss = loss + spec.weight_decay * ((w * w).sum() + (pred * pred).sum())
            gw, gp = torch.autograd.grad(loss, [w, pred])
        step_lr = cosine_lr(step, steps, lr)
        with torch.no_grad():
            w -= step_lr * gw
            pred -= step_lr * gp
            target.mul_(spec.ema_decay).add_((1 - spec.ema_decay) * w)
        if not torch.isfinite(w).all() or w.abs().max() > 1e8:
            break
    weights = w.detach().numpy()
    if not np.all(np.isfinite(weights)) or np.abs(weights).max() > 1e8:
        weights = np.nan_to_num(weights, nan=0.0, posinf=1e8, neginf=-1e8)
        method = "dynamics_diverged"
    else:
        method = "dynamics"
    spec_ev = embedding_spectrum(weights, data_cov[:dim, :dim], d)
    rank = solution_rank(spec_ev, data_cov)
    done = budget is None or not budget.out_of_time
    return ExactSolution(weights=weights, loss=float(loss.detach()), spectrum=spec_ev, rank=rank,
                         positive_weight=None, method=method, converged=done,
                         evaluations=budget.done if budget else steps, wall_s=budget.elapsed if budget else 0.0)


# ---- the solver table's rows 'exact_lbfgs' and 'exact_dynamics' (sslscape.theory.solvers; their `covers`: the
# torch-free theory/exact_scope.py, so that planning never imports torch) ----------------------------------------------


def _prediction(spec: Spec, moments: Moments, budget: Any) -> Any:
    from .prediction import capacity_of, make_prediction
    from .solvers import closed_form_thresholds

    thresholds = closed_form_thresholds(spec, moments)
    notes = [f"critical values: the {thresholds.order} order's (the exact solver gives none)"] if thresholds.order \
        else []
    sol = exact_solution(spec, moments, progress=getattr(budget, "progress", None),
                         max_seconds=getattr(budget, "max_seconds", None))
    if sol.method == "dynamics_diverged":
        notes.append("the stop-gradient dynamics diverged (an unnormalised loss with a linear predictor has no "
                     "stable non-zero state): the rank is what the run shows, its fastest direction")
    if not sol.converged:
        notes.append(f"stopped after {sol.wall_s:.1f} s (max_seconds): the best answer so far, not converged "
                     f"({sol.evaluations} evaluations)")
    return make_prediction(spec, alive=sol.rank, spectrum=sol.spectrum, thresholds=thresholds,
                           capacity=capacity_of(spec, moments), notes=notes, method=sol.method, loss=sol.loss,
                           embed_dim=len(sol.spectrum), positive_weight=sol.positive_weight, converged=sol.converged)


def prediction_lbfgs(spec: Spec, moments: Moments, budget: Any = None) -> Any:
    """The exact sample loss minimised (module docstring); `budget` bounds and reports it."""
    return _prediction(spec, moments, budget)


def prediction_dynamics(spec: Spec, moments: Moments, budget: Any = None) -> Any:
    """SimSiam/BYOL: the dynamics integrated from the trainer's start (`_integrate_predictive`)."""
    return _prediction(spec, moments, budget)


def estimate_lbfgs(spec: Spec, moments: Moments) -> float:
    return estimate_seconds(spec, moments)


estimate_dynamics = estimate_lbfgs
