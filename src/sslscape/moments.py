"""Moments the theory needs: C, μ, S of a spec, and the cross-view moments of a real augmentation pipeline.

**A spec's moments** (`moments_of`): data covariance C (D×D), mean μ (D,) and augmentation noise covariance
S = noise_scale · noise_cov (D×D), from the spec's `data.cov`/`data.mean`, its sample file (sample mean and
biased covariance) or its moments file (`data.moments`, written by `sslscape estimate`: C = A, μ = μ_v, S = B − A).

**A real augmentation's moments** (`augmentation_moments`): for views x′ = a₁(x), x″ = a₂(x) (independent draws
of the pipeline's two views, `sslscape.augment` — the definitions training uses)

    μ_v = E[x′],   A = E[(x′ − μ₁)(x″ − μ₂)ᵀ]  (cross-view covariance, symmetrised),   B = E[(x′ − μ₁)(x′ − μ₁)ᵀ]

(for BYOL's two different views: μ_v and B are the average of the two views'); the spec written from them has
data.cov = A, data.mean = μ_v, augmentation.noise_cov = S = B − A (as for additive noise, where A = C, S = σ²I).
They are computed by the structure of the maps (docs/augmentations.md, "How estimate computes the moments"):

1. One pass over the data, in chunks: the second moment C₂ = E[x xᵀ] and mean μ₀ (n·D² work, O(D²) memory).
2. The linear part of each view is a random linear map M_θ of the pixels (flips, shifts, crops, blur, jitter,
   grayscale), so with M̄ = E_θ[M_θ] and Σ₀ = C₂ − μ₀μ₀ᵀ
       Cov(x′, x″) = M̄₁ Σ₀ M̄₂ᵀ,   E[x′x′ᵀ] = E_θ[M_θ C₂ M_θᵀ],   μ_v = M̄ μ₀        — exact in the data.
   *finite* (only flips and zero-filled shifts: T maps Pₜ, partial permutations): all three exact, by gathers of
   C₂'s rows and columns, T·D² work (`method` 'exact'). *Random* (crops, blur, jitter, grayscale): the ops'
   parameters are independent, so M̄ = M̄_k ⋯ M̄_1 with each op's own exact mean map (`Op.mean_apply`: the crop's
   box distribution by quadrature, blur's σ by Gauss–Legendre, jitter at its mean factors), applied to the rows of
   Σ₀ read as images: A and μ_v exact; E[M C₂ Mᵀ] from `draws` drawn maps per half, each applied to the D rows of
   C₂ (R = C₂ M_θᵀ, then M_θ R) — no loop over images ('mean_maps'; B's floor `view_floor` from two halves).
3. Nonlinear ops (clip, solarize) act with probability p: the branch where none acts (probability q = Π(1 − p))
   is step 2, weighted by q₁q₂ (A) or q (B, μ); the rest is Monte-Carlo over images: `pairs` view pairs per
   image whose nonlinear op fired, accumulated in two halves ('…+monte_carlo'; `mc=True`: everything by
   Monte-Carlo, 'monte_carlo', as before issue 21). Pixel noise adds σ² I to B.
The noise floor is ‖Â₁ − Â₂‖₂ / 2 over the two halves (0 when exact); eigenvalues of A below it are flagged: a
sampled estimate biases small eigenvalues upward (spreading, +60 % at the 20th and ×14 at the 50th with 8 pairs
per image on Fashion-MNIST), and both halves share the bias.
Tests: tests/test_moments.py (each op and compositions against the brute-force loop over explicit maps: exact to
1e-12 for finite mixtures and for the same drawn maps, within the floor against Monte-Carlo over images).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ._lazy import torch  # numpy is all `moments_of`, `predict` and the exact moments need
from .errors import UserError
from .spec import Spec, SpecLike, as_spec, covariance_matrix

if TYPE_CHECKING:
    from pathlib import Path

    from .augment import Op, Pipeline, View
    from .datasets import Images

Progress = Callable[[float, float], None]


@dataclass(frozen=True)
class Moments:
    """First two moments of data and augmentation: C (D×D), μ (D,), S = noise_scale · noise_cov (D×D)."""

    cov: np.ndarray = field(repr=False)
    mean: np.ndarray = field(repr=False)
    noise_cov: np.ndarray = field(repr=False)

    @property
    def dim(self) -> int:
        return self.cov.shape[0]

    def with_noise(self, noise_cov: np.ndarray) -> Moments:
        return Moments(self.cov, self.mean, noise_cov)


def psd_factor(cov: np.ndarray) -> np.ndarray:
    """L with L Lᵀ = cov from the eigen-decomposition (works for singular PSD matrices, unlike Cholesky)."""
    lam, vec = np.linalg.eigh((cov + cov.T) / 2)
    return vec * np.sqrt(np.clip(lam, 0.0, None))[None, :]


def psd_project(matrix: np.ndarray) -> np.ndarray:
    """The nearest (Frobenius) PSD matrix: negative eigenvalues clipped to 0 (a Monte-Carlo estimate's noise)."""
    lam, vec = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vec * np.clip(lam, 0.0, None)) @ vec.T


def unit_noise_cov(spec: Spec, dim: int) -> np.ndarray:
    """The augmentation's `noise_cov` as a (dim, dim) matrix, before `noise_scale` multiplies it."""
    noise = spec.augmentation.noise_cov
    if noise is None:
        return np.zeros((dim, dim))
    mat = covariance_matrix(noise, "augmentation.noise_cov")
    if mat.shape != (dim, dim):
        raise UserError(f"augmentation.noise_cov is {mat.shape[0]}-dimensional but the data is {dim}-dimensional; "
                        f"give {dim} entries (vector) or a {dim}×{dim} matrix")
    return mat


def moments_of(spec: SpecLike) -> Moments:
    """C, μ and S of a spec (a Spec, a dict or a spec file path: `sslscape.spec.as_spec`; module docstring); a
    sample file is read with `sslscape.io.load_samples`, a moments file with `load_moments_file`."""
    spec = as_spec(spec)
    if spec.data.moments is not None:  # symmetrised as a spec's inline matrices are (`covariance_matrix`)
        m = load_moments_file(spec.data.moments).as_moments()
        sym = lambda a: (a + a.T) / 2  # noqa: E731
        return Moments(cov=sym(m.cov), mean=m.mean, noise_cov=spec.augmentation.noise_scale * sym(m.noise_cov))
    if spec.data.samples is not None:
        from .io import load_samples

        x = load_samples(spec.data.samples)
        cov = np.atleast_2d(np.cov(x, rowvar=False, bias=True))
        mean = x.mean(axis=0)
    else:
        cov = covariance_matrix(spec.data.cov, "data.cov")  # type: ignore[arg-type]
        mean = np.zeros(cov.shape[0]) if spec.data.mean is None else np.asarray(spec.data.mean, float)
    return Moments(cov=cov, mean=mean, noise_cov=spec.augmentation.noise_scale * unit_noise_cov(spec, cov.shape[0]))


# ---- the moments of a real augmentation pipeline ---------------------------------------------------------------

EXACT, MEAN_MAPS, MONTE_CARLO = "exact", "mean_maps", "monte_carlo"


@dataclass(frozen=True, kw_only=True)
class AugmentationMoments:
    """μ_v, A and B of images under an augmentation pipeline (module docstring).

    method        'exact' (finite mixtures: A, B, μ exact) | 'mean_maps' (random linear maps: A, μ exact through
                  the mean maps, B from drawn maps) | 'monte_carlo', or 'exact+monte_carlo' / 'mean_maps+monte_carlo'
                  (the linear branch one way, the nonlinear ops' branch by Monte-Carlo)
    noise_floor   ‖Â₁ − Â₂‖₂ / 2 over two independent halves (0 when A is exact); below_floor: eigenvalues of A
                  under it; `resolved` = the rest; view_floor: the same for B
    shape         the images' (C, H, W) ((D,) for vectors); read_as: how the input's axes were read
    draws         drawn maps per view and half (random linear maps), pairs: Monte-Carlo view pairs per image
    nonlinear_weight   the probability that a nonlinear op acts in either view (A's Monte-Carlo share)
    """

    dataset: str
    pipeline: str
    n_images: int
    dim: int
    method: str
    mean: np.ndarray = field(repr=False)
    cross_cov: np.ndarray = field(repr=False)  # A
    view_cov: np.ndarray = field(repr=False)  # B
    noise_floor: float  # 0 for exact
    eigenvalues: np.ndarray = field(repr=False)  # of A, descending
    below_floor: int  # eigenvalues of A under the noise floor
    view_floor: float = 0.0  # ‖B̂₁ − B̂₂‖₂ / 2 (B from drawn maps or Monte-Carlo)
    shape: tuple[int, ...] | None = None
    read_as: str = ""
    draws: int = 0
    pairs: int = 0
    nonlinear_weight: float = 0.0

    @property
    def resolved(self) -> int:
        """Eigenvalues of A above the noise floor — when A is exact, above its rounding (λ₁·D·ε, numpy's
        matrix_rank rule): a predicted rank above this rests on directions the moments do not resolve
        ('uncertain', as `sslscape projector` says)."""
        eig = np.asarray(self.eigenvalues)
        if self.noise_floor > 0:
            return int(np.sum(eig > self.noise_floor))
        top = float(eig.max()) if eig.size else 0.0
        return int(np.sum(eig > max(top, 0.0) * eig.size * np.finfo(float).eps))

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("mean", "cross_cov", "view_cov", "eigenvalues")}
        d["shape"] = None if self.shape is None else list(self.shape)
        d["resolved"] = self.resolved
        d["eigenvalues_top"] = [float(v) for v in self.eigenvalues[:20]]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def as_moments(self) -> Moments:
        """The theory's C, μ, S: C = A, S = B − A, projected onto the PSD cone — except for exact moments, where
        both are PSD by construction (A = M Σ₀ Mᵀ, B − A = ½E[(x′ − x″)(x′ − x″)ᵀ]) up to rounding and are only
        symmetrised (as a spec's inline covariance is)."""
        a, s = self.cross_cov, self.view_cov - self.cross_cov
        if self.method == EXACT:
            return Moments((a + a.T) / 2, self.mean, (s + s.T) / 2)
        return Moments(psd_project(a), self.mean, psd_project(s))

    def spec_dict(self, objective: str, weight_decay: float, embed_dim: int | None = None) -> dict[str, Any]:
        """A spec with data.cov = A, data.mean = μ_v and augmentation.noise_cov = B − A (inline matrices; `sslscape
        estimate` writes `{"data": {"moments": FILE}}` instead)."""
        m = self.as_moments()
        spec: dict[str, Any] = {"objective": objective, "data": {"cov": m.cov.tolist(), "mean": m.mean.tolist()},
                                "augmentation": {"noise_cov": m.noise_cov.tolist()}, "weight_decay": weight_decay}
        if embed_dim:
            spec["embed_dim"] = embed_dim
        return spec


def _chunk_rows(dim: int, budget: int = 1 << 22) -> int:
    """Rows per chunk so that one float64 chunk holds about `budget` numbers (32 MB)."""
    return max(64, budget // max(dim, 1))


def second_moment(images: Images, progress: Progress | None = None, done: float = 0.0,
                  total: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(C₂ = E[x xᵀ] (D, D), μ₀ = E[x] (D,)) of the images, streamed in chunks (float64; uint8 images are summed as
    integers — exact — and scaled once at the end)."""
    n, dim = images.n, images.dim
    c2, s = np.zeros((dim, dim)), np.zeros(dim)
    step = _chunk_rows(dim)
    for start in range(0, n, step):
        r = images.rows(start, min(n, start + step), scaled=False)
        c2 += r.T @ r  # BLAS syrk: the Gram is the one n·D² cost of the exact route
        s += r.sum(0)
        if progress is not None:
            progress(done + min(n, start + step), total)
    return c2 * (images.scale ** 2 / n), s * (images.scale / n)


def finite_maps(ops: tuple[Op, ...], shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The T maps of a view made of finite ops only: (index (T, D) with −1 = zero fill, weights (T,)); map t is the
    composition of one map of each op (applied in order), its weight the product of theirs."""
    dim = math.prod(shape)
    index, weight = np.arange(dim)[None], np.ones(1)
    for op in ops:
        idx, w = op.maps(shape)  # type: ignore[attr-defined]
        idx, w = idx[w > 0], w[w > 0]
        # x → P₁x → P₂P₁x: (P₂P₁x)[d] = (P₁x)[idx₂[d]] = x[idx₁[idx₂[d]]]; column D of `prev` is the zero
        prev = np.concatenate([index, np.full((len(index), 1), -1)], 1)
        index = prev[:, np.where(idx < 0, dim, idx)].reshape(-1, dim)  # (T₁, T₂, D) → (T₁·T₂, D)
        weight = (weight[:, None] * w[None, :]).ravel()
    return index, weight


def _mean_map(index: np.ndarray, weight: np.ndarray) -> Any:
    """M = Σₜ wₜ Pₜ as a sparse (D, D) matrix (CSR; at most T entries per row; zero fill = no entry)."""
    from scipy.sparse import csr_matrix

    t, dim = index.shape
    rows, cols, vals = np.tile(np.arange(dim), t), index.ravel(), np.repeat(weight, dim)
    keep = cols >= 0
    return csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(dim, dim))


def _exact_linear(c2: np.ndarray, mu0: np.ndarray, maps: tuple[tuple[np.ndarray, np.ndarray], ...],
                  symmetric: bool) -> dict[str, Any]:
    """M₁ Σ₀ M₂ᵀ (Σ₀ = C₂ − μ₀μ₀ᵀ), E[x_v x_vᵀ] = Σₜ wₜ Pₜ C₂ Pₜᵀ and E[x_v] = M_v μ₀ of finite mixtures of
    gathers Pₜ (M = Σₜ wₜ Pₜ, sparse), by sparse products and gathers of C₂'s rows and columns: T·D² work, exact."""
    dim = c2.shape[0]
    c2p = np.zeros((dim + 1, dim + 1))  # row and column D are the zero fill
    c2p[:dim, :dim] = c2
    mbar = [_mean_map(*m) for m in maps]
    means = [m @ mu0 for m in mbar]
    seconds = []
    for index, weight in (maps[:1] if symmetric else maps):
        idx = np.where(index < 0, dim, index)
        seconds.append(sum(w * np.take(np.take(c2p, i, axis=0), i, axis=1) for i, w in zip(idx, weight, strict=True)))
    cross = mbar[0] @ np.asarray(mbar[1] @ c2).T  # M₁ (M₂ C₂)ᵀ = M₁ C₂ M₂ᵀ
    cross -= np.outer(means[0], means[1])  # = M₁ Σ₀ M₂ᵀ (exact)
    return {"cross": cross, "second": seconds * 2 if symmetric else seconds, "mean": means}


def _mean_rows(ops: tuple[Op, ...], z: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Z M̄ᵀ: each row of z (m, D) read as an image, mapped by the ops' mean map (`sslscape.augment.mean_ops`)."""
    from .augment import mean_ops

    m, dim = z.shape
    out = torch.empty_like(z)
    step = _chunk_rows(dim)
    for s in range(0, m, step):
        out[s:s + step] = mean_ops(ops, z[s:s + step].reshape(-1, *shape)).reshape(-1, dim)
    return out


def _random_linear(c2: torch.Tensor, mu0: torch.Tensor, views: tuple[tuple[Op, ...], tuple[Op, ...]],
                   symmetric: bool, shape: tuple[int, ...], draws: int, gen: torch.Generator,
                   tick: Callable[[float], None]) -> list[dict[str, Any]]:
    """Two halves of {cross: M̄₁ Σ₀ M̄₂ᵀ, second: [E M C₂ Mᵀ per view], mean: [M̄_v μ₀]} for random linear maps
    (module docstring, step 2). The ops' parameters are independent, so M̄ = M̄_k ⋯ M̄_1 with each op's exact mean
    map: A and μ_v are exact (identical halves); E[M C₂ Mᵀ] averages `draws` drawn maps per half and view."""
    from .augment import apply_ops

    ops1, ops2 = views
    sigma0 = c2 - torch.outer(mu0, mu0)
    y = _mean_rows(ops2, sigma0, shape)  # Σ₀ M̄₂ᵀ
    cross = _mean_rows(ops1, y.T.contiguous(), shape).T  # (M̄₂ Σ₀ M̄₁ᵀ)ᵀ = M̄₁ Σ₀ M̄₂ᵀ
    means = [_mean_rows(ops, mu0[None], shape)[0] for ops in (ops1, ops2)]
    tick(2.0)

    dim = c2.shape[0]
    group = max(1, (1 << 22) // (dim * dim))  # draws applied in one batched call (their rows stacked)

    def second(ops: tuple[Op, ...]) -> torch.Tensor:
        """E[M C₂ Mᵀ] = E[M Σ₀ Mᵀ] + E[(Mμ₀)(Mμ₀)ᵀ]: the first from `draws` maps, each applied to the D rows of Σ₀
        (`group` draws per call, each θ repeated over its D rows); the second (the mean image's spread, which
        dominates C₂) from MEAN_DRAWS maps of μ₀ at once — so the data mean adds no noise of its own."""
        out = torch.zeros_like(c2)
        for start in range(0, draws, group):
            b = min(group, draws - start)
            th = [op.sample(b, gen, shape, "cpu") for op in ops]
            if b > 1:  # θ row i for the D rows of draw i (one row alone applies to every row: the ops' fast path)
                th = [{k: v.repeat_interleave(dim) for k, v in t.items()} for t in th]
            r = apply_ops(ops, sigma0.repeat(b, 1).reshape(-1, *shape), th).reshape(b, dim, dim)  # Σ₀ M_θᵀ
            rt = r.transpose(1, 2).reshape(-1, *shape)  # M_θ Σ₀, row by row
            out += apply_ops(ops, rt, th).reshape(b, dim, dim).sum(0)  # M_θ Σ₀ M_θᵀ
            tick(2.0 * b)
        th = [op.sample(MEAN_DRAWS, gen, shape, "cpu") for op in ops]
        a = apply_ops(ops, mu0.expand(MEAN_DRAWS, -1).reshape(-1, *shape), th).reshape(MEAN_DRAWS, -1)
        return out / draws + a.T @ a / MEAN_DRAWS

    halves = []
    for _ in range(2):
        b2 = second(ops2)
        halves.append({"cross": cross, "second": [b2 if symmetric else second(ops1), b2], "mean": means})
    return halves


APPLY_COST = 40.0  # one op applied to the D rows of a D × D matrix, in units of one image in the Gram (progress only)
DRAWS_BUDGET = 1e7  # auto draws: draws × D² about this (≈ 10 s of op calls here), clamped to 16 … 256


def auto_draws(dim: int) -> int:
    """Drawn maps per view and half for B under random linear maps (its floor shrinks as 1/√draws): as many as
    fit a fixed budget of D² work, at least 16 and at most 256."""
    return int(min(256, max(16, DRAWS_BUDGET // max(dim, 1) ** 2)))


MEAN_DRAWS = 4096  # drawn maps of the mean image per view and half (B's mean part: one batched op call)


def _spectral_norm(m: np.ndarray) -> float:
    """‖m‖₂ of a symmetric matrix (Lanczos above 1,200 dimensions: the floor needs one number, not a spectrum)."""
    if m.shape[0] <= 1200:
        return float(np.max(np.abs(np.linalg.eigvalsh(m)))) if m.size else 0.0
    from scipy.sparse.linalg import eigsh

    return float(abs(eigsh(m, k=1, which="LM", v0=np.ones(m.shape[0]), return_eigenvectors=False)[0]))


def _fired(view: View, thetas: list) -> torch.Tensor:
    """Per image: did a nonlinear op of the view act (its θ["on"])?"""
    from .augment import NONLINEAR

    n = next(iter(thetas[0].values())).shape[0] if thetas else 0
    out = torch.zeros(n, dtype=torch.bool)
    for op, th in zip(view.ops, thetas, strict=True):
        if op.kind == NONLINEAR and op.p > 0:
            out |= th["on"].cpu()
    return out


def _rows_of(thetas: list, sel: torch.Tensor) -> list:
    return [{k: v[sel] for k, v in th.items()} for th in thetas]


def _monte_carlo(images: Images, pipeline: Pipeline, pairs: int, everything: bool, gen: torch.Generator,
                 tick: Callable[[float], None]) -> list[dict[str, Any]]:
    """Per half (pairs/2 view pairs per image each): Σ x′x″ᵀ, Σ x_v x_vᵀ, Σ x_v over the view pairs in which a
    nonlinear op acted (all pairs when `everything`), and the number of pairs drawn (the denominator)."""
    from .augment import apply_ops, sample_view

    shape, dim = images.shape, images.dim
    v1, v2 = pipeline.views
    zero = lambda *s: torch.zeros(*s, dtype=torch.float64)  # noqa: E731
    halves = [{"n": 0, "cross": zero(dim, dim), "second": [zero(dim, dim), zero(dim, dim)],
               "mean": [zero(dim), zero(dim)]} for _ in range(2)]
    step = max(16, _chunk_rows(dim) // 4)
    for start in range(0, images.n, step):
        xb = torch.from_numpy(images.rows(start, min(images.n, start + step))).view(-1, *shape)
        m = xb.shape[0]
        for r in range(pairs):
            acc = halves[0 if r < pairs // 2 else 1]
            acc["n"] += m
            th1, th2 = sample_view(v1, m, gen, shape), sample_view(v2, m, gen, shape)
            f1, f2 = (torch.ones(m, dtype=torch.bool),) * 2 if everything else (_fired(v1, th1), _fired(v2, th2))
            sel = f1 | f2
            if not bool(sel.any()):
                continue
            a = apply_ops(v1.ops, xb[sel], _rows_of(th1, sel)).reshape(-1, dim)
            b = apply_ops(v2.ops, xb[sel], _rows_of(th2, sel)).reshape(-1, dim)
            acc["cross"] += a.T @ b
            for v, (z, f) in enumerate(((a, f1[sel]), (b, f2[sel]))):
                z = z[f]
                acc["second"][v] += z.T @ z
                acc["mean"][v] += z.sum(0)
            tick(3.0 * int(sel.sum()))
    return halves


def augmentation_moments(images: Images | np.ndarray, pipeline: Pipeline | str, *, mc: bool = False,
                         pairs: int = 8, draws: int | None = None, seed: int = 0, dataset: str | None = None,
                         text: str | None = None, progress: Progress | None = None) -> AugmentationMoments:
    """μ_v, A, B of `images` (an `sslscape.datasets.Images`, or an array (n, C, H, W) / (n, D) of values) under
    `pipeline` (a `Pipeline` or its text), by the structure of its maps (module docstring).

    mc       Monte-Carlo over images for everything (the reference the structured route is tested against)
    pairs    Monte-Carlo view pairs per image (nonlinear ops, or mc), even, in two halves
    draws    drawn maps per view and half for B under random linear maps (crop, blur, jitter, gray); None = auto
    progress progress(done, total) in work units (an image's Gram update = 1), for an estimate of the time left
    Memory O(D²); the data are streamed in chunks. Raises UserError (one line) for a pipeline that cannot act on
    the images (e.g. image ops on vectors) or bad `pairs` / `draws`.
    """
    from .augment import FINITE, parse_pipeline
    from .datasets import Images

    if isinstance(images, np.ndarray):
        images = Images(x=images, labels=None, name=dataset or "data", read_as="")
    pipe = parse_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
    shape, dim, n = images.shape, images.dim, images.n
    pipe.check_shape(shape)
    draws = auto_draws(dim) if draws is None else draws
    if pairs < 2 or draws < 2:
        raise UserError(f"pairs and draws must be ≥ 2 (two halves for the noise floor), got {pairs} and {draws}")
    views = pipe.views
    q = (0.0, 0.0) if mc else tuple(v.linear_probability for v in views)
    linear = (views[0].linear_ops, views[1].linear_ops)
    finite = all(op.kind == FINITE for op in linear[0] + linear[1])
    use_linear = not mc and max(q) > 0
    use_mc = mc or min(q) < 1
    sampled = use_linear and not finite
    gen = torch.Generator().manual_seed(seed) if sampled or use_mc else None  # the exact route needs no torch

    per_half = (2 if pipe.symmetric else 4) * draws * max(1, len(linear[0]) + len(linear[1])) / 2
    total = (n if use_linear else 0) + (APPLY_COST * (2 * per_half + 2) if sampled else 0) + (
        3 * pairs * n * (1 - q[0] * q[1]) if use_mc else 0)
    state = {"done": 0.0}

    def tick(units: float) -> None:
        state["done"] += units
        if progress is not None:
            progress(min(state["done"], total), total)

    lin: list[dict[str, Any]] = []
    if use_linear:
        c2, mu0 = second_moment(images, (lambda d, t: progress(d, total)) if progress else None, 0.0, total)
        state["done"] = float(n)
        if finite:
            lin = [_exact_linear(c2, mu0, tuple(finite_maps(ops, shape) for ops in linear), pipe.symmetric)] * 2
        else:
            per = APPLY_COST * max(1, len(linear[0]) + len(linear[1])) / 2
            halves = _random_linear(torch.from_numpy(c2), torch.from_numpy(mu0), linear, pipe.symmetric, shape,
                                    draws, gen, lambda k: tick(per * k))
            lin = [{"cross": h["cross"].numpy(), "second": [t.numpy() for t in h["second"]],
                    "mean": [t.numpy() for t in h["mean"]]} for h in halves]
        del c2
    mcs = _monte_carlo(images, pipe, pairs, mc, gen, tick) if use_mc else None

    # per half h: the linear branch (weights q₁q₂ for A, q_v for B and μ) + the Monte-Carlo branch; centred with
    # the overall means μ_v = q_v m_v + r_v (m_v = M̄_v μ₀, r_v = E[x_v 1{a nonlinear op acted}]):
    #   A = q₁q₂ M̄₁Σ₀M̄₂ᵀ + E[x′x″ᵀ 1{acted}] − q₁ m₁r₂ᵀ − q₂ r₁m₂ᵀ − r₁r₂ᵀ     (E[x′x″ᵀ] − μ₁μ₂ᵀ, expanded)
    zeros = lambda *s: np.zeros(s)  # noqa: E731
    halves = []
    for h in range(2):
        part = {"cross": zeros(dim, dim), "second": [zeros(dim, dim), zeros(dim, dim)], "m": [zeros(dim)] * 2,
                "r": [zeros(dim)] * 2}
        if lin:
            part["cross"] = q[0] * q[1] * lin[h]["cross"]
            part["second"] = [q[v] * lin[h]["second"][v] for v in range(2)]
            part["m"] = [lin[h]["mean"][v] for v in range(2)]
        if mcs is not None:
            acc = mcs[h]
            part["cross"] = part["cross"] + acc["cross"].numpy() / acc["n"]
            part["second"] = [part["second"][v] + acc["second"][v].numpy() / acc["n"] for v in range(2)]
            part["r"] = [acc["mean"][v].numpy() / acc["n"] for v in range(2)]
        if pipe.symmetric:  # both views are draws of one distribution
            for key in ("second", "m", "r"):
                part[key] = [(part[key][0] + part[key][1]) / 2] * 2
        halves.append(part)
    m = [(halves[0]["m"][v] + halves[1]["m"][v]) / 2 for v in range(2)]
    r = [(halves[0]["r"][v] + halves[1]["r"][v]) / 2 for v in range(2)]
    mu = [q[v] * m[v] + r[v] for v in range(2)]
    noise = (views[0].noise ** 2 + views[1].noise ** 2) / 2 * np.eye(dim)
    centred = []
    for part in halves:
        a = part["cross"] - q[0] * np.outer(m[0], r[1]) - q[1] * np.outer(r[0], m[1]) - np.outer(r[0], r[1])
        b = (part["second"][0] - np.outer(mu[0], mu[0]) + part["second"][1] - np.outer(mu[1], mu[1])) / 2 + noise
        centred.append(((a + a.T) / 2, (b + b.T) / 2))
    a = (centred[0][0] + centred[1][0]) / 2
    b = (centred[0][1] + centred[1][1]) / 2
    floor = _spectral_norm(centred[0][0] - centred[1][0]) / 2 if use_mc else 0.0
    view_floor = _spectral_norm(centred[0][1] - centred[1][1]) / 2 if sampled or use_mc else 0.0
    eig = np.sort(np.linalg.eigvalsh(a))[::-1]
    if mc or not use_linear:
        method = MONTE_CARLO
    else:
        method = (MEAN_MAPS if sampled else EXACT) + ("+" + MONTE_CARLO if use_mc else "")
    tick(0.0)
    return AugmentationMoments(
        dataset=dataset or images.name, pipeline=pipe.text if text is None else text, n_images=n, dim=dim,
        method=method, mean=(mu[0] + mu[1]) / 2, cross_cov=a, view_cov=b, noise_floor=floor, eigenvalues=eig,
        below_floor=int(np.sum(eig < floor)) if floor > 0 else 0, view_floor=view_floor, shape=tuple(shape),
        read_as=images.read_as,
        draws=draws if sampled else 0, pairs=pairs if use_mc else 0,
        nonlinear_weight=0.0 if mc else float(1 - q[0] * q[1]))


def dataset_moments(data: str, augment: str, *, samples: int | None = None, pairs: int = 8, mc: bool = False,
                    downsample: int = 1, seed: int = 0, size: tuple[int, ...] | None = None,
                    layout: str | None = None, draws: int | None = None,
                    progress: Progress | None = None) -> AugmentationMoments:
    """`augmentation_moments` of a named dataset, an array file or an image folder
    (`sslscape.datasets.load_images`) under a pipeline text ('flip+shift:2', 'simclr', …)."""
    from .augment import parse_pipeline
    from .datasets import load_images

    pipeline = parse_pipeline(augment)
    images = load_images(data, samples=samples, seed=seed, size=size, layout=layout, downsample=downsample)
    return augmentation_moments(images, pipeline, mc=mc, pairs=pairs, draws=draws, seed=seed, dataset=images.name,
                                text=augment, progress=progress)


# =================================================================================================================
# ---- moments of a network's FEATURES under an augmentation (issue 12): the data of a projector's theory ---------
# (added as one section; the functions above are unchanged)
# =================================================================================================================

@dataclass(frozen=True, kw_only=True)
class FeatureMoments(AugmentationMoments):
    """μ_v, A and B of features h = f(x) of augmented views — an `AugmentationMoments` whose "pixels" are features.

        μ_v = E[h′],   A = E[(h′ − μ_v)(h″ − μ_v)ᵀ]  (cross-view),   B = E[(h′ − μ_v)(h′ − μ_v)ᵀ]  (view)

    h′ = f(a₁(x)), h″ = f(a₂(x)) for independent draws of the augmentation. `as_moments()` / `spec_dict()` give the
    theory's C = A, μ = μ_v, S = B − A for a projector z = W h on these features (docs/projector.md).
    Always Monte-Carlo (`method` 'monte_carlo'): `pairs` view pairs per example in two independent halves,
    noise floor ‖Â₁ − Â₂‖₂ / 2, `below_floor` eigenvalues of A under it. `features`: what computed h.
    """

    features: str = ""


def _takes_generator(fn: Any) -> bool:
    """True for augmentations called as fn(x, generator) (sslscape's), False for fn(x) (a user's callable)."""
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


class _Inference:
    """Run `features` in eval mode without gradients; an nn.Module's per-submodule train/eval flags are put
    back afterwards (also on error), so the caller's module state is unchanged."""

    def __init__(self, features: Any) -> None:
        self.features = features
        self.modes: list[tuple[Any, bool]] = []

    def __enter__(self) -> Any:
        self.grad = torch.no_grad()
        self.grad.__enter__()
        if isinstance(self.features, torch.nn.Module):
            self.modes = [(m, m.training) for m in self.features.modules()]
            self.features.eval()
        return self.features

    def __exit__(self, *exc: Any) -> None:
        for m, training in self.modes:
            m.training = training  # per submodule: a frozen BatchNorm inside a training model stays frozen
        self.grad.__exit__(*exc)


def _module_device(features: Any) -> torch.device:
    if isinstance(features, torch.nn.Module):
        for t in (*features.parameters(), *features.buffers()):
            return t.device
    return torch.device("cpu")


def _as_tensor(x: Any, what: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x)
    raise UserError(f"{what} must be a torch tensor or numpy array, got {type(x).__name__}; a data loader must "
                    "yield tensors x, (x, y), (x′, x″) or ((x′, x″), y)")


def _view_pairs(data: Any, augment: Any, pairs: int, batch_size: int, gen: torch.Generator,
                max_batches: int | None) -> Any:
    """Yield (pass, half, x′, x″) over `pairs` passes: the first pairs/2 passes feed half
    0, the rest half 1 (same examples, independent augmentation draws). A one-shot iterator is read once, its
    batches alternating between the halves."""
    call = (lambda x: augment(x, gen)) if augment is not None and _takes_generator(augment) else augment

    def views_of(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if call is not None:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            x = _as_tensor(x, "a batch")
            return _as_tensor(call(x), "augment(x)"), _as_tensor(call(x), "augment(x)")
        if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], (tuple, list)):
            batch = batch[0]  # ((x′, x″, …), labels): the views come first
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise UserError("without augment=, each batch must hold two views (x′, x″) or ((x′, x″), labels); "
                            "pass augment=callable to make the views from plain batches")
        return _as_tensor(batch[0], "view x′"), _as_tensor(batch[1], "view x″")

    if isinstance(data, (torch.Tensor, np.ndarray)):
        if call is None:
            raise UserError("an array or tensor of inputs needs augment= (a callable making one random view of a "
                            "batch); or pass a data loader that yields view pairs")
        x_all = _as_tensor(data, "data")
        if x_all.ndim < 2 or x_all.shape[0] < 2:
            raise UserError(f"data has shape {tuple(x_all.shape)}; expected (n, ...) with n ≥ 2 examples")
        starts = list(range(0, x_all.shape[0], batch_size))[:max_batches]
        for p in range(pairs):
            for s in starts:
                yield p, p * 2 // pairs, *views_of(x_all[s:s + batch_size])
        return
    one_shot = iter(data) is data
    if one_shot:
        for i, batch in enumerate(data):
            if max_batches is not None and i >= max_batches:
                break
            yield 0, i % 2, *views_of(batch)
        return
    for p in range(pairs):
        for i, batch in enumerate(data):
            if max_batches is not None and i >= max_batches:
                break
            yield p, p * 2 // pairs, *views_of(batch)


def feature_moments(features: Any, data: Any, augment: Any = None, *, pairs: int = 2, batch_size: int = 512,
                    seed: int = 0, max_batches: int | None = None, device: Any = None, name: str = "data",
                    augment_name: str = "",
                    progress: Any = None) -> FeatureMoments:
    """Stream the cross-view and view moments of features h = features(view) over a data source, in float64.

    features      an nn.Module (run in eval mode under no_grad; every submodule's train/eval flag is restored
                  afterwards) or any callable mapping a batch of views (n, ...) to features (n, D) (more
                  dimensions are flattened)
    data          a tensor/array of inputs (n, ...) — batched by `batch_size` — or a re-iterable data loader
                  yielding x, (x, y), view pairs (x′, x″) or ((x′, x″), y); a one-shot iterator is read once
    augment       callable making one random view of a batch: augment(x) or, for sslscape's augmentations,
                  augment(x, generator) (a generator seeded with `seed` is passed). None: the loader yields pairs
    pairs         view pairs per example (even, ≥ 2): `pairs` passes over the data; the first half of the passes
                  and the second are independent estimates Â₁, Â₂ of A, whose gap gives the noise floor
                  ‖Â₁ − Â₂‖₂ / 2 (as `augmentation_moments`); eigenvalues of A below it are counted in
                  `below_floor` (unreliable: a Monte-Carlo estimate spreads small eigenvalues upwards)

    Sums are accumulated in float64 about a shift s (the first batch's feature mean), so centring is exact:
    Σ(h − μ)(h − μ)ᵀ = Σ(h − s)(h − s)ᵀ − n (μ − s)(μ − s)ᵀ with s ≈ μ. B − A = ½E[(h′ − h″)(h′ − h″)ᵀ] is
    positive semi-definite for every sample (symmetrised sums). `progress(batches_done, total or None)`.
    Raises UserError (one line) for a bad source, odd `pairs`, mismatched views or non-finite features.
    """
    if pairs < 2 or pairs % 2:
        raise UserError(f"pairs must be an even number ≥ 2 (two halves for the noise floor), got {pairs}")
    if batch_size < 1:
        raise UserError(f"batch_size must be ≥ 1, got {batch_size}")
    if not callable(features):
        raise UserError("features must be an nn.Module or a callable mapping a batch of views to (n, D) features")
    dev = torch.device(device) if device is not None else _module_device(features)
    acc_dev = torch.device("cpu") if dev.type == "mps" else dev  # MPS has no float64
    gen = torch.Generator(device=dev if dev.type != "mps" else "cpu").manual_seed(seed)
    total = None
    if isinstance(data, (torch.Tensor, np.ndarray)):
        per_pass = -(-int(data.shape[0]) // batch_size)
        total = pairs * (per_pass if max_batches is None else min(per_pass, max_batches))
    shift: torch.Tensor | None = None
    halves = [{"n": 0, "sum": None, "cross": None, "sq": None} for _ in range(2)]
    dim, done, first_pass, passes = None, 0, 0, 0
    with _Inference(features) as f:
        for pass_, half, v1, v2 in _view_pairs(data, augment, pairs, batch_size, gen, max_batches):
            if v1.shape != v2.shape:
                raise UserError(f"the two views of a batch differ in shape ({tuple(v1.shape)} vs {tuple(v2.shape)})")
            h1, h2 = (f(v.to(dev)) for v in (v1, v2))
            h1, h2 = (_as_tensor(h, "features(x)") for h in (h1, h2))
            if h1.ndim < 2 or h1.shape[0] != v1.shape[0]:
                raise UserError(f"features returned shape {tuple(h1.shape)} for a batch of {v1.shape[0]}; expected "
                                "(n, D)")
            h1, h2 = (h.flatten(1).to(acc_dev, torch.float64) for h in (h1, h2))
            if not (torch.isfinite(h1).all() and torch.isfinite(h2).all()):
                raise UserError(f"features are NaN/Inf in batch {done + 1}; check the network and its inputs")
            if dim is None:
                dim = h1.shape[1]
                shift = h1.mean(0)
            elif h1.shape[1] != dim:
                raise UserError(f"features changed dimension from {dim} to {h1.shape[1]} between batches")
            a, b = h1 - shift, h2 - shift
            acc = halves[half]
            cross = a.T @ b
            stats = {"sum": a.sum(0) + b.sum(0), "cross": (cross + cross.T) / 2, "sq": (a.T @ a + b.T @ b) / 2}
            for k, v in stats.items():
                acc[k] = v if acc[k] is None else acc[k] + v
            acc["n"] += a.shape[0]
            first_pass += a.shape[0] if pass_ == 0 else 0
            passes = max(passes, pass_ + 1)
            done += 1
            if progress is not None:
                progress(done, total)
    if dim is None or halves[0]["n"] == 0 or halves[1]["n"] == 0:
        raise UserError("the data source gave too few batches for two independent halves; give ≥ 2 batches")
    n = halves[0]["n"] + halves[1]["n"]
    delta = (halves[0]["sum"] + halves[1]["sum"]) / (2 * n)  # μ − s
    outer = torch.outer(delta, delta)
    a1, a2 = (h["cross"] / h["n"] - outer for h in halves)
    a = (halves[0]["cross"] + halves[1]["cross"]) / n - outer
    b = (halves[0]["sq"] + halves[1]["sq"]) / n - outer
    a, b = ((m + m.T) / 2 for m in (a, b))
    floor = float(torch.linalg.matrix_norm(a1 - a2, ord=2)) / 2
    a_np, b_np = a.cpu().numpy(), b.cpu().numpy()
    eig = np.sort(np.linalg.eigvalsh(a_np))[::-1]
    label = features.__class__.__name__ if isinstance(features, torch.nn.Module) else getattr(
        features, "__name__", type(features).__name__)
    n_images = first_pass if passes > 1 else n  # a one-shot iterator: one view pair per example
    return FeatureMoments(dataset=name, pipeline=augment_name, n_images=n_images, dim=int(dim),
                          method="monte_carlo", mean=(shift + delta).cpu().numpy(), cross_cov=a_np, view_cov=b_np,
                          noise_floor=floor, eigenvalues=eig, below_floor=int(np.sum(eig < floor)),
                          features=label, pairs=pairs if passes > 1 else 1)


# =================================================================================================================
# ---- moments files and their cache (issue 13): `estimate` computes the moments once ----------------------------
# =================================================================================================================
#
# A moments file is an .npz without pickles: arrays `mean` (D,), `cross_cov` (D, D) = A, `view_cov` (D, D) = B,
# `eigenvalues` (D,) of A, and `meta`, a JSON string (0-d unicode array) with the scalar fields (issue 21 added
# `shape` (C, H, W), `read_as`, `draws`, `pairs`, `nonlinear_weight`; older files read with their defaults), the
# class and the cache key. `estimate` writes one per (data, pipeline, sample count, …) into the cache folder
# ($SSLSCAPE_CACHE, else $XDG_CACHE_HOME/sslscape, else ~/.cache/sslscape) and reads it back on the next call.
# A spec references one as `{"data": {"moments": FILE}}`; `predict`, `phase` and `advise` also take one with
# --moments FILE (`spec_from_moments`).

MOMENTS_FORMAT = 1
CACHE_ENV = "SSLSCAPE_CACHE"
_ARRAYS = ("mean", "cross_cov", "view_cov", "eigenvalues")


def cache_dir() -> Path:
    """The moments cache folder: $SSLSCAPE_CACHE, else $XDG_CACHE_HOME/sslscape, else ~/.cache/sslscape."""
    import os
    from pathlib import Path

    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "sslscape"


def _data_identity(data: str) -> dict[str, Any]:
    """What identifies the images: a named dataset by name, a file by its absolute path and content hash, a folder by
    its path and the hash of its image files' names and contents."""
    import hashlib
    from pathlib import Path

    from .datasets import IMAGE_SUFFIXES, named_dataset_names

    if data in named_dataset_names():
        return {"dataset": data.replace("_", "-")}
    path = Path(data)
    h = hashlib.sha256()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        for f in files:
            h.update(str(f.relative_to(path)).encode() + b"\0")
            h.update(f.read_bytes())
        return {"folder": str(path.resolve()), "sha256": h.hexdigest()}
    if not path.is_file():
        raise UserError(f"DATA {data!r} is neither 'digits', 'fashion-mnist', an existing array file (.npy, .npz, "
                        ".pt, .csv) nor a folder of images")
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return {"file": str(path.resolve()), "sha256": h.hexdigest()}


def moments_key(data: str, augment: str, *, samples: int | None = None, pairs: int = 8, mc: bool = False,
                downsample: int = 1, seed: int = 0, size: tuple[int, ...] | None = None, layout: str | None = None,
                draws: int | None = None) -> dict[str, Any]:
    """Everything that changes `dataset_moments(data, augment, …)`: the data (name, or file/folder path + SHA-256),
    the parsed pipeline (its canonical text: step order and spelling do not matter), the sample count, the method,
    the Monte-Carlo pairs and drawn maps where they are used, the downsampling, size, layout and the seed (it picks
    the subset and every draw). One-line UserError for a bad pipeline or a missing file."""
    from .augment import FINITE, parse_pipeline

    pipeline = parse_pipeline(augment)
    q = [v.linear_probability for v in pipeline.views]
    use_mc = mc or min(q) < 1
    sampled = not mc and max(q) > 0 and any(op.kind != FINITE for v in pipeline.views for op in v.linear_ops)
    method = MONTE_CARLO if mc or max(q) == 0 else (MEAN_MAPS if sampled else EXACT) + (
        "+" + MONTE_CARLO if use_mc else "")
    return {"format": MOMENTS_FORMAT, "data": _data_identity(data), "pipeline": pipeline.text,
            "samples": samples, "method": method, "pairs": pairs if use_mc else None,
            "draws": (draws or "auto") if sampled else None, "downsample": downsample, "seed": seed,
            "size": None if size is None else list(size), "layout": None if layout is None else layout.upper()}


def moments_cache_path(key: dict[str, Any], folder: str | Path | None = None) -> Path:
    """The cache file for `key` in `folder` (default `cache_dir()`): DATASET-PIPELINE-HASH.npz."""
    import hashlib
    import re
    from pathlib import Path

    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    ident = key["data"]
    data = ident.get("dataset") or Path(ident.get("file") or ident.get("folder")).stem
    stem = re.sub(r"[^A-Za-z0-9_.+-]+", "_", f"{data}-{key['pipeline']}")[:80]
    return Path(folder if folder is not None else cache_dir()) / f"{stem}-{digest}.npz"


def save_moments(est: AugmentationMoments, path: str | Path, key: dict[str, Any] | None = None) -> Path:
    """Write `est` to a moments file at `path` atomically (user's umask); returns its path."""
    import io as _io

    from .io import atomic_write_bytes

    meta = {k: v for k, v in asdict(est).items() if k not in _ARRAYS}
    meta.update(kind=type(est).__name__, format=MOMENTS_FORMAT, key=key)
    buf = _io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta, default=_json_number)),
             **{k: np.asarray(getattr(est, k), dtype=np.float64) for k in _ARRAYS})
    return atomic_write_bytes(path, buf.getvalue())


def _json_number(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def load_moments_file(path: str | Path) -> AugmentationMoments:
    """The `AugmentationMoments` (or subclass) in a moments file written by `save_moments` / `sslscape estimate`.

    Checked: an .npz without pickles, the four arrays present, float, finite, of shapes (D,), (D, D), (D, D), (D,),
    and the metadata. Every failure is a one-line UserError naming the file. `.as_moments()` gives the theory's
    `Moments` (C = A, μ, S = B − A).
    """
    import zipfile
    from pathlib import Path

    path = Path(path)
    name = repr(path.name)
    if not path.is_file():
        raise UserError(f"moments file {str(path)!r} does not exist; run `sslscape estimate` to write one")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise UserError(f"moments file {name} is not a valid .npz moments file ({type(exc).__name__}); write it "
                        "again with `sslscape estimate`") from exc
    missing = [k for k in (*_ARRAYS, "meta") if k not in arrays]
    if missing:
        raise UserError(f"moments file {name} lacks {', '.join(missing)}; write it with `sslscape estimate`")
    try:
        meta = json.loads(str(arrays["meta"][()]))
    except (ValueError, TypeError, IndexError) as exc:
        raise UserError(f"moments file {name} has unreadable metadata; write it again with `sslscape estimate`") \
            from exc
    if not isinstance(meta, dict) or meta.get("format") != MOMENTS_FORMAT:
        raise UserError(f"moments file {name} is not of format {MOMENTS_FORMAT}; write it again with "
                        "`sslscape estimate`")
    values = {}
    for k in _ARRAYS:
        a = arrays[k]
        if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
            raise UserError(f"moments file {name}: {k} has dtype {a.dtype}, not real numbers")
        values[k] = a.astype(np.float64)
    dim = values["mean"].shape[0] if values["mean"].ndim == 1 else -1
    shapes = {"mean": (dim,), "cross_cov": (dim, dim), "view_cov": (dim, dim), "eigenvalues": (dim,)}
    bad = [f"{k} {values[k].shape}" for k in _ARRAYS if values[k].shape != shapes[k]]
    if dim < 1 or bad:
        raise UserError(f"moments file {name} has inconsistent shapes ({', '.join(bad) or 'empty mean'}); need "
                        "mean (D,), cross_cov and view_cov (D, D), eigenvalues (D,)")
    if not all(np.all(np.isfinite(v)) for v in values.values()):
        raise UserError(f"moments file {name} holds NaN or Inf; write it again with `sslscape estimate`")
    classes = {c.__name__: c for c in (AugmentationMoments, *AugmentationMoments.__subclasses__())}
    cls = classes.get(meta.get("kind"), AugmentationMoments)
    scalars = {f: meta[f] for f in cls.__dataclass_fields__ if f not in _ARRAYS and f in meta}
    if isinstance(scalars.get("shape"), list):
        scalars["shape"] = tuple(int(v) for v in scalars["shape"])
    try:
        return cls(**scalars, **values)
    except TypeError as exc:
        raise UserError(f"moments file {name} has incomplete metadata ({exc}); write it again with "
                        "`sslscape estimate`") from exc


def moments_from_file(path: str | Path) -> Moments:
    """The theory's `Moments` (C = A, μ = μ_v, S = B − A, PSD-projected) of a moments file."""
    return load_moments_file(path).as_moments()


def spec_from_moments(path: str | Path, spec: Spec | dict | None = None, *, objective: str = "spectral",
                      weight_decay: float = 0.01, embed_dim: int | None = None) -> Spec:
    """A spec whose data.cov, data.mean and augmentation.noise_cov come from a moments file.

    `spec` (a Spec or a spec mapping) supplies everything else — objective, γ, τ, d, noise_scale, … — and its own
    `data` block is replaced; without it, a spec of `objective`, `weight_decay` and `embed_dim` is written (as
    `sslscape estimate` does). One-line UserError (SpecError) when the result is not a valid spec.
    """
    from .spec import parse_spec

    est = load_moments_file(path)
    if spec is None:
        return parse_spec(est.spec_dict(objective, weight_decay, embed_dim))
    m = est.as_moments()
    raw = spec.model_dump(mode="json", exclude_none=True) if isinstance(spec, Spec) else dict(spec)
    raw["data"] = {"cov": m.cov.tolist(), "mean": m.mean.tolist()}
    augmentation = raw.get("augmentation") if isinstance(raw.get("augmentation"), dict) else {}
    raw["augmentation"] = {**augmentation, "noise_cov": m.noise_cov.tolist()}
    return parse_spec(raw)


@dataclass(frozen=True)
class CachedMoments:
    """`cached_dataset_moments`' answer: the moments, the moments file (None when not cached) and whether the file
    was read (True) or computed now (False)."""

    moments: AugmentationMoments = field(repr=False)
    path: Path | None
    cached: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.moments.to_dict(), "moments_file": None if self.path is None else str(self.path),
                "cached": self.cached}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def cached_dataset_moments(data: str, augment: str, *, samples: int | None = None, pairs: int = 8, mc: bool = False,
                           downsample: int = 1, seed: int = 0, size: tuple[int, ...] | None = None,
                           layout: str | None = None, draws: int | None = None, cache: bool | str | Path = True,
                           progress: Progress | None = None) -> CachedMoments:
    """`dataset_moments`, read from the moments cache when this (data, pipeline, samples, …) was computed before.

    `cache`: True = `cache_dir()`, a path = that folder, False = compute and store nothing. A cache file that is
    unreadable or of another key is recomputed and replaced. The cache key: `moments_key`.
    """
    kwargs = dict(samples=samples, pairs=pairs, mc=mc, downsample=downsample, seed=seed, size=size, layout=layout,
                  draws=draws)
    if cache is False:
        return CachedMoments(dataset_moments(data, augment, progress=progress, **kwargs), None, False)
    key = moments_key(data, augment, **kwargs)
    path = moments_cache_path(key, None if cache is True else cache)
    if path.is_file():
        try:
            est = load_moments_file(path)
        except UserError:
            est = None  # a torn or foreign file: compute again and replace it
        if est is not None and _stored_key(path) == key:
            return CachedMoments(est, path, True)
    est = dataset_moments(data, augment, progress=progress, **kwargs)
    try:
        save_moments(est, path, key)
    except OSError:  # a read-only or full cache folder costs the next call time, never this answer
        return CachedMoments(est, None, False)
    return CachedMoments(est, path, False)


def _stored_key(path: Path) -> Any:
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["meta"][()])).get("key")
