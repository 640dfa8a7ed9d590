"""Measured vs predicted: put `sslscape.theory.predict(spec)` next to the diagnosis of trained embeddings.

Ranks follow the one agreement rule (`rank.agreement`): the predicted spectrum is cut by the same collapse rule
as the measured one, and they agree when the measured collapse rank lies in the predicted range (the depth ≥ 2
metastable band widens it upwards). Spectra are compared by shape only — each divided by its own top eigenvalue —
because the overall scale depends on the training run (learning rate, steps, init);
`spectrum_distance` = max_k |λ̂_k/λ̂_1 − λ_k/λ_1| ∈ [0, 1] (0 = same shape).

The theory package is imported inside `predict_from_spec`, so diagnostics keep working if it is broken.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import UserError
from .diagnosis import Diagnosis
from .rank import RULE, agreement


class PredictionLike(Protocol):
    """What we read from `sslscape.theory.Prediction`."""

    rank: int
    rank_max: int
    phase: str
    spectrum: tuple[float, ...]


@dataclass(frozen=True)
class TheoryComparison:
    measured_rank: int
    predicted_rank: int
    predicted_rank_max: int
    theory_rank: int  # directions alive in the theory (its own count, before the collapse rule)
    agree: bool
    measured_phase: str
    predicted_phase: str
    measured_spectrum: tuple[float, ...]  # λ_k / λ_1, descending, length d
    predicted_spectrum: tuple[float, ...]  # λ̂_k / λ̂_1, descending, length d
    spectrum_distance: float
    rule: str = RULE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def _shape(spectrum: Any) -> np.ndarray:
    lam = np.clip(np.sort(np.asarray(spectrum, dtype=np.float64))[::-1], 0.0, None)
    top = lam[0] if lam.size else 0.0
    return lam / top if top > 0 else np.zeros_like(lam)  # a completely collapsed spectrum has no shape


def compare_to_theory(diagnosis: Diagnosis, prediction: PredictionLike) -> TheoryComparison:
    """Compare a Diagnosis with a theory Prediction of the same embedding dimension (UserError otherwise)."""
    predicted = _shape(prediction.spectrum)
    if predicted.size != diagnosis.dim:
        raise UserError(
            f"the spec predicts {predicted.size}-dimensional embeddings but the file has d = "
            f"{diagnosis.dim}; set embed_dim = {diagnosis.dim} in the spec"
        )
    measured = _shape(diagnosis.eigenvalues)
    rule = agreement(prediction.spectrum, diagnosis.rank, predicted_rank_max=getattr(prediction, "rank_max", None))
    return TheoryComparison(
        measured_rank=diagnosis.rank,
        predicted_rank=rule.predicted_rank,
        predicted_rank_max=rule.predicted_rank_max,
        theory_rank=int(prediction.rank),
        agree=rule.agree,
        measured_phase=diagnosis.phase,
        predicted_phase=str(prediction.phase),
        measured_spectrum=tuple(float(v) for v in measured),
        predicted_spectrum=tuple(float(v) for v in predicted),
        spectrum_distance=float(np.max(np.abs(measured - predicted))) if measured.size else 0.0,
    )


def predict_from_spec(spec_path: str | Path, order: str = "quartic") -> PredictionLike:
    """Load a spec file and run the theory on it (imported lazily: a broken theory only breaks --spec)."""
    from ..spec import load_spec

    spec, base_dir = load_spec(spec_path)
    try:
        from ..theory import predict
    except Exception as exc:
        raise UserError(
            f"the theory package cannot be imported ({type(exc).__name__}: {exc}); "
            "run diagnose without --spec"
        ) from exc
    return predict(spec, order=order, base_dir=base_dir)
