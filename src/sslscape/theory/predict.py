"""`predict`: rank, phase, spectrum and critical values of an SSL problem — the front door of the theory.

    from sslscape.theory import predict
    p = predict(spec)                    # order 'auto': the first solver of the table that covers the spec
    p.rank, p.rank_range, p.solver      # what training is predicted to reach; which solver answered, and why (p.why)
    p = predict(spec, "exact", max_seconds=60, progress=cb, say=print)   # the numerical referee, bounded

Which solver answers is decided in one place, the solver table `sslscape.theory.solvers` (orders, solvers, cost
classes, how `auto` resolves; docs/theory.md §8). The answer types are `sslscape.theory.prediction`'s; the quartic
order's critical values (`critical_values`) are `sslscape.theory.solve`'s. This module only forwards.
"""

from __future__ import annotations

from collections.abc import Callable

from ..spec import SpecLike, as_spec
from .prediction import (
    PHASE_CODES,
    Phase,
    Prediction,
    Progress,
    TheoryDeclined,
    Thresholds,
    capacity_of,
    phase_codes,
    phase_of,
    refuse_theory_gaps,
)
from .solve import critical_values
from .solvers import ORDERS, Budget, Order, Plan, plan, solve


def predict(spec: SpecLike, order: str | Order = "auto", *, progress: Progress | None = None,
            max_seconds: float | None = None, say: Callable[[str], None] | None = None,
            budget: Budget | None = None) -> Prediction:
    """Predict the learned representation of `spec` (a Spec, a dict or a spec file path: `sslscape.spec.as_spec`)
    with `order` (default 'auto'; `sslscape.theory.solvers`).

    A numerical solve calls `progress(done, expected)` per evaluation, stops after `max_seconds` with the best
    answer so far (`converged=False`, and a note) and is announced first through `say(line)` with its estimate
    (`budget` gives all three at once). Raises UserError for an unknown order or a spec with theory gaps, and
    TheoryDeclined (a UserError, one line naming the reasons) when no solver of an explicit order covers the spec.
    """
    spec = as_spec(spec)
    if budget is None:
        budget = Budget(max_seconds=max_seconds, progress=progress, say=say)
    return solve(spec, order, budget=budget)


__all__ = ["ORDERS", "PHASE_CODES", "Budget", "Order", "Phase", "Plan", "Prediction", "TheoryDeclined", "Thresholds",
           "capacity_of", "critical_values", "phase_codes", "phase_of", "plan", "predict", "refuse_theory_gaps"]
