"""The one place where theory meets measurement.

- `compare_embeddings(diagnosis, prediction)`: a measured `Diagnosis` beside a theory `Prediction`
  (`sslscape diagnose --spec`).
- `compare_training(spec)`: train the spec's own linear / deep-linear model on the spec's own Gaussian data with the
  exact sample loss (`compare_config`: Adam, cosine schedule to 0 so the last iterate sits at the minimum, 3,000
  steps at lr 1e-2) and lay each seed's spectrum eig(W C Wᵀ) over the prediction (`sslscape compare`). Near a
  critical value the dynamics slow down: a seed whose rank could still change at the end of its run (`still_moving`:
  the spectrum half-way and at the end) is trained again with 2× and then 4× the steps; the result records each
  seed's steps and whether it settled. SimSiam/BYOL have no minimum to reach: the theory integrates the
  trainer's own schedule, so their runs are never extended.

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
from .recipe import BATCH, LR, STEPS
from .result import Result
from .spec import PREDICTIVE, Spec
from .theory.prediction import Prediction

COMPARE_STEPS, COMPARE_LR, COMPARE_BATCH = STEPS, LR, BATCH  # the trainer's recipe (sslscape.recipe)
CONVERGE_DOUBLINGS = 2  # a seed still moving is retrained with 2× and then 4× the steps
MOVING = 1.25  # a boundary direction whose share of the top variance changed by more than this factor: moving
MOVING_FLOOR = 1e-6  # dropped directions below this share of the top are rounding/noise, not candidates
Predictor = Callable[[Spec, str], Prediction]


def _shape(spectrum: Any) -> np.ndarray:
    lam = np.clip(np.sort(np.asarray(spectrum, dtype=np.float64))[::-1], 0.0, None)
    top = lam[0] if lam.size else 0.0
    return lam / top if top > 0 else np.zeros_like(lam)  # a completely collapsed spectrum has no shape


@dataclass(frozen=True, kw_only=True)
class TheoryComparison(Result):
    """A measured diagnosis beside the theory: ranks by the agreement rule, spectra by shape (λ_k / λ_1)."""

    measured_rank: int
    predicted_rank: int                 # `Prediction.rank`: the point answer, by the collapse rule
    predicted_range: tuple[int, int]    # `Prediction.rank_range`: agreement means the measured rank lies in it
    alive: int  # directions alive in the theory (its own count, before the collapse rule)
    agree: bool
    measured_phase: str
    predicted_phase: str
    order: str
    solver: str
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
    rule = agreement(prediction.spectrum, diagnosis.rank, predicted_rank_max=prediction.alive_max,
                     predicted_rank_min=prediction.alive_min)
    return TheoryComparison(
        measured_rank=diagnosis.rank, predicted_rank=prediction.rank, predicted_range=prediction.rank_range,
        alive=prediction.alive, agree=rule.agree, measured_phase=diagnosis.phase,
        predicted_phase=prediction.phase, order=prediction.order, solver=prediction.solver,
        measured_spectrum=tuple(float(v) for v in measured), predicted_spectrum=tuple(float(v) for v in predicted),
        spectrum_distance=float(np.max(np.abs(measured - predicted))) if measured.size else 0.0)


@dataclass(frozen=True, kw_only=True)
class CompareResult(Result):
    """`compare_training`'s answer: the prediction (its rank range by the collapse rule, the theory's own count
    `alive`, the solver and order that answered), every seed's trained spectrum and rank, and the agreement."""

    predicted_rank: int
    predicted_range: tuple[int, int]
    alive: int
    predicted_spectrum: tuple[float, ...]
    phase: str
    order: str
    solver: str
    trained_ranks: tuple[int, ...]
    trained_spectra: tuple[tuple[float, ...], ...]
    seeds: tuple[int, ...]
    agree: bool
    steps: int
    batch_size: int
    wall_s: float
    rule: str = RULE
    trained_steps: tuple[int, ...] = ()  # per seed: the steps of the run whose rank is reported
    settled: tuple[bool, ...] = ()      # per seed: False if its rank was still moving at the longest run


def still_moving(half: Any, end: Any, half_rank: int, end_rank: int) -> bool:
    """True when a run's collapse rank may still change with more training (module docstring).

    half, end: the trained spectra (descending) at half of the run and at its end; half_rank, end_rank: their
    collapse ranks. Moving: the ranks differ, or — each eigenvalue taken as its share of the top one — the weakest
    kept direction lost more than `MOVING`× of its share over the second half (still decaying toward the cut), or
    the strongest dropped one above `MOVING_FLOOR` gained as much (still growing toward it). A direction settling
    at its non-zero equilibrium changes by a few percent over that half; a dying one keeps falling exponentially.
    """
    a, b = _shape(half), _shape(end)
    if half_rank != end_rank:
        return True
    if not a.size or a[0] == 0 or b[0] == 0:
        return False
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = b / a
    weakest_kept = end_rank - 1
    if 0 < end_rank and weakest_kept > 0 and ratio[weakest_kept] < 1 / MOVING:
        return True
    strongest_dropped = end_rank
    return bool(strongest_dropped < b.size and b[strongest_dropped] > MOVING_FLOOR
                and ratio[strongest_dropped] > MOVING)


def compare_config(spec: Spec, seed: int, steps: int | None = None, lr: float | None = None,
                   batch_size: int | None = None, optimizer: str = "adam", log_every: int = 10**9) -> Any:
    """The training recipe `compare_training` uses for the spec's linear / deep-linear model (a TrainConfig)."""
    from .training.config import TrainConfig

    return TrainConfig.model_validate({
        "spec": spec, "seed": seed, "device": "cpu",
        "model": {"kind": "auto"}, "optimizer": {"name": optimizer, "weight_decay_mode": "l2"},
        "data": {"source": "spec", "augment": "noise", "eval_size": 16},
        "schedule": {"steps": steps or COMPARE_STEPS, "lr": lr or COMPARE_LR, "kind": "cosine",
                     "batch_size": batch_size or spec.batch_size or COMPARE_BATCH,
                     "log_every": log_every, "checkpoint_every": 10**9}})


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
    ranks, spectra, used, settled = [], [], [], []
    dim = moments_of(spec).dim
    doublings = 0 if spec.objective in PREDICTIVE else CONVERGE_DOUBLINGS
    with torch_threads(1 if dim <= 256 else None):
        for i in range(seeds):
            n = steps or COMPARE_STEPS
            for attempt in range(doublings + 1):
                cfg = compare_config(spec, spec.seed + i, n, lr, batch_size, log_every=max(n // 2, 1))
                lines: dict[int, dict] = {}
                result = train(cfg, None, progress=lambda done, total, line, lines=lines: (
                    lines.setdefault(line["step"], line) if line else None))
                half = lines.get(max(n // 2, 1))
                moving = (doublings > 0 and half is not None
                          and still_moving(half["spectrum"], result.spectrum, half["rank"], result.rank))
                if not moving or attempt == doublings:
                    break
                n *= 2
            ranks.append(result.rank)
            spectra.append(result.spectrum)
            used.append(n)
            settled.append(not moving)
            if progress is not None:
                progress(i + 1, seeds)
    rules = [agreement(pred.spectrum, r, predicted_rank_max=pred.alive_max, predicted_rank_min=pred.alive_min)
             for r in ranks]
    return CompareResult(
        predicted_rank=pred.rank, predicted_range=pred.rank_range,
        alive=pred.alive, predicted_spectrum=tuple(float(v) for v in pred.spectrum), phase=pred.phase,
        order=pred.order, solver=pred.solver, trained_ranks=tuple(ranks),
        trained_spectra=tuple(tuple(s) for s in spectra),
        seeds=tuple(spec.seed + s for s in range(seeds)), agree=all(r.agree for r in rules),
        steps=steps or COMPARE_STEPS, batch_size=cfg.batch_size(spec), wall_s=time.perf_counter() - t0,
        trained_steps=tuple(used), settled=tuple(settled))


def write_compare(result: CompareResult, out_dir: Path, title: str = "") -> tuple[Path, Path]:
    """compare.json and compare.png in `out_dir`, both written atomically."""
    from .io import atomic_write_json
    from .report.compare_plot import plot_compare

    out_dir.mkdir(parents=True, exist_ok=True)
    png = plot_compare(result, out_dir / "compare.png", title)
    return png, atomic_write_json(out_dir / "compare.json", result.to_dict())
