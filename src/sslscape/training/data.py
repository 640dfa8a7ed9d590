"""Where x comes from: the spec's Gaussian, a class mixture, Fashion-MNIST, scikit-learn digits, user files.

Every source lives on the training device and hands out batches as tensors — no DataLoader, no workers:

    GaussianSource   x = L ξ + μ,  ξ ~ N(0, I),  L Lᵀ = C  (eigen-factor, so singular C is fine)
    MixtureSource    class k ~ Categorical(w);  x = μ_k + L ξ   (imbalance studies: unequal w)
    ArraySource      a stored (n, ...) array: an epoch is a seeded permutation, batch b of epoch e is a pure
                     function of (seed, step), so a resumed run sees the batches the uninterrupted one saw

Synthetic batches are drawn on the device from the run's generator (`torch.randn(n, D) @ L.T + μ`), which
keeps the inner loop a handful of kernels. Image arrays are stored as uint8 where possible and scaled to [0, 1] per
batch (4× less memory than float32 for Fashion-MNIST).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..datasets import (  # noqa: F401  (re-exported: the training API)
    FASHION_MNIST_INSTALL,
    FASHION_MNIST_ROOT,
    DataError,
    image_array,
    load_digits_arrays,
    load_fashion_mnist,
    load_image_folder,
    load_named_dataset,
    read_idx,
    split_train_test,
)
from ..errors import UserError
from ..io import load_array as _io_load_array
from ..moments import Moments, psd_factor
from .config import DataConfig


@dataclass
class Batch:
    x: Tensor  # (n, ...) clean examples
    y: Tensor | None = None  # (n,) labels when the source has them


class GaussianSource:
    """x ~ N(μ, C) with C, μ from `moments_of(spec)`; `is_image` is False."""

    is_image = False

    def __init__(self, moments: Moments, device: torch.device, eval_size: int, seed: int) -> None:
        self.dim = moments.dim
        self.shape: tuple[int, ...] = (self.dim,)
        self.factor = torch.as_tensor(psd_factor(moments.cov), dtype=torch.float32, device=device)
        self.mean = torch.as_tensor(moments.mean, dtype=torch.float32, device=device)
        self.cov = torch.as_tensor(moments.cov, dtype=torch.float32, device=device)
        gen = torch.Generator(device=device).manual_seed(seed + 7919)  # held-out, independent of training
        self._eval = self._draw(eval_size, gen)

    def _draw(self, n: int, gen: torch.Generator) -> Batch:
        xi = torch.randn(n, self.dim, generator=gen, device=self.mean.device)
        return Batch(xi @ self.factor.T + self.mean)

    def batch(self, step: int, n: int, gen: torch.Generator) -> Batch:
        return self._draw(n, gen)

    def eval_set(self) -> Batch:
        return self._eval

    def train_set(self) -> Batch:
        return self._eval


class MixtureSource(GaussianSource):
    """Class mixture Σ_k w_k N(μ + μ_k, C): shared within-class covariance C, class offsets μ_k."""

    def __init__(self, moments: Moments, device: torch.device, eval_size: int, seed: int,
                 class_means: np.ndarray, class_weights: np.ndarray) -> None:
        if class_means.ndim != 2 or class_means.shape[1] != moments.dim:
            raise DataError(f"data.class_means must be a list of {moments.dim}-vectors (the spec's "
                            "dimension); "
                            f"got shape {class_means.shape}")
        if class_weights.shape != (class_means.shape[0],) or class_weights.sum() <= 0:
            raise DataError(f"data.class_weights needs {class_means.shape[0]} non-negative numbers (one per "
                            "class) with a positive sum")
        self.class_means = torch.as_tensor(class_means, dtype=torch.float32, device=device)
        w = class_weights / class_weights.sum()
        self.weights = torch.as_tensor(w, dtype=torch.float32, device=device)
        super().__init__(moments, device, eval_size, seed)
        gen = torch.Generator(device=device).manual_seed(seed + 104729)
        self._train = self._draw(max(eval_size, 4096), gen)  # labelled bank for kNN / probes

    def _draw(self, n: int, gen: torch.Generator) -> Batch:
        y = torch.multinomial(self.weights, n, replacement=True, generator=gen)
        xi = torch.randn(n, self.dim, generator=gen, device=self.mean.device)
        return Batch(xi @ self.factor.T + self.mean + self.class_means[y], y)

    def train_set(self) -> Batch:
        return self._train


class ArraySource:
    """A stored dataset (train split for SSL, test split for evaluation); batches by seeded permutations."""

    def __init__(self, train_x: Tensor, train_y: Tensor | None, test_x: Tensor, test_y: Tensor | None,
                 device: torch.device, seed: int, eval_size: int) -> None:
        if train_x.shape[0] < 2:
            raise DataError(f"the dataset has {train_x.shape[0]} examples; SSL needs at least 2")
        self.scale = 1.0 / 255.0 if train_x.dtype == torch.uint8 else 1.0
        self.x, self.y = train_x.to(device), None if train_y is None else train_y.to(device)
        self.test_x = test_x[:eval_size].to(device)
        self.test_y = None if test_y is None else test_y[:eval_size].to(device)
        self.shape = tuple(train_x.shape[1:])
        self.is_image = len(self.shape) == 3
        self.dim = int(np.prod(self.shape))
        self.seed = seed
        self._epoch, self._perm = -1, torch.empty(0)

    def _float(self, x: Tensor) -> Tensor:
        return x.float() * self.scale if self.scale != 1.0 else x.float()

    def batch(self, step: int, n: int, gen: torch.Generator) -> Batch:
        if n > self.x.shape[0]:
            raise DataError(f"batch size {n} exceeds the dataset size {self.x.shape[0]}; "
                            "lower schedule.batch_size")
        per_epoch = self.x.shape[0] // n  # drop the last partial batch, as SimCLR does
        epoch, b = divmod(step, per_epoch)
        if epoch != self._epoch:  # the permutation depends on (seed, epoch) only: resume-safe without state
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.x.shape[0], generator=g).to(self.x.device)
        idx = self._perm[b * n:(b + 1) * n]
        return Batch(self._float(self.x[idx]), None if self.y is None else self.y[idx])

    def eval_set(self) -> Batch:
        return Batch(self._float(self.test_x), self.test_y)

    def train_set(self) -> Batch:
        return Batch(self._float(self.x), self.y)


# ---- readers --------------------------------------------------------------------------------------------

def load_array(path: Path, what: str = "data") -> np.ndarray:
    """An array from .npy / .npz / .pt / .csv (`sslscape.io.load_array`), as a DataError on failure."""
    try:
        return _io_load_array(path, what)
    except DataError:
        raise
    except UserError as err:
        raise DataError(str(err)) from err


def check_examples(x: np.ndarray, name: str) -> np.ndarray:
    """(n, D) vectors, or images (n, H, W), (n, H, W, C), (n, C, H, W) — read as `sslscape estimate` reads them
    (`sslscape.datasets.image_array`: the channel axis inferred, else a one-line DataError) — with finite values;
    images become (n, C, H, W). A 2-D array stays vectors (training's noise augmentation needs them)."""
    if x.ndim not in (2, 3, 4) or x.shape[0] < 2:
        raise DataError(f"data file {name!r} has shape {x.shape}; expected (n, D) vectors, (n, H, W), (n, H, W, C) or "
                        "(n, C, H, W) images with n ≥ 2")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        bad = int((~np.isfinite(x.reshape(len(x), -1))).any(axis=1).sum())
        raise DataError(f"data file {name!r} has {bad} examples with NaN/Inf; clean or drop them first")
    return x if x.ndim == 2 else np.ascontiguousarray(image_array(x, name)[0])


def build_source(data: DataConfig, moments: Moments | None, device: torch.device,
                 seed: int) -> GaussianSource | ArraySource:
    """The source named by `data.source` (see DataConfig), on `device`; paths were resolved by `load_config`."""
    resolve = Path

    if data.source == "spec":
        return GaussianSource(moments, device, data.eval_size, seed)
    if data.source == "mixture":
        weights = np.asarray(data.class_weights if data.class_weights is not None else [1.0, 1.0], float)
        if data.class_means is not None:
            means = np.asarray(data.class_means, float)
        else:
            k = len(weights)
            if k > moments.dim:
                raise DataError(f"{k} classes need data.class_means: the spec has only {moments.dim} "
                                "dimensions")
            means = data.class_separation * np.eye(k, moments.dim)
        return MixtureSource(moments, device, data.eval_size, seed, means, weights)
    if data.source == "fashion_mnist":
        tx, ty, vx, vy = load_fashion_mnist(resolve(data.path) if data.path else None)
        tx, vx = tx[:, None], vx[:, None]
    elif data.source == "digits":
        tx, ty, vx, vy = load_digits_arrays(seed)
        tx, vx = tx[:, None], vx[:, None]
    elif data.source == "file":
        if data.path is None:
            raise DataError("data.source 'file' needs data.path (a .npy/.npz/.pt array)")
        x = check_examples(load_array(resolve(data.path)), data.path)
        y = None
        if data.labels is not None:
            y = load_array(resolve(data.labels), "labels").reshape(-1)
            if y.shape[0] != x.shape[0]:
                raise DataError(f"labels file {data.labels!r} has {y.shape[0]} entries but the data has "
                                f"{x.shape[0]} examples; give one label per example")
            y = y.astype(np.int64)
        tx, ty, vx, vy = split_train_test(x, y, seed)
    elif data.source == "folder":
        if data.path is None:
            raise DataError("data.source 'folder' needs data.path (a folder of images, one sub-folder per "
                            "class)")
        x, y = load_image_folder(resolve(data.path), data.image_size)
        tx, ty, vx, vy = split_train_test(x, y, seed)
    else:  # pragma: no cover - pydantic restricts the choices
        raise DataError(f"unknown data.source {data.source!r}")
    if data.subset is not None and data.subset < len(tx):
        keep = np.random.default_rng(seed).permutation(len(tx))[:data.subset]
        tx, ty = tx[keep], None if ty is None else ty[keep]

    def tensor(a: np.ndarray) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(a if a.dtype == np.uint8 else a.astype(np.float32)))

    return ArraySource(tensor(tx), None if ty is None else torch.from_numpy(ty.astype(np.int64)),
                       tensor(vx), None if vy is None else torch.from_numpy(vy.astype(np.int64)),
                       device, seed, data.eval_size)
