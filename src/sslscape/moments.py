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
from typing import TYPE_CHECKING, Any

import numpy as np

from ._lazy import torch  # numpy is all `moments_of` (and so `predict`) needs
from .errors import UserError
from .spec import Spec, covariance_matrix

if TYPE_CHECKING:
    from pathlib import Path

    from .augment import Pipeline




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
    from .augment import PipelineAugment, pipeline_maps

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
        from .datasets import load_named_dataset

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


# =================================================================================================================
# ---- moments of a network's FEATURES under an augmentation (issue 12): the data of a projector's theory ---------
# (added as one section; the functions above are unchanged)
# =================================================================================================================

@dataclass(frozen=True)
class FeatureMoments(AugmentationMoments):
    """μ_v, A and B of features h = f(x) of augmented views — an `AugmentationMoments` whose "pixels" are features.

        μ_v = E[h′],   A = E[(h′ − μ_v)(h″ − μ_v)ᵀ]  (cross-view),   B = E[(h′ − μ_v)(h′ − μ_v)ᵀ]  (view)

    h′ = f(a₁(x)), h″ = f(a₂(x)) for independent draws of the augmentation. `as_moments()` / `spec_dict()` give the
    theory's C = A, μ = μ_v, S = B − A for a projector z = W h on these features (docs/projector.md).
    Always Monte-Carlo (`method` 'monte_carlo'): `pairs` view pairs per example in two independent halves,
    noise floor ‖Â₁ − Â₂‖₂ / 2, `below_floor` eigenvalues of A under it. `features`: what computed h.
    """

    features: str = ""
    pairs: int = 0


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
# ---- moments files and their cache (issue 13): `estimate` computes the exact moments once ----------------------
# (one section; the functions above are unchanged)
# =================================================================================================================
#
# A moments file is an .npz without pickles: arrays `mean` (D,), `cross_cov` (D, D) = A, `view_cov` (D, D) = B,
# `eigenvalues` (D,) of A, and `meta`, a JSON string (0-d unicode array) with the scalar fields, the class and the
# cache key. `estimate` writes one per (dataset, pipeline, sample count, …) into the cache folder
# ($SSLSCAPE_CACHE, else $XDG_CACHE_HOME/sslscape, else ~/.cache/sslscape) and reads it back on the next call.
# `predict`, `phase` and `advise` take one with --moments FILE (`spec_from_moments`).

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
    """What identifies the images: a named dataset by name, a file by its absolute path and content hash."""
    import hashlib
    from pathlib import Path

    if data in ("digits", "fashion-mnist", "fashion_mnist"):
        return {"dataset": data.replace("_", "-")}
    path = Path(data)
    if not path.is_file():
        raise UserError(f"DATA {data!r} is neither 'digits', 'fashion-mnist' nor an existing array file")
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return {"file": str(path.resolve()), "sha256": h.hexdigest()}


def moments_key(data: str, augment: str, *, samples: int | None = None, pairs: int = 8, mc: bool = False,
                downsample: int = 1, seed: int = 0) -> dict[str, Any]:
    """Everything that changes `dataset_moments(data, augment, …)`: the data (name, or file path + SHA-256), the
    parsed pipeline, the sample count, the method, Monte-Carlo pairs, the downsampling and the seed (it picks the
    sample subset and the Monte-Carlo draws). One-line UserError for a bad pipeline or a missing file."""
    from .augment import parse_pipeline

    pipeline = parse_pipeline(augment)
    exact = pipeline.is_finite_mixture and not mc
    return {"format": MOMENTS_FORMAT, "data": _data_identity(data), "pipeline": asdict(pipeline),
            "samples": samples, "method": "exact" if exact else "monte_carlo", "pairs": None if exact else pairs,
            "downsample": downsample, "seed": seed}


def moments_cache_path(key: dict[str, Any], folder: str | Path | None = None) -> Path:
    """The cache file for `key` in `folder` (default `cache_dir()`): DATASET-PIPELINE-HASH.npz."""
    import hashlib
    import re
    from pathlib import Path

    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    data = key["data"].get("dataset") or Path(key["data"]["file"]).stem
    pipe = "+".join(f"{k}{'' if v is True else v}" for k, v in key["pipeline"].items() if v not in (False, 0, None))
    stem = re.sub(r"[^A-Za-z0-9_.+-]+", "_", f"{data}-{pipe or 'none'}")[:80]
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
                           downsample: int = 1, seed: int = 0, cache: bool | str | Path = True) -> CachedMoments:
    """`dataset_moments`, read from the moments cache when this (data, pipeline, samples, …) was computed before.

    `cache`: True = `cache_dir()`, a path = that folder, False = compute and store nothing. A cache file that is
    unreadable or of another key is recomputed and replaced. The cache key: `moments_key`.
    """
    if cache is False:
        est = dataset_moments(data, augment, samples=samples, pairs=pairs, mc=mc, downsample=downsample, seed=seed)
        return CachedMoments(est, None, False)
    key = moments_key(data, augment, samples=samples, pairs=pairs, mc=mc, downsample=downsample, seed=seed)
    path = moments_cache_path(key, None if cache is True else cache)
    if path.is_file():
        try:
            est = load_moments_file(path)
        except UserError:
            est = None  # a torn or foreign file: compute again and replace it
        if est is not None and _stored_key(path) == key:
            return CachedMoments(est, path, True)
    est = dataset_moments(data, augment, samples=samples, pairs=pairs, mc=mc, downsample=downsample, seed=seed)
    try:
        save_moments(est, path, key)
    except OSError:  # a read-only or full cache folder costs the next call time, never this answer
        return CachedMoments(est, None, False)
    return CachedMoments(est, path, False)


def _stored_key(path: Path) -> Any:
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["meta"][()])).get("key")
