"""The one place where theory meets measurement.

- `compare_embeddings(diagnosis, prediction)`: a measured `Diagnosis` beside a theory `Prediction`
  (`sslscape diagnose --spec`).
- `compare_training(spec)`: train the spec's own linear / deep-linear model on the spec's own Gaussian data with the
  exact sample loss (`compare_config`: Adam, cosine schedule to 0 so the last iterate sits at the minimum, 3,000
  steps at lr 1e-2; within a few percent of a critical value the dynamics slow down and need more steps) and lay
  each seed's spectrum eig(W C Wᵀ) over the prediction (`sslscape compare`).

Both use the one agreement rule, `sslscape.diagnostics.rank.agreement`: the predicted spectrum is cut by the same
collapse rule as the measured one; they agree when the measured collapse rank lies in the predicted range — up to
the number of locally stable directions for depth ≥ 2, where W = 0 and a direction's non-zero state are both local
minima up to the spinodal γ_sp (docs/theory.md), so which one training keeps depends on its initialisation.
Spectra are compared by shape (each divided by its own top eigenvalue): the overall scale depends on the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .diagnostics.diagnosis import Diagnosis
from .diagnostics.rank import RULE, agreement
from .errors import UserError
from .result import Result
from .spec import Spec
from .theory.predict import Prediction

COMPARE_STEPS = 3000
COMPARE_LR = 1e-2
COMPARE_BATCH = 1024
Predictor = Callable[[Spec, str], Prediction]


def _shape(spectrum: Any) -> np.ndarray:
    lam = np.clip(np.sort(np.asarray(spectrum, dtype=np.float64))[::-1], 0.0, None)
    top = lam[0] if lam.size else 0.0
    return lam / top if top > 0 else np.zeros_like(lam)  # a completely collapsed spectrum has no shape


@dataclass(frozen=True)
class TheoryComparison(Result):
    """A measured diagnosis beside the theory: ranks by the agreement rule, spectra by shape (λ_k / λ_1)."""

    measured_rank: int
    predicted_rank: int
    predicted_rank_max: int
    theory_rank: int  # directions alive in the theory (its own count, before the collapse rule)
    agree: bool
    measured_phase: str
    predicted_phase: str
    order: str
    measured_spectrum: tuple[float, ...]
    predicted_spectrum: tuple[float, ...]
    spectrum_distance: float  # max_k |λ̂_k/λ̂_1 − λ_k/λ_1| ∈ [0, 1] (0 = same shape)
    rule: str = RULE


def compare_embeddings(diagnosis: Diagnosis, prediction: Prediction) -> TheoryComparison:
    """Compare a Diagnosis with a Prediction of the same embedding dimension (UserError otherwise)."""
    predicted = _shape(prediction.spectrum)
    if predicted.size != diagnosis.dim:
        raise UserError(f"the spec predicts {predicted.size}-dimensional embeddings but the file has d = "
                        f"{diagnosis.dim}; set embed_dim = {diagnosis.dim} in the spec")
    measured = _shape(diagnosis.eigenvalues)
    rule = agreement(prediction.spectrum, diagnosis.rank, predicted_rank_max=prediction.rank_max)
    return TheoryComparison(
        measured_rank=diagnosis.rank, predicted_rank=rule.predicted_rank, predicted_rank_max=rule.predicted_rank_max,
        theory_rank=prediction.rank, agree=rule.agree, measured_phase=diagnosis.phase,
        predicted_phase=prediction.phase, order=prediction.order,
        measured_spectrum=tuple(float(v) for v in measured), predicted_spectrum=tuple(float(v) for v in predicted),
        spectrum_distance=float(np.max(np.abs(measured - predicted))) if measured.size else 0.0)


@dataclass(frozen=True)
class CompareResult(Result):
    """`compare_training`'s answer: the prediction, every seed's trained spectrum and rank, and the agreement."""

    predicted_rank: int
    predicted_rank_max: int
    theory_rank: int
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
    rule: str = RULE


def compare_config(spec: Spec, seed: int, steps: int | None = None, lr: float | None = None,
                   batch_size: int | None = None, optimizer: str = "adam") -> Any:
    """The training recipe `compare_training` uses for the spec's linear / deep-linear model (a TrainConfig)."""
    from .training.config import TrainConfig

    return TrainConfig.model_validate({
        "spec": spec, "seed": seed, "device": "cpu",
        "model": {"kind": "auto"}, "optimizer": {"name": optimizer, "weight_decay_mode": "l2"},
        "data": {"source": "spec", "augment": "noise", "eval_size": 16},
        "schedule": {"steps": steps or COMPARE_STEPS, "lr": lr or COMPARE_LR, "kind": "cosine",
                     "batch_size": batch_size or spec.batch_size or COMPARE_BATCH,
                     "log_every": 10**9, "checkpoint_every": 10**9}})


def compare_training(spec: Spec, *, seeds: int = 3, steps: int | None = None, order: str = "auto",
                     lr: float | None = None, batch_size: int | None = None,
                     predictor: Predictor | None = None,
                     progress: Callable[[int, int], None] | None = None) -> CompareResult:
    """Predict the spec's learned spectrum, train it with `seeds` seeds, and compare ranks (module docstring).

    `predictor(spec, order)` defaults to `sslscape.theory.predict`; `progress(done, total)` is called per seed.
    """
    from .moments import moments_of
    from .theory.predict import predict
    from .threads import torch_threads
    from .training.loop import train

    t0 = time.perf_counter()
    pred = (predictor or predict)(spec, order)
    ranks, spectra = [], []
    dim = moments_of(spec).dim
    with torch_threads(1 if dim <= 256 else None):
        for i in range(seeds):
            cfg = compare_config(spec, spec.seed + i, steps, lr, batch_size)
            result = train(cfg, None)
            ranks.append(result.rank)
            spectra.append(result.spectrum)
            if progress is not None:
                progress(i + 1, seeds)
    rules = [agreement(pred.spectrum, r, predicted_rank_max=pred.rank_max) for r in ranks]
    return CompareResult(
        predicted_rank=rules[0].predicted_rank, predicted_rank_max=rules[0].predicted_rank_max,
        theory_rank=pred.rank, predicted_spectrum=tuple(float(v) for v in pred.spectrum), phase=pred.phase,
        order=pred.order, trained_ranks=tuple(ranks), trained_spectra=tuple(tuple(s) for s in spectra),
        seeds=tuple(spec.seed + s for s in range(seeds)), agree=all(r.agree for r in rules),
        steps=cfg.schedule.steps, batch_size=cfg.batch_size(spec), wall_s=time.perf_counter() - t0)


def write_compare(result: CompareResult, out_dir: Path, title: str = "") -> tuple[Path, Path]:
    """compare.json and compare.png in `out_dir`, both written atomically."""
    from .io import atomic_write_json
    from .report.compare_plot import plot_compare

    out_dir.mkdir(parents=True, exist_ok=True)
    png = plot_compare(result, out_dir / "compare.png", title)
    return png, atomic_write_json(out_dir / "compare.json", result.to_dict())
