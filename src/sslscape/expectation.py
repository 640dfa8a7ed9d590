"""What the theory expects of monitored embeddings: one home for `CollapseMonitor`'s theory (docs/monitor.md).

`theory_expectation(spec)` asks `sslscape.theory.predict` (default order `auto`, the same answer `sslscape predict`
gives) and keeps what a monitor shows beside a measurement: the predicted rank range (the collapse rule on the
predicted spectrum), the spectrum, the critical weight decays and `knob(keep)`, the knob to turn in words
(`sslscape.theory.advise`). `feature_expectation` does the same for a linear projector on measured feature moments
(`sslscape.projector.projector_spec`). The theory is imported only when an expectation is built, so importing
`sslscape.monitor` stays free of it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError
from .result import Result


@dataclass(frozen=True, kw_only=True)
class Expectation(Result):
    """What the theory expects of the monitored embeddings (built by `theory_expectation`).

    rank, rank_range: the predicted rank and its range (`Prediction.rank`, `.rank_range`: the collapse rule); capacity:
    min(d, rank C), the most directions the embeddings can have; spectrum: predicted embedding eigenvalues
    (descending); critical_weight_decay: γ*_k (descending); order / solver: the theory's resolved order and the
    solver that answered; knob(keep): the knob to turn to keep ≥ keep directions, in words.
    """

    objective: str
    weight_decay: float
    embed_dim: int
    rank: int
    rank_range: tuple[int, int]
    capacity: int
    spectrum: tuple[float, ...] = field(repr=False)
    critical_weight_decay: tuple[float, ...] = field(repr=False)
    order: str = "auto"
    solver: str = ""
    knob: Callable[[int], str] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The monitor's JSON keys (`predicted_rank`, `predicted_range` as in its records); no spectrum, no knob."""
        return {"objective": self.objective, "weight_decay": self.weight_decay, "embed_dim": self.embed_dim,
                "predicted_rank": self.rank, "predicted_range": list(self.rank_range), "capacity": self.capacity,
                "order": self.order, "solver": self.solver}


def knob_advice(spec: Any, keep: int, order: str = "auto") -> str:
    """The knob to turn so that ≥ `keep` directions survive, in words: `sslscape.theory.advise.advise(spec, keep,
    knob="weight_decay", at_least=True, order=order)` (the interval of weight decay, the rank inside it)."""
    from .theory.advise import advise

    keep = max(1, int(keep))
    gamma = spec.weight_decay
    try:
        a = advise(spec, keep, knob="weight_decay", at_least=True, order=order)
    except UserError as exc:
        return f"theory: {exc}"
    if a.interval is None:
        return f"theory ({a.order}): no weight decay keeps ≥ {keep} directions — {a.reason}"
    lo, hi = a.interval
    if lo in (None, 0, 0.0):
        where = f"weight_decay < {hi:.3g}" if hi is not None else "any weight_decay"
    else:
        where = f"weight_decay in [{lo:.3g}, {hi:.3g})" if hi is not None else f"weight_decay ≥ {lo:.3g}"
    return (f"theory ({a.order}): to keep ≥ {keep} directions set {where} (now {gamma:.3g}; the theory keeps "
            f"{a.alive_inside} there){'; ' + a.reason if a.reason else ''}")


def theory_expectation(spec: Any, order: str = "auto", max_seconds: float | None = None,
                       say: Callable[[str], None] | None = None) -> Expectation:
    """The `Expectation` a `CollapseMonitor` shows beside its measurements (module docstring).

    spec: a Spec, a spec dict or a spec file. order: as `sslscape.theory.predict` (default `auto`, the same answer
    as `sslscape predict`). A numerical solve is announced first through `say` with its estimate (default: the
    `sslscape.monitor` logger at WARNING level — a monitor never solves numerically without saying so) and bounded
    by `max_seconds`. Raises UserError for a bad spec or a declined order.
    """
    from .spec import load_spec, parse_spec
    from .theory import predict

    if isinstance(spec, (str, Path)):
        spec = load_spec(spec)
    elif isinstance(spec, dict):
        spec = parse_spec(spec)
    pred = predict(spec, order, max_seconds=max_seconds, say=say or logging.getLogger("sslscape.monitor").warning)
    return Expectation(
        objective=spec.objective, weight_decay=spec.weight_decay, embed_dim=pred.embed_dim, rank=pred.rank,
        rank_range=pred.rank_range,
        capacity=pred.capacity, spectrum=pred.spectrum,
        critical_weight_decay=tuple(pred.thresholds.critical_weight_decay or ()), order=pred.order,
        solver=pred.solver, knob=functools.partial(knob_advice, spec, order=order))  # picklable (ddp_spawn)


def feature_expectation(moments: Any, objective: str, weight_decay: float, embed_dim: int | None = None,
                        center: bool = True, order: str = "auto", max_seconds: float | None = None,
                        say: Callable[[str], None] | None = None, **fields: Any) -> Expectation:
    """`theory_expectation` of a linear projector on measured feature moments (`sslscape.projector.projector_spec`)."""
    from .projector import projector_spec

    spec = projector_spec(moments, objective, weight_decay, embed_dim=embed_dim, center=center, **fields)
    return theory_expectation(spec, order, max_seconds=max_seconds, say=say)
