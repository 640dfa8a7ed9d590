"""`compare`: train a spec's own model on the spec's own data and lay the result over the theory's prediction.

For each seed the spec's linear / deep-linear encoder is trained with the exact sample loss on Gaussian data
drawn from the spec (C, μ, additive noise S), batch size spec.batch_size (default 1024), Adam with a cosine
schedule to 0 so that the final iterate sits at the minimum rather than rattling around it. The trained
spectrum is eig(W C Wᵀ) of the end-to-end W, cut by the collapse rule (`train.metrics`). `agree` follows the one
agreement rule (`diagnose.rank.agreement`): every seed's collapse rank lies in the predicted range — the
predicted spectrum cut by the same rule, up to the number of locally stable directions for depth ≥ 2 (there
W = 0 and a direction's non-zero state are both local minima up to the spinodal γ_sp, so which one a run keeps
depends on its initialisation, and the theory says only this range).

Default recipe (checked on DESIGN.md's example specs): 3,000 steps of Adam at lr 1e-2 — weight decay then has
pushed collapsed directions ≥ 5 decades below the survivors, except within a few percent of a critical value,
where the dynamics slow down (critical slowing down) and more steps are needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._threads import torch_threads
from ..diagnose.rank import RULE, agreement
from ..spec import Spec
from .checkpoint import atomic_write_bytes, atomic_write_json
from .config import TrainConfig
from .loop import train

COMPARE_STEPS = 3000
COMPARE_LR = 1e-2
COMPARE_BATCH = 1024


@dataclass(frozen=True)
class CompareResult:
    predicted_rank: int
    predicted_rank_max: int   # = predicted_rank, except depth ≥ 2: locally stable directions (see module doc)
    predicted_spectrum: tuple[float, ...]
    phase: str
    order: str
    trained_ranks: tuple[int, ...]
    trained_spectra: tuple[tuple[float, ...], ...]
    seeds: tuple[int, ...]
    agree: bool
    steps: int
    batch_size: int
    wall_s: float
    theory_rank: int = 0  # directions alive in the theory before the collapse rule
    rule: str = RULE

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["predicted_spectrum"] = list(self.predicted_spectrum)
        d["trained_ranks"] = list(self.trained_ranks)
        d["trained_spectra"] = [list(s) for s in self.trained_spectra]
        d["seeds"] = list(self.seeds)
        return d


def compare_config(spec: Spec, seed: int, steps: int | None = None, lr: float | None = None,
                   batch_size: int | None = None) -> TrainConfig:
    """The training recipe `compare` uses for the spec's linear / deep-linear model."""
    return TrainConfig.model_validate({
        "spec": spec, "seed": seed, "device": "cpu",
        "model": {"kind": "auto"}, "optimizer": {"name": "adam", "weight_decay_mode": "l2"},
        "data": {"source": "spec", "augment": "noise", "eval_size": 16},
        "schedule": {"steps": steps or COMPARE_STEPS, "lr": lr or COMPARE_LR, "kind": "cosine",
                     "batch_size": batch_size or spec.batch_size or COMPARE_BATCH,
                     "log_every": 10**9, "checkpoint_every": 10**9}})


def compare(spec: Spec, *, seeds: int = 3, steps: int | None = None, order: str = "quartic",
            base_dir: Path | None = None, lr: float | None = None, batch_size: int | None = None,
            progress: bool = False, predict_fn: Callable[..., Any] | None = None) -> CompareResult:
    """Predict the spec's learned spectrum, train it with `seeds` seeds, and compare ranks."""
    if predict_fn is None:
        from ..theory import predict as predict_fn  # imported lazily: training never needs the theory
    if base_dir is not None and spec.data.samples is not None and not spec.data.samples.is_absolute():
        spec = spec.with_updates(**{"data.samples": str(base_dir / spec.data.samples)})
    t0 = time.perf_counter()
    pred = predict_fn(spec, order=order, base_dir=base_dir)
    ranks, spectra = [], []
    with torch_threads(1 if spec.moments().dim <= 256 else torch.get_num_threads()):
        for seed in range(seeds):
            cfg = compare_config(spec, spec.seed + seed, steps, lr, batch_size)
            result = train(cfg, None, progress=progress)
            ranks.append(result.rank)
            spectra.append(result.spectrum)
    rules = [agreement(pred.spectrum, r, predicted_rank_max=pred.rank_max) for r in ranks]
    return CompareResult(
        predicted_rank=rules[0].predicted_rank, predicted_rank_max=rules[0].predicted_rank_max,
        predicted_spectrum=tuple(float(v) for v in pred.spectrum),
        phase=str(pred.phase), order=order, trained_ranks=tuple(ranks), trained_spectra=tuple(spectra),
        seeds=tuple(spec.seed + s for s in range(seeds)), agree=all(r.agree for r in rules),
        steps=cfg.schedule.steps, batch_size=cfg.batch_size(spec), wall_s=time.perf_counter() - t0,
        theory_rank=int(pred.rank))


def plot_compare(result: CompareResult, title: str = "") -> bytes:
    """PNG bytes: predicted spectrum as a line, each seed's trained spectrum as markers, log y axis.

    Zeros cannot sit on a log axis, so eigenvalues below 1e-12 × the largest are drawn on that floor (dotted).
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pred = np.asarray(result.predicted_spectrum, float)
    top = max([pred.max(initial=0.0)] + [max(s, default=0.0) for s in result.trained_spectra]) or 1.0
    floor = 1e-12 * top
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    k = np.arange(1, len(pred) + 1)
    ax.plot(k, np.maximum(pred, floor), "-", color="black", lw=2,
            label=f"theory ({result.order}), rank {result.predicted_rank}")
    markers = "osD^v<>p*h"
    for i, (seed, spec_, rank) in enumerate(zip(result.seeds, result.trained_spectra, result.trained_ranks,
                                                strict=True)):
        s = np.maximum(np.asarray(spec_, float), floor)
        ax.plot(np.arange(1, len(s) + 1), s, markers[i % len(markers)], ms=7, mfc="none",
                label=f"trained, seed {seed}: rank {rank}")
    ax.axhline(floor, ls=":", color="lightgrey", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("direction k (eigenvalues, descending)")
    ax.set_ylabel("eigenvalue of embedding covariance W C Wᵀ")
    verdict = "agree" if result.agree else "DISAGREE"
    ax.set_title(title or f"theory vs training ({verdict})")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def write_compare(result: CompareResult, out_dir: Path, title: str = "") -> tuple[Path, Path]:
    """compare.json and compare.png in out_dir, both written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png, js = out_dir / "compare.png", out_dir / "compare.json"
    atomic_write_bytes(png, plot_compare(result, title))
    atomic_write_json(js, result.to_json())
    return png, js
