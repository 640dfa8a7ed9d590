"""The one place where sslscape.experiments calls sslscape.train (an API change is fixed here only).

Used from the training engine: `parse_config` + `train` (exact sample losses of `sslscape.objectives` plus
explicit L2 γ Σ‖W_l‖², Adam, cosine schedule), its Gaussian / mixture / digits / file sources, its kNN and
linear-probe evaluators and its image augmentation (for `estimate`'s Monte-Carlo crops).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..spec import Spec
from ..train import knn_accuracy, parse_config, train
from ..train.data import load_digits_arrays, load_fashion_mnist

__all__ = ["Trained", "train_spec", "knn_accuracy_np", "load_digits_arrays", "load_fashion_mnist",
           "image_crop_views"]


@dataclass(frozen=True)
class Trained:
    """What an experiment keeps of a run (JSON-able except `weight`, a (d, D) numpy array or None)."""

    rank: int
    effective_rank: float
    spectrum: list[float]
    final_loss: float
    knn: float | None
    probe: float | None
    weight: np.ndarray | None = field(repr=False, default=None)
    bias: np.ndarray | None = field(repr=False, default=None)

    def summary(self) -> dict[str, Any]:
        return {"rank": self.rank, "effective_rank": self.effective_rank, "spectrum": self.spectrum,
                "final_loss": self.final_loss, "knn": self.knn, "probe": self.probe}


def train_spec(spec: Spec, *, steps: int, batch_size: int = 256, lr: float = 0.02, seed: int = 0,
               init_scale: float = 1.0, width: int | None = None, data: dict | None = None,
               model: dict | None = None, knn: bool = False, probe: bool = False) -> Trained:
    """Train the spec's encoder (linear / deep linear by spec.depth unless `model` says otherwise) on the spec's
    Gaussian (or `data`, a sslscape.train DataConfig mapping), Adam + explicit L2, cosine lr; CPU, no files."""
    model_cfg = {"init_scale": init_scale, **({"width": width} if width else {}), **(model or {})}
    config = parse_config({
        "spec": spec.model_dump(mode="json"), "model": model_cfg, "data": data or {"source": "spec"},
        "schedule": {"steps": steps, "batch_size": batch_size, "lr": lr, "log_every": steps,
                     "checkpoint_every": steps + 1},
        "eval": {"knn": knn, "linear_probe": probe}, "device": "cpu", "seed": seed})
    result = train(config, None, progress=False)
    weight = bias = None
    w = result.model.effective_weight()
    if w is not None:
        weight = w.detach().double().numpy().copy()
        b = getattr(result.model.backbone, "bias", None)
        bias = None if b is None else b.detach().double().numpy().copy()
    return Trained(result.rank, float(result.effective_rank), [float(v) for v in result.spectrum],
                   float(result.final_loss), result.knn_accuracy, result.linear_probe_accuracy, weight, bias)


def knn_accuracy_np(train_z: np.ndarray, train_y: np.ndarray, test_z: np.ndarray, test_y: np.ndarray,
                    k: int = 20) -> float:
    t = lambda a: torch.as_tensor(np.asarray(a))  # noqa: E731
    return knn_accuracy(t(train_z).float(), t(train_y).long(), t(test_z).float(), t(test_y).long(), k=k)


def image_crop_views(x: np.ndarray, side: int, min_area: float, seed: int) -> np.ndarray:
    """Random resized crops (no flip, no jitter) of flattened grey images, via the trainer's ImageAugment."""
    from ..train.augment import ImageAugment
    from ..train.config import ImageAugment as ImageAugmentConfig

    cfg = ImageAugmentConfig(crop_scale=[min_area, 1.0], flip=False, brightness=0.0, contrast=0.0, blur_prob=0.0)
    gen = torch.Generator().manual_seed(seed)
    imgs = torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, side, side)
    return ImageAugment(cfg).crop_flip(imgs, gen).reshape(len(x), -1).double().numpy()


def file_split(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The train/test split the trainer's `data.source: file` makes for this seed (its own function)."""
    from ..train.data import _split

    return _split(x, y, seed)


def real_dataset(name: str, limit: int | None = None, downsample: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    """(x (n, D) float in [0, 1], labels, image side) for 'digits' or 'fashion-mnist' (train split)."""
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        x, y, side = d.images / 16.0, d.target, 8
    elif name in ("fashion-mnist", "fashion_mnist"):
        tx, ty, _, _ = load_fashion_mnist()
        x, y, side = tx / 255.0, ty, 28
    else:
        raise ValueError(f"unknown dataset {name!r}")
    if downsample > 1:
        n, s = x.shape[0], side // downsample
        x = x[:, : s * downsample, : s * downsample].reshape(n, s, downsample, s, downsample).mean((2, 4))
        side = s
    x = x.reshape(len(x), -1)
    if limit is not None and limit < len(x):
        keep = np.random.default_rng(0).permutation(len(x))[:limit]
        x, y = x[keep], y[keep]
    return x.astype(np.float64), np.asarray(y, np.int64), side
