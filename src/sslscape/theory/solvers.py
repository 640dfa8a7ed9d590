"""THE solver table: every way the theory answers a spec, what each covers, solves and costs, in one place.

Every entry point — `predict`, `phase`, `advise`, the explorer (static page and `--serve`), `diagnose --spec`, the
collapse monitor, `sslscape projector`, `compare` and the experiments — asks this table, with the same default
order `auto`, so the same spec gets the same answer everywhere (tests/test_entry_points.py).

Orders (`Order`, what a user asks for) name families of solvers (`Solver`, the rows of `SOLVERS`):

    auto           the first solver of `SOLVERS` (priority order) that covers the spec — the best closed form it has,
                   else a numerical solve, announced with its estimate (`Budget.say`)
    quartic        the global minimum of the quartic landscape around W = 0 (closed form, else the polynomial
                   minimised numerically)
    learned_point  InfoNCE at its learned point (finite batch, dot similarity; cosine similarity)
    per_direction  the per-eigendirection closed forms (SimSiam/BYOL dynamics; VICReg, standardised Barlow)
    exact          the numerical referee: the exact population loss minimised (or the dynamics integrated)

`plan(spec, order)` is a lookup (which solver, why, its cost class) and solves nothing; `solve(spec, order)` runs the
planned solver and records in the `Prediction` which solver and order answered and why. A solver declines in one
way, `TheoryDeclined` (a `UserError`): before solving (its `covers` returns the reason) or during the solve (the
reduced solver's negatives sum is not self-averaging, the learned point leaves its tables); `auto` then moves on to
the next row and says so in the notes; an explicit order that no row covers is refused with the reasons.

Cost classes: 'closed_form' (milliseconds), 'quadrature' (tables or a 1-D integral per direction: 10–300 ms),
'numerical' (an optimiser or integrator: seconds to minutes; `estimate` gives seconds, `Budget.max_seconds`
bounds it, `Budget.progress` reports it, `Budget.say` announces it — nothing numerical runs silently).

To add a solver: write its module (`covers`, `prediction`, `thresholds`, optionally `estimate` and
`knob_changes`) and add one row here (docs/architecture.md). Source and derivation of each row: its `docs`
section of docs/theory.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..errors import UserError
from ..moments import Moments, moments_of
from ..orders import ORDER_HELP, ORDERS, Order, as_order
from ..result import Result
from ..spec import Spec
from .prediction import Prediction, Progress, TheoryDeclined, Thresholds, refuse_theory_gaps

Cost = Literal["closed_form", "quadrature", "numerical"]
COSTS: tuple[str, ...] = ("closed_form", "quadrature", "numerical")


@dataclass(frozen=True, kw_only=True)
class Budget:
    """What a numerical solve may take and whom it tells: stop after `max_seconds` with the best answer so far
    (`Prediction.converged` False, and a note), `progress(done, expected)` per evaluation, `say(line)` once before
    a numerical solve starts ("solving numerically (solver exact_lbfgs: …), about 12 s")."""

    max_seconds: float | None = None
    progress: Progress | None = None
    say: Callable[[str], None] | None = None


Rule = Callable[[Spec, Moments], Any]


@dataclass(frozen=True, kw_only=True)
class Solver:
    """One row of the table.

    name          what `Prediction.solver` records ('learned_point_dot', 'stop_gradient', 'exact_lbfgs', …)
    order         the user-facing order it answers
    summary       a short phrase: what it computes (plans and announcements quote it)
    cost          'closed_form' | 'quadrature' | 'numerical' (phase diagrams' cell limits, the CLI's feedback)
    docs          its section of docs/theory.md
    covers        (spec, moments) → None when it covers the spec, else the reason it declines
    solve         (spec, moments, budget) → Prediction (may raise TheoryDeclined)
    thresholds    (spec, moments) → Thresholds: its per-direction critical values (`advise`, the exact order)
    estimate      (spec, moments) → seconds, for numerical solvers (None: milliseconds)
    rank_changes  (spec, knob, prediction) → (knob values where its rank can change | None to scan, why): `advise`
                  (None: the generic rule on `thresholds`)
    objectives    the objectives it is written for (None: any the landscape expands); a decline of a row for the
                  spec's own objective is worth telling the user (`announcement`)
    """

    name: str
    order: Order
    summary: str
    cost: Cost
    docs: str
    covers: Callable[[Spec, Moments], str | None]
    solve: Callable[[Spec, Moments, Budget], Prediction]
    thresholds: Callable[[Spec, Moments], Thresholds]
    estimate: Callable[[Spec, Moments], float] | None = None
    rank_changes: Callable[[Spec, str, Prediction], tuple[list[float] | None, str]] | None = None
    objectives: tuple[str, ...] | None = None


def _lazy(module: str, name: str) -> Callable[..., Any]:
    """`sslscape.theory.<module>.<name>`, imported on first call (the table imports no solver module, and so never
    torch, until a row is asked)."""

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(f"{__package__}.{module}"), name)(*args)

    call.__name__ = call.__qualname__ = f"{module}.{name}"
    return call


def _row(name: str, order: Order, module: str, summary: str, cost: Cost, docs: str, suffix: str = "",
         estimate: bool = False, rank_changes: bool = False, thresholds: Rule | None = None,
         objectives: tuple[str, ...] | None = None, covers_module: str | None = None) -> Solver:
    """A row whose functions are `covers{suffix}`, `prediction{suffix}`, `thresholds{suffix}` (and
    `estimate{suffix}`, `knob_changes{suffix}`) of `module` (`covers{suffix}` of `covers_module` when given: a light
    module, so that planning does not import a heavy solver module)."""
    return Solver(name=name, order=order, summary=summary, cost=cost, docs=docs,
                  covers=_lazy(covers_module or module, f"covers{suffix}"), solve=_lazy(module, f"prediction{suffix}"),
                  thresholds=thresholds or _lazy(module, f"thresholds{suffix}"),
                  estimate=_lazy(module, f"estimate{suffix}") if estimate else None,
                  rank_changes=_lazy(module, f"knob_changes{suffix}") if rank_changes else None,
                  objectives=objectives)


def closed_form_thresholds(spec: Spec, moments: Moments) -> Thresholds:
    """The critical values of the first non-exact solver that covers the spec (labelled with its order), else
    none: the exact order's thresholds (a numerical solve has no critical values of its own)."""
    for s in SOLVERS:
        if s.order is Order.EXACT or s.covers(spec, moments) is not None:
            continue
        try:
            return s.thresholds(spec, moments)
        except TheoryDeclined:
            continue
    return Thresholds()


# Priority order: `auto` takes the first row that covers the spec (and the next one if it declines while solving).
SOLVERS: tuple[Solver, ...] = (
    _row("learned_point_ntxent_cosine", Order.LEARNED_POINT, "ntxent", "NT-Xent with cosine similarity: the reduced "
         "learned-point solver with the negatives' view pairs (ρ_c)", "quadrature", "docs/theory.md §15",
         suffix="_cosine", rank_changes=True, objectives=("ntxent",)),
    _row("learned_point_ntxent", Order.LEARNED_POINT, "ntxent", "NT-Xent (dot) with a finite batch: the learned "
         "point with 2N − 1 candidates, the negatives in view pairs (p̄)", "quadrature", "docs/theory.md §15",
         suffix="_dot", rank_changes=True, objectives=("ntxent",)),
    _row("learned_point_cosine", Order.LEARNED_POINT, "cosine_infonce", "InfoNCE with cosine similarity: the "
         "reduced learned-point solver (signal-to-noise level ρ_c)", "quadrature", "docs/theory.md §14",
         rank_changes=True, objectives=("infonce",)),
    _row("learned_point_dot", Order.LEARNED_POINT, "finite_batch", "InfoNCE (dot) with a finite batch: the "
         "self-consistent learned point (the positive pair's share p̄)", "quadrature", "docs/theory.md §5",
         rank_changes=True, objectives=("infonce",)),
    _row("learned_point_euclidean", Order.LEARNED_POINT, "finite_batch_euclidean", "InfoNCE (euclidean, clean "
         "negatives) with a finite batch: the learned point, the negatives' law by one FFT per anchor",
         "quadrature", "docs/theory.md §5.1", objectives=("infonce",), rank_changes=True),
    _row("stop_gradient", Order.PER_DIRECTION, "predictive", "SimSiam/BYOL: the stop-gradient dynamics per "
         "direction from the trainer's start", "closed_form", "docs/theory.md §7", rank_changes=True,
         objectives=("simsiam", "byol")),
    _row("stop_gradient_ema", Order.PER_DIRECTION, "predictive", "BYOL (dot): the stop-gradient dynamics with an "
         "EMA target, γ*_k by quadrature per direction", "quadrature", "docs/theory.md §7", suffix="_ema",
         rank_changes=True, objectives=("byol",)),
    _row("population", Order.PER_DIRECTION, "population", "VICReg / batch-standardised Barlow Twins: the "
         "population minimiser (water level / SNR level)", "closed_form", "docs/theory.md §12", rank_changes=True,
         objectives=("vicreg", "barlow")),
    _row("deep_start", Order.PER_DIRECTION, "deep_start", "depth ≥ 2: the per-direction dynamics from the "
         "trainer's start (the basin of W = 0 and the rank reached, with the seed range)", "closed_form",
         "docs/theory.md §6.1", rank_changes=True),
    _row("quartic_closed_form", Order.QUARTIC, "solve", "the quartic landscape's closed-form global minimum",
         "closed_form", "docs/theory.md §2–§4, §13", suffix="_closed_form", thresholds=_lazy("solve", "thresholds")),
    _row("quartic_numerical", Order.QUARTIC, "solve", "the quartic landscape polynomial minimised numerically "
         "(L-BFGS, several starts; no closed form)", "numerical", "docs/theory.md §3", suffix="_numerical",
         estimate=True, thresholds=_lazy("solve", "thresholds")),
    _row("exact_polynomial", Order.EXACT, "solve", "the exact population loss is the landscape polynomial: "
         "its closed-form minimum, no Monte-Carlo", "closed_form", "docs/theory.md §6", suffix="_exact_polynomial",
         thresholds=closed_form_thresholds),
    _row("exact_polynomial_numerical", Order.EXACT, "solve", "the exact population loss is the landscape "
         "polynomial: minimised numerically, no Monte-Carlo", "numerical", "docs/theory.md §6",
         suffix="_exact_polynomial_numerical", estimate=True, thresholds=closed_form_thresholds),
    _row("exact_lbfgs", Order.EXACT, "exact", "the exact sample loss minimised (L-BFGS on a fixed Monte-Carlo "
         "sample, several starts)", "numerical", "docs/theory.md §6", suffix="_lbfgs", estimate=True,
         thresholds=closed_form_thresholds, covers_module="exact_scope"),
    _row("exact_dynamics", Order.EXACT, "exact", "SimSiam/BYOL: the stop-gradient dynamics integrated from the "
         "trainer's start with compare's recipe", "numerical", "docs/theory.md §7", suffix="_dynamics",
         estimate=True, thresholds=closed_form_thresholds, objectives=("simsiam", "byol"), covers_module="exact_scope"),
)
BY_NAME: dict[str, Solver] = {s.name: s for s in SOLVERS}


def solver(name: str) -> Solver:
    """The row named `name` (UserError naming the rows otherwise)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise UserError(f"unknown solver {name!r}; the table has {', '.join(BY_NAME)}") from None


@dataclass(frozen=True, kw_only=True)
class Plan(Result):
    """Which solver answers `predict(spec, order)` (`plan`), without solving: `order` the order it answers,
    `solver` its name, `cost` its class, `reason` why it was chosen (its summary), `declined` the rows before it
    and why each declined, `docs` where it is derived."""

    order: str
    solver: str
    cost: str
    reason: str
    docs: str
    declined: tuple[tuple[str, str], ...] = ()

    @property
    def numerical(self) -> bool:
        return self.cost == "numerical"


def _candidates(order: Order) -> tuple[Solver, ...]:
    return SOLVERS if order is Order.AUTO else tuple(s for s in SOLVERS if s.order is order)


def _declined_text(declined: list[tuple[str, str]]) -> str:
    return "; ".join(f"{name}: {why}" for name, why in declined)


def _refuse(order: Order, declined: list[tuple[str, str]]) -> TheoryDeclined:
    docs = sorted({BY_NAME[n].docs for n, _ in declined})
    return TheoryDeclined(f"order {order.value} does not apply ({_declined_text(declined)}); use --order auto"
                          + ("" if order is Order.EXACT else " or exact") + f" ({', '.join(docs)})")


def plan(spec: Spec, order: str | Order = "auto", moments: Moments | None = None) -> Plan:
    """The solver that answers `predict(spec, order)` (module docstring): the first row of `SOLVERS` answering
    `order` (any row for auto) whose `covers` accepts the spec. Raises UserError for an unknown order or a spec
    with theory gaps, TheoryDeclined (a UserError) when no row of an explicit order covers the spec."""
    asked = as_order(order)
    refuse_theory_gaps(spec)
    m = moments if moments is not None else moments_of(spec)
    declined: list[tuple[str, str]] = []
    for s in _candidates(asked):
        why = s.covers(spec, m)
        if why is None:
            return Plan(order=s.order.value, solver=s.name, cost=s.cost, reason=s.summary, docs=s.docs,
                        declined=tuple(declined))
        declined.append((s.name, why))
    raise _refuse(asked, declined)


def estimate_seconds(spec: Spec, chosen: Plan, moments: Moments | None = None) -> float | None:
    """About how long the planned solver takes (seconds), or None for closed forms and quadratures."""
    s = BY_NAME[chosen.solver]
    if s.estimate is None:
        return None
    return float(s.estimate(spec, moments if moments is not None else moments_of(spec)))


def announcement(s: Solver, seconds: float | None, max_seconds: float | None,
                 declined: tuple[tuple[str, str], ...] = (), objective: str = "") -> str:
    """The line said before a numerical solve: why the faster rows declined (those written for the spec's
    objective, or for any), then "solving numerically (solver X: what), about N s"."""
    why = [f"{n}: {r}" for n, r in declined if BY_NAME[n].cost != "numerical"
           and (BY_NAME[n].objectives is None or objective in (BY_NAME[n].objectives or ()))]
    head = f"no faster solver applies ({'; '.join(why)}): " if why else ""
    about = f", about {max(1, round(seconds))} s" if seconds is not None else ""
    limit = (f"; stopping after {max_seconds:g} s with the best answer so far" if max_seconds else
             "; --max-seconds / max_seconds bounds it")
    return f"{head}solving numerically (solver {s.name}: {s.summary}){about}{limit}"


def solve(spec: Spec, order: str | Order = "auto", *, moments: Moments | None = None,
          budget: Budget | None = None) -> Prediction:
    """`predict`'s work (module docstring): plan, announce a numerical solve through `budget.say`, solve, and record
    the solver, order, cost and reason in the answer. Under `auto` (and within an order with several rows) a row that
    declines while solving hands over to the next one that covers the spec, and the notes say so."""
    asked = as_order(order)
    refuse_theory_gaps(spec)
    m = moments if moments is not None else moments_of(spec)
    budget = budget or Budget()
    declined: list[tuple[str, str]] = []
    handed: list[str] = []  # rows that covered the spec but declined while solving: the notes say why
    for s in _candidates(asked):
        why = s.covers(spec, m)
        if why is None:
            if s.cost == "numerical" and budget.say is not None:
                budget.say(announcement(s, s.estimate(spec, m) if s.estimate else None, budget.max_seconds,
                                        tuple(declined) if asked is Order.AUTO else (), spec.objective))
            try:
                pred = s.solve(spec, m, budget)
            except TheoryDeclined as exc:
                why = exc.reason
                handed.append(f"solver {s.name} declined ({why}); the next row of the table answered")
            else:
                return replace(pred, order=s.order.value, solver=s.name, cost=s.cost, why=s.summary,
                               notes=(*handed, *pred.notes))
        declined.append((s.name, why))
    raise _refuse(asked, declined)


def thresholds_of(spec: Spec, name: str, moments: Moments | None = None) -> Thresholds:
    """The critical values of solver `name` for `spec` (`advise`, the explorer)."""
    return BY_NAME[name].thresholds(spec, moments if moments is not None else moments_of(spec))


def rank_changes(spec: Spec, knob: str, pred: Prediction) -> tuple[list[float] | None, str] | None:
    """Where the rank of the solver that answered `pred` can change along `knob` (its own rule), or None when the
    solver has none (then `advise` reads its thresholds)."""
    s = BY_NAME[pred.solver]
    return None if s.rank_changes is None else s.rank_changes(spec, knob, pred)


def cell_limit(chosen: Plan, spec: Spec, moments: Moments | None = None, seconds: float = 120.0) -> int:
    """How many cells a phase diagram may solve one by one with this plan's solver: by cost class (closed form
    4,096 at ~3 ms; quadrature 1,024 at ~10–300 ms), a numerical one as many as fit in `seconds` by its estimate
    (4 to 144)."""
    if chosen.cost == "closed_form":
        return 4096
    if chosen.cost == "quadrature":
        return 1024
    each = estimate_seconds(spec, chosen, moments) or 1.0
    return int(min(144, max(4, seconds // max(each, 1e-3))))


__all__ = ["BY_NAME", "COSTS", "ORDERS", "ORDER_HELP", "SOLVERS", "Budget", "Order", "Plan", "Solver",
           "TheoryDeclined", "as_order", "cell_limit", "closed_form_thresholds", "estimate_seconds", "plan",
           "rank_changes", "solve", "solver", "thresholds_of"]
