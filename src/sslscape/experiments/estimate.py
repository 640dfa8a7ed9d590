"""`sslscape estimate`: the moments a real augmentation pipeline hands the theory, then `predict` on them.

For views x′ = a₁(x), x″ = a₂(x) (independent draws of the augmentation) the theory needs (DESIGN.md §1)

    μ_v = E[x′],   A = E[(x′ − μ_v)(x″ − μ_v)ᵀ]  (cross-view covariance),   B = E[(x′ − μ_v)(x′ − μ_v)ᵀ]

and the spec it writes has data.cov = A, data.mean = μ_v and augmentation.noise_cov = S = B − A (so that
"cov + noise_cov" is the view covariance, as for additive noise where A = C and S = σ²I).

Exact when the augmentation is a finite mixture of linear maps T_j chosen uniformly (flip, shift:k with zero
fill, and their products), plus optional additive noise: with X̄ = mean_j T_j X per image,
    A = Cov_images(X̄),   B = mean_j E[(T_j x)(T_j x)ᵀ] − μ_v μ_vᵀ (+ σ² I).
Otherwise (random resized crops, or `--mc`) Monte-Carlo: P view pairs per image, split into two independent
halves; A is their average and the noise floor is ‖Â₁ − Â₂‖₂ / 2 (the size of the estimate's error).
Eigenvalues of A below the floor are flagged: Monte-Carlo eigenvalues there are biased upward (spreading), and
that bias is shared by both halves, so agreement between halves would not reveal it.

Pipeline syntax: '+'-joined steps, e.g. `noise:0.1` (Gaussian pixel noise, std 0.1), `flip`, `shift:2`,
`flip+shift:2`, `crop:0.5` (random resized crop, area ≥ 0.5, Monte-Carlo only).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError

MAP_STEPS = ("flip", "shift")


@dataclass(frozen=True)
class Pipeline:
    flip: bool = False
    shift: int = 0
    noise_std: float = 0.0
    crop: float | None = None

    @property
    def exact(self) -> bool:
        return self.crop is None


@dataclass(frozen=True)
class Estimate:
    dataset: str
    pipeline: str
    n_images: int
    dim: int
    method: str                    # 'exact' or 'monte_carlo'
    mean: np.ndarray
    cross_cov: np.ndarray          # A
    view_cov: np.ndarray           # B
    noise_floor: float             # 0 for exact
    eigenvalues: np.ndarray        # of A, descending
    below_floor: int               # eigenvalues of A under the noise floor

    def summary(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("mean", "cross_cov", "view_cov", "eigenvalues")}
        d["eigenvalues_top"] = [float(v) for v in self.eigenvalues[:20]]
        return d


def parse_pipeline(text: str) -> Pipeline:
    fields: dict = {}
    for step in (s.strip() for s in text.split("+")):
        name, _, arg = step.partition(":")
        try:
            if name == "flip" and not arg:
                fields["flip"] = True
            elif name == "shift":
                fields["shift"] = int(arg)
                if fields["shift"] < 0:
                    raise ValueError
            elif name == "noise":
                fields["noise_std"] = float(arg)
                if fields["noise_std"] < 0:
                    raise ValueError
            elif name == "crop":
                fields["crop"] = float(arg)
                if not 0 < fields["crop"] <= 1:
                    raise ValueError
            else:
                raise KeyError
        except KeyError as exc:
            raise UserError(f"unknown augmentation step {step!r} in {text!r}; use noise:STD, flip, shift:K, "
                            "crop:MIN_AREA joined by '+', e.g. flip+shift:2") from exc
        except ValueError as exc:
            raise UserError(f"bad argument in augmentation step {step!r}: noise:STD ≥ 0, shift:K integer ≥ 0, "
                            "crop:MIN_AREA in (0, 1]") from exc
    return Pipeline(**fields)


def load_data(data: str, samples: int | None, downsample: int = 1, seed: int = 0) -> tuple[np.ndarray, int, str]:
    """(x (n, D), image side or 0, name) from 'digits', 'fashion-mnist' or an array file."""
    from ._training import real_dataset

    if data in ("digits", "fashion-mnist", "fashion_mnist"):
        x, _, side = real_dataset(data, None, downsample)
        name = data
    else:
        from ..spec import load_samples

        path = Path(data)
        if not path.is_file():
            raise UserError(f"DATA {data!r} is neither 'digits', 'fashion-mnist' nor an existing .npy/.npz/.pt file")
        x = load_samples(path)
        side = int(round(np.sqrt(x.shape[1])))
        side = side if side * side == x.shape[1] else 0
        name = path.name
    if samples is not None and samples < len(x):
        x = x[np.random.default_rng(seed).permutation(len(x))[:samples]]
    return x, side, name


def _maps(p: Pipeline, side: int):
    """The finite family of maps (functions on (n, side, side) arrays), chosen uniformly."""
    flips = (False, True) if p.flip else (False,)
    shifts = [(dy, dx) for dy in range(-p.shift, p.shift + 1) for dx in range(-p.shift, p.shift + 1)]

    def make(flip: bool, dy: int, dx: int):
        def apply(img: np.ndarray) -> np.ndarray:
            out = img[:, :, ::-1] if flip else img
            res = np.zeros_like(out)
            ys, yd = (slice(0, side - dy), slice(dy, side)) if dy >= 0 else (slice(-dy, side), slice(0, side + dy))
            xs, xd = (slice(0, side - dx), slice(dx, side)) if dx >= 0 else (slice(-dx, side), slice(0, side + dx))
            res[:, yd, xd] = out[:, ys, xs]
            return res
        return apply

    return [make(f, dy, dx) for f, (dy, dx) in itertools.product(flips, shifts)]


def estimate(x: np.ndarray, side: int, pipeline: Pipeline, *, mc: bool = False, pairs: int = 8, seed: int = 0,
             dataset: str = "data", text: str = "") -> Estimate:
    n, dim = x.shape
    needs_image = pipeline.flip or pipeline.shift or pipeline.crop is not None
    if needs_image and not side:
        raise UserError(f"flip/shift/crop need square images; the data has {dim} features (not a square number)")
    imgs = x.reshape(n, side, side) if side else None
    noise = pipeline.noise_std ** 2 * np.eye(dim)
    if pipeline.exact and not mc:
        maps = _maps(pipeline, side) if needs_image else [lambda a: a]
        mean_img = np.zeros_like(x)
        second = np.zeros((dim, dim))
        for t in maps:
            v = t(imgs).reshape(n, dim) if needs_image else x
            mean_img += v / len(maps)
            second += v.T @ v / (n * len(maps))
        mu = mean_img.mean(0)
        a = mean_img.T @ mean_img / n - np.outer(mu, mu)
        b = second - np.outer(mu, mu) + noise
        floor, method = 0.0, "exact"
    else:
        rng = np.random.default_rng(seed)
        halves = []
        for h in range(2):
            sums = np.zeros(dim)
            cross = np.zeros((dim, dim))
            sq = np.zeros((dim, dim))
            for r in range(max(1, pairs // 2)):
                v1 = _draw(imgs, x, pipeline, side, rng, seed * 1000 + h * 100 + 2 * r)
                v2 = _draw(imgs, x, pipeline, side, rng, seed * 1000 + h * 100 + 2 * r + 1)
                sums += v1.sum(0) + v2.sum(0)
                cross += (v1.T @ v2 + v2.T @ v1) / 2
                sq += (v1.T @ v1 + v2.T @ v2) / 2
            m = max(1, pairs // 2) * n
            halves.append((sums / (2 * m), cross / m, sq / m))
        mu = (halves[0][0] + halves[1][0]) / 2
        a1, a2 = (h[1] - np.outer(mu, mu) for h in halves)
        a = (a1 + a2) / 2
        b = (halves[0][2] + halves[1][2]) / 2 - np.outer(mu, mu)
        floor = float(np.linalg.norm(a1 - a2, 2) / 2)
        method = "monte_carlo"
    a = (a + a.T) / 2
    eig = np.sort(np.linalg.eigvalsh(a))[::-1]
    below = int(np.sum(eig < floor)) if floor > 0 else 0
    return Estimate(dataset, text, n, dim, method, mu, a, (b + b.T) / 2, floor, eig, below)


def _draw(imgs, x, p: Pipeline, side: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    n, dim = x.shape
    if p.crop is not None:
        from ._training import image_crop_views

        v = image_crop_views(x, side, p.crop, seed)
        if p.flip:
            flip = rng.random(n) < 0.5
            v = v.reshape(n, side, side)
            v[flip] = v[flip][:, :, ::-1]
            v = v.reshape(n, dim)
    elif p.flip or p.shift:
        maps = _maps(p, side)
        choice = rng.integers(0, len(maps), n)
        v = np.empty_like(x)
        for j, t in enumerate(maps):
            sel = choice == j
            if sel.any():
                v[sel] = t(imgs[sel]).reshape(-1, dim)
    else:
        v = x.copy()
    if p.noise_std > 0:
        v = v + p.noise_std * rng.standard_normal(v.shape)
    return v


def spec_dict(est: Estimate, objective: str, weight_decay: float, embed_dim: int | None) -> dict:
    """A spec with data.cov = A, data.mean = μ_v and noise_cov = B − A (projected onto the PSD cone)."""
    s = est.view_cov - est.cross_cov
    lam, vec = np.linalg.eigh((s + s.T) / 2)
    s = (vec * np.clip(lam, 0, None)) @ vec.T
    lam_a, vec_a = np.linalg.eigh(est.cross_cov)
    a = (vec_a * np.clip(lam_a, 0, None)) @ vec_a.T  # a Monte-Carlo A can have tiny negative eigenvalues
    spec = {"objective": objective, "data": {"cov": a.tolist(), "mean": est.mean.tolist()},
            "augmentation": {"noise_cov": s.tolist()}, "weight_decay": weight_decay}
    if embed_dim:
        spec["embed_dim"] = embed_dim
    return spec


def run_estimate(data: str, augment: str, *, samples: int | None = None, pairs: int = 8, mc: bool = False,
                 downsample: int = 1, objective: str = "spectral", weight_decay: float = 0.01,
                 embed_dim: int | None = None, out: Path | None = None, seed: int = 0) -> dict:
    """Estimate, write the spec (atomically) and predict on it; returns a JSON-able summary."""
    from ..io import atomic_write_text
    from ..spec import parse_spec
    from ..theory import predict

    pipeline = parse_pipeline(augment)
    x, side, name = load_data(data, samples, downsample, seed)
    est = estimate(x, side, pipeline, mc=mc, pairs=pairs, seed=seed, dataset=name, text=augment)
    raw = spec_dict(est, objective, weight_decay, embed_dim)
    spec = parse_spec(raw)
    pred = predict(spec)
    path = None
    if out is not None:
        if out.exists() and out.is_dir():
            out = out / "estimated_spec.json"
        path = atomic_write_text(out, json.dumps(raw) + "\n")
    return {**est.summary(), "spec": None if path is None else str(path),
            "prediction": json.loads(pred.to_json())}
