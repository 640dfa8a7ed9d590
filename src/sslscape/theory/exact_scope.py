"""What the exact solver's rows cover (`exact_lbfgs`, `exact_dynamics` of `sslscape.theory.solvers`): the rows' `covers`
live here, apart from `theory/exact.py`, so that planning a spec (`solvers.plan`: the explorer, phase diagrams'
cell limits, the CLI's announcements) never imports torch; solving with those rows does (`theory/exact.py`)."""

from __future__ import annotations

from ..moments import Moments
from ..objectives.registry import PREDICTIVE
from ..spec import Spec


def covers_lbfgs(spec: Spec, moments: Moments) -> str | None:
    """None for every objective with a loss to minimise (all but SimSiam/BYOL)."""
    if spec.objective in PREDICTIVE:
        return f"{spec.objective} has no loss whose minimum is the learned state (row exact_dynamics integrates it)"
    return None


def covers_dynamics(spec: Spec, moments: Moments) -> str | None:
    """None for SimSiam/BYOL (the integrated stop-gradient dynamics)."""
    return None if spec.objective in PREDICTIVE else f"objective {spec.objective}: the dynamics are SimSiam's/BYOL's"
