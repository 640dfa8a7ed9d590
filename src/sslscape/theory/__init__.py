"""Theory (pure: no CLI, no rich, no report): the quartic landscape around W = 0, its closed-form minima, the exact
solver, phase diagrams. Derivations and the tests that check them: docs/theory.md.

    from sslscape.theory import predict
    p = predict(spec)            # Prediction: rank, phase, spectrum, thresholds (closed form, milliseconds)
"""

from __future__ import annotations

from typing import Any

from .landscape import Landscape, landscape, quartic_loss
from .predict import Prediction, Thresholds, critical_values, predict
from .solve import Minimum, minimum

__all__ = ["ExactSolution", "Landscape", "Minimum", "Prediction", "Thresholds", "critical_values", "exact_solution",
           "landscape", "minimum", "predict", "quartic_loss"]


def __getattr__(name: str) -> Any:
    # the exact solver (torch) on first use (PEP 562): `predict` on a closed-form spec never loads torch
    if name in ("ExactSolution", "exact_solution"):
        from . import exact

        return getattr(exact, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
