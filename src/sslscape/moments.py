"""Moments the theory needs: C, μ, S of a spec, and the cross-view moments of a real augmentation pipeline.

**A spec's moments** (`moments_of`): data covariance C (D×D), mean μ (D,) and augmentation noise covariance
S = noise_scale · noise_cov (D×D), from the spec's `data.cov`/`data.mean` or from its sample file (its sample
mean and biased covariance).

**A real augmentation's moments** (`augmentation_moments`): for views x′ = a₁(x), x″ = a₂(x) (independent draws of
the augmentation, `sslscape.augment` — the same definitions training uses)

    μ_v = E[x′],   A = E[(x′ − μ_v)(x″ − μ_v)ᵀ]  (cross-view covariance),   B = E[(x′ − μ_v)(x′ − μ_v)ᵀ]

and the spec written from them has data.cov = A, data.mean = μ_v, augmentation.noise_cov = S = B − A (so that
"cov + noise_cov" is the view covariance, as for additive noise where A = C and S = σ²I).
Exact when the pipeline is a finite mixture of linear maps T_j chosen uniformly (flip, shift:k with zero fill and
their products) plus noise: with X̄ = mean_j T_j X per image, A = Cov_images(X̄) and
B = mean_j E[(T_j x)(T_j x)ᵀ] − μ_v μ_vᵀ (+ σ² I). Otherwise (random resized crops, or `mc=True`) Monte-Carlo: P
view pairs per image in two independent halves; A is their average and the noise floor is ‖Â₁ − Â₂‖₂ / 2.
Eigenvalues of A below the floor are flagged: a Monte-Carlo estimate biases small eigenvalues upward (spreading,
+60 % at the 20th and ×14 at the 50th with 8 pairs per image on Fashion-MNIST), and both halves share the bias.
Tests: tests/test_moments.py (exact vs Monte-Carlo, vs training's own views).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from .augment import Pipeline, PipelineAugment, pipeline_maps
from .errors import UserError
from .spec import Spec, covariance_matrix


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


def moments_of(spec: Spec) -> Moments:
    """C, μ and S of a spec (module docstring); a sample file is read with `sslscape.io.load_samples`."""
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

@dataclass(frozen=True)
class AugmentationMoments:
    """μ_v, A and B of images under an augmentation pipeline (module docstring); `method` 'exact' | 'monte_carlo'."""

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

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("mean", "cross_cov", "view_cov", "eigenvalues")}
        d["eigenvalues_top"] = [float(v) for v in self.eigenvalues[:20]]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def as_moments(self) -> Moments:
        """The theory's C, μ, S: C = A, S = B − A (both projected onto the PSD cone)."""
        return Moments(psd_project(self.cross_cov), self.mean, psd_project(self.view_cov - self.cross_cov))

    def spec_dict(self, objective: str, weight_decay: float, embed_dim: int | None = None) -> dict[str, Any]:
        """A spec with data.cov = A, data.mean = μ_v and augmentation.noise_cov = B − A."""
        m = self.as_moments()
        spec: dict[str, Any] = {"objective": objective, "data": {"cov": m.cov.tolist(), "mean": m.mean.tolist()},
                                "augmentation": {"noise_cov": m.noise_cov.tolist()}, "weight_decay": weight_decay}
        if embed_dim:
            spec["embed_dim"] = embed_dim
        return spec


def _images(x: np.ndarray, side: int) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64).reshape(-1, 1, side, side)


def augmentation_moments(x: np.ndarray, side: int, pipeline: Pipeline, *, mc: bool = False, pairs: int = 8,
                         seed: int = 0, dataset: str = "data", text: str = "") -> AugmentationMoments:
    """Moments of the views of images `x` (n, side²) (or vectors, side 0: noise only) under `pipeline`."""
    n, dim = x.shape
    if pipeline.needs_images and not side:
        raise UserError(f"flip/shift/crop need square images; the data has {dim} features (not a square number)")
    noise = pipeline.noise_std**2 * np.eye(dim)
    if pipeline.is_finite_mixture and not mc:
        maps = pipeline_maps(pipeline) if pipeline.needs_images else [lambda a: a]
        imgs = _images(x, side) if pipeline.needs_images else torch.as_tensor(x, dtype=torch.float64)
        mean_img, second = np.zeros_like(x), np.zeros((dim, dim))
        for t in maps:
            v = t(imgs).reshape(n, dim).numpy()
            mean_img += v / len(maps)
            second += v.T @ v / (n * len(maps))
        mu = mean_img.mean(0)
        a = mean_img.T @ mean_img / n - np.outer(mu, mu)
        b = second - np.outer(mu, mu) + noise
        floor, method = 0.0, "exact"
    else:
        augment = PipelineAugment(pipeline)
        gen = torch.Generator().manual_seed(seed)
        imgs = _images(x, side) if pipeline.needs_images else torch.as_tensor(x, dtype=torch.float64)
        halves = []
        reps = max(1, pairs // 2)
        for _ in range(2):
            sums, cross, sq = np.zeros(dim), np.zeros((dim, dim)), np.zeros((dim, dim))
            for _ in range(reps):
                v1 = augment(imgs, gen).reshape(n, dim).numpy()
                v2 = augment(imgs, gen).reshape(n, dim).numpy()
                sums += v1.sum(0) + v2.sum(0)
                cross += (v1.T @ v2 + v2.T @ v1) / 2
                sq += (v1.T @ v1 + v2.T @ v2) / 2
            halves.append((sums / (2 * reps * n), cross / (reps * n), sq / (reps * n)))
        mu = (halves[0][0] + halves[1][0]) / 2
        a1, a2 = (h[1] - np.outer(mu, mu) for h in halves)
        a = (a1 + a2) / 2
        b = (halves[0][2] + halves[1][2]) / 2 - np.outer(mu, mu)
        floor = float(np.linalg.norm(a1 - a2, 2) / 2)
        method = "monte_carlo"
    a = (a + a.T) / 2
    eig = np.sort(np.linalg.eigvalsh(a))[::-1]
    below = int(np.sum(eig < floor)) if floor > 0 else 0
    return AugmentationMoments(dataset, text, n, dim, method, mu, a, (b + b.T) / 2, floor, eig, below)


def load_images(data: str, samples: int | None = None, downsample: int = 1,
                seed: int = 0) -> tuple[np.ndarray, int, str]:
    """(x (n, D), image side or 0, name) from 'digits', 'fashion-mnist' or an array file (a random subset of
    `samples` rows when given)."""
    from pathlib import Path

    from .io import load_samples

    if data in ("digits", "fashion-mnist", "fashion_mnist"):
        from .training.data import load_named_dataset

        x, _, side = load_named_dataset(data, None, downsample)
        name = data
    else:
        path = Path(data)
        if not path.is_file():
            raise UserError(f"DATA {data!r} is neither 'digits', 'fashion-mnist' nor an existing array file")
        x = load_samples(path)
        side = int(round(np.sqrt(x.shape[1])))
        side = side if side * side == x.shape[1] else 0
        name = path.name
    if samples is not None and samples < len(x):
        x = x[np.random.default_rng(seed).permutation(len(x))[:samples]]
    return x, side, name


def dataset_moments(data: str, augment: str, *, samples: int | None = None, pairs: int = 8, mc: bool = False,
                    downsample: int = 1, seed: int = 0) -> AugmentationMoments:
    """`augmentation_moments` of a named dataset or array file under a pipeline string ('flip+shift:2')."""
    from .augment import parse_pipeline

    pipeline = parse_pipeline(augment)
    x, side, name = load_images(data, samples, downsample, seed)
    return augmentation_moments(x, side, pipeline, mc=mc, pairs=pairs, seed=seed, dataset=name, text=augment)
