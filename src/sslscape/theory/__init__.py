"""Theory (pure: no CLI, no rich, no report): the quartic landscape around W = 0 and its closed-form minima, the
finite-batch InfoNCE learned point, the SimSiam/BYOL per-direction closed form, the exact solver, phase diagrams.
Derivations and the tests that check them: docs/theory.md.

    from sslscape.theory import predict
    p = predict(spec)            # Prediction: rank, phase, spectrum, thresholds; p.solver / p.order: who answered
    p = predict(spec, "exact")   # the numerical referee (progress=, max_seconds=, say= for long solves)

Which solver answers is one table, `sslscape.theory.solvers.SOLVERS` (docs/theory.md §8).

Importing this package (and `predict` on a closed-form spec) never loads torch; scipy modules load where used.
"""

from __future__ import annotations

from typing import Any

from .landscape import Landscape, landscape, quartic_loss
from .predict import predict
from .prediction import Prediction, TheoryDeclined, Thresholds
from .solve import Minimum, critical_values, minimum
from .solvers import ORDERS, SOLVERS, Budget, Order, Plan, Solver, plan

__all__ = ["ORDERS", "SOLVERS", "Budget", "ExactSolution", "Landscape", "Minimum", "Order", "Plan", "Prediction",
           "Solver", "TheoryDeclined", "Thresholds", "critical_values", "exact_solution", "landscape", "minimum",
           "plan", "predict", "quartic_loss"]


def __getattr__(name: str) -> Any:
    # the exact solver (torch) on first use (PEP 562): `predict` on a closed-form spec never loads torch
    if name in ("ExactSolution", "exact_solution"):
        from . import exact

        return getattr(exact, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
