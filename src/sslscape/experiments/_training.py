"""The one place where sslscape.experiments calls sslscape.training (an API change is fixed here only).

Used from the training engine: `parse_config` + `train` (exact sample losses of `sslscape.objectives` plus
explicit L2 γ Σ‖W_l‖², Adam, cosine schedule), its Gaussian / mixture / digits / file sources, its kNN and
kNN evaluator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..diagnostics.probe import knn_accuracy
from ..spec import Spec
from ..training import parse_config, train

__all__ = ["Trained", "knn_accuracy_np", "train_spec"]


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
    Gaussian (or `data`, a sslscape.training DataConfig mapping), Adam + explicit L2, cosine lr; CPU, no files."""
    model_cfg = {"init_scale": init_scale, **({"width": width} if width else {}), **(model or {})}
    config = parse_config({
        "spec": spec.model_dump(mode="json"), "model": model_cfg, "data": data or {"source": "spec"},
        "schedule": {"steps": steps, "batch_size": batch_size, "lr": lr, "log_every": steps,
                     "checkpoint_every": steps + 1},
        "eval": {"knn": knn, "linear_probe": probe}, "device": "cpu", "seed": seed})
    result = train(config, None)
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




def train_at(spec: Spec, params: dict, seed: int, **kwargs: Any) -> Trained:
    """`train_spec` with a grid point's `steps` and `lr` (every experiment's point carries both)."""
    return train_spec(spec, steps=params["steps"], seed=seed, lr=params["lr"], **kwargs)
