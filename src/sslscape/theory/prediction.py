"""The theory's answer types, shared by every solver: `Prediction`, `Thresholds` and the helpers that fill them.

No solving here and no dispatch (that is `sslscape.theory.solvers`): a solver module builds its answer with
`make_prediction(...)`, which computes the predicted rank range once, by the collapse rule of
`sslscape.diagnostics.rank` (`predicted_range`), and the phase from it. The dispatcher then records which solver,
order and cost class answered (`Prediction.solver`, `.order`, `.cost`, `.why`).

One name per quantity:
    rank, rank_range   what training is predicted to reach: the predicted spectrum cut by the collapse rule (the
                       rank a user compares with a run; `diagnostics.rank.agreement` uses the same cut), and the
                       range widened to the theory's locally stable directions (and, for a start-dependent answer,
                       down to the seed range's lower end)
    alive, alive_max   the theory's own count of surviving (dot SimSiam/BYOL: escaping) directions, and its upper
                       end (depth ≥ 2 metastable band; SimSiam/BYOL seed band; cosine InfoNCE threshold band)
    capacity           min(d, rank C): the most directions any knob can keep
    spectrum           the *predicted* embedding eigenvalues (`eigenvalues` is reserved for measured spectra)
    critical_*         per-direction critical values (`Thresholds`)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import UserError
from ..moments import Moments
from ..result import Result
from ..spec import Spec

Phase = Literal["none", "dimensional", "complete"]
PHASE_CODES: dict[str, int] = {"complete": 0, "dimensional": 1, "none": 2}
Progress = Callable[[int, int], None]
Values = tuple[float, ...]


def phase_of(rank: int, capacity: int) -> Phase:
    """'complete' (rank 0), 'none' (every direction the data has survives) or 'dimensional'."""
    return "complete" if rank == 0 else ("none" if rank >= capacity else "dimensional")


def phase_codes(rank: np.ndarray, capacity: int | np.ndarray) -> np.ndarray:
    """`phase_of` for an array of ranks, as PHASE_CODES (0 complete, 1 dimensional, 2 none)."""
    return np.where(rank == 0, 0, np.where(rank >= capacity, 2, 1))


@dataclass(frozen=True, kw_only=True)
class Thresholds(Result):
    """Critical values per direction, descending. None: not available for this spec; (): the knob never changes
    the rank.

    kind                        'global' (the values decide the global minimum), 'local_instability' (they decide
                                when W = 0 becomes unstable), 'learned_point' (finite-batch InfoNCE: the growth law
                                at the learned point, the other directions held there), 'escape' (dot
                                SimSiam/BYOL: γ below γ*_k makes direction k escape), 'escape_estimate' (BYOL dot,
                                unbalanced start: γ*_k by quadrature, inside `critical_weight_decay_range`),
                                'mean_field' (cosine SimSiam/BYOL), 'water_level' (VICReg: direction k is used iff
                                its cost m_k is below the water level ν, ν held at the solution), 'snr_level'
                                (standardised Barlow, cosine InfoNCE: used iff ρ_k > ρ_c, ρ_c held; weight decay
                                never acts) or 'none'
    order                       the order these values belong to ('' when there are none)
    critical_weight_decay       γ*_k above which direction k dies (dot SimSiam/BYOL: above which it collapses
                                instead of escaping)
    metastable_weight_decay     depth ≥ 2: the spinodal γ_sp,k up to which direction k stays locally stable
    critical_weight_decay_range BYOL dot: the bracket [λ_k min(w₀, p₀)/2, λ_k max(w₀, p₀)/2] that holds γ*_k for
                                every EMA rate
    critical_noise_scale        augmentation strengths s*_k at which direction k changes (empty: never)
    critical_temperature        τ*_k above which direction k dies (InfoNCE)
    critical_init_scale         depth ≥ 2: the initial scale s*_k below which direction k stays at W = 0 from the
                                trainer's typical start (the basin of W = 0)
    """

    kind: str = "none"
    order: str = ""
    critical_weight_decay: Values | None = None
    metastable_weight_decay: Values | None = None
    critical_weight_decay_range: tuple[tuple[float, float], ...] | None = None
    critical_noise_scale: Values | None = None
    critical_temperature: Values | None = None
    critical_init_scale: Values | None = None


@dataclass(frozen=True, kw_only=True)
class Prediction(Result):
    """The theory's answer for one spec (module docstring for the names; `to_dict()`/`to_json()` for files).

    rank, rank_range   the rank training is predicted to reach and its range (collapse rule, computed once)
    alive, alive_max   the theory's own count (dot SimSiam/BYOL: escaping directions) and its upper end;
                       alive_min: a start-dependent answer's lower end (None: the collapse cut is the lower end)
    capacity           min(d, rank C);  phase: 'none' | 'dimensional' | 'complete' (of `rank`)
    spectrum           predicted eigenvalues of W C Wᵀ (embedding covariance), descending, length d
    order, solver      the resolved order and the solver (a row of `sslscape.theory.solvers.SOLVERS`) that answered;
                       cost: its class ('closed_form' | 'quadrature' | 'numerical'); why: the plan's reason
    method             how, in detail (closed_form, closed_form_depth, learned_point, escape, dynamics, …)
    loss               the loss at the answer (None where no loss has the learned state as its minimum)
    converged          False when a numerical solve stopped at its time budget: the best answer so far
    positive_weight    InfoNCE: the positive pair's mean softmax weight p̄ at the answer (None where not computed)
    """

    rank: int
    rank_range: tuple[int, int]
    alive: int
    alive_max: int
    capacity: int
    alive_min: int | None = None
    phase: str
    spectrum: Values
    thresholds: Thresholds
    embed_dim: int
    method: str
    loss: float | None
    order: str = ""
    solver: str = ""
    cost: str = ""
    why: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    positive_weight: float | None = None
    converged: bool = True


def capacity_of(spec: Spec, moments: Moments) -> int:
    """min(d, rank C): the most directions an embedding of this spec can hold."""
    c = moments.cov
    data_rank = int(np.linalg.matrix_rank(c, tol=1e-10 * max(np.abs(c).max(), 1e-300)))
    return min(spec.embed_dim or moments.dim, data_rank)


def metastable_rank(spec: Spec, alive: int, thresholds: Thresholds, capacity: int) -> int:
    """Upper end of the theory's count: directions with a locally stable non-zero state (depth ≥ 2).

    For depth ≥ 2, W = 0 and a direction's non-zero state are both local minima up to its spinodal γ_sp
    (`thresholds.metastable_weight_decay`), so which one training keeps depends on the initialisation; the
    theory only bounds the rank to [global-minimum rank, this].
    """
    meta = thresholds.metastable_weight_decay
    if spec.depth == 1 or not meta:
        return alive
    cap = min(spec.embed_dim or len(meta), capacity)
    return max(alive, min(cap, sum(g > spec.weight_decay for g in meta)))


def make_prediction(spec: Spec, *, alive: int, spectrum: Any, thresholds: Thresholds, capacity: int,
                    notes: list[str], alive_max: int | None = None, alive_min: int | None = None,
                    **fields: Any) -> Prediction:
    """A `Prediction` from a solver's answer: the rank range by the collapse rule (`predicted_range`), once.
    `alive_max`: the upper end of the theory's count when the solver knows it (seed band, threshold band); default
    the metastable count (depth ≥ 2) or `alive`. `alive_min`: a lower end below the point answer (the seed range
    of a start-dependent answer), default none (the collapse cut is the lower end)."""
    from ..diagnostics.rank import predicted_range

    top = metastable_rank(spec, int(alive), thresholds, capacity) if alive_max is None else int(alive_max)
    top = max(top, int(alive))
    spectrum = tuple(map(float, spectrum))
    # nothing alive and nothing locally stable: the spectrum is round-off (1e-31 of a bias row), not a direction
    cut, hi = predicted_range(spectrum, top) if top > 0 else (0, 0)
    lo = cut if alive_min is None else min(cut, int(alive_min))
    return Prediction(rank=cut, rank_range=(lo, hi), alive=int(alive), alive_max=top, capacity=capacity,
                      alive_min=None if alive_min is None else int(alive_min),
                      phase=phase_of(cut, capacity), spectrum=spectrum, thresholds=thresholds, notes=tuple(notes),
                      **fields)


class TheoryDeclined(UserError):
    """A solver (or an explicitly requested order) does not cover the spec: the one way a solver declines, before
    solving (its `covers` gives the reason) or during the solve (it raises this). A `UserError`, so the CLI prints
    the message as one line (exit 2); `auto` moves on to the next solver of the table instead."""

    def __init__(self, reason: str, solver: str = "") -> None:
        super().__init__(reason)
        self.reason, self.solver = reason, solver


def refuse_theory_gaps(spec: Spec) -> None:
    """UserError (one line naming the fields and the fix) when `spec.theory_gaps()` is not empty: a spec training
    accepts but the theory would answer as a different problem (e.g. a deep SimSiam, docs/theory.md §7)."""
    gaps = spec.theory_gaps()
    if gaps:
        raise UserError(f"the theory cannot answer this spec (training can): {'; '.join(gaps)} "
                        "(docs/theory.md 'Not supported')")
