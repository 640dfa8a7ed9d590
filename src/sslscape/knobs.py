"""The knobs a user turns — one table that `advise`, phase diagrams, the explorer and the CLI all read.

A knob is one spec field the theory answers along: weight decay γ, augmentation strength s (the noise scale that
multiplies `augmentation.noise_cov`), temperature τ and batch size N. Each row says where the value lives in the
spec, its domain, how a figure labels it, the range `advise` scans when no closed form gives its critical values,
and which `Thresholds` field holds those critical values. Torch-free and theory-free (the spec only).

To add a knob: one `Knob` row here (and a `Thresholds` field in `sslscape/theory/prediction.py` if a solver has
closed-form critical values for it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import UserError


@dataclass(frozen=True, kw_only=True)
class Knob:
    """One knob. `field`: its path in the spec ('augmentation.noise_scale'); `lo`: the smallest valid value and
    `open_lo` whether it is excluded; `integer`: batch sizes; `label`: a figure's axis label (matplotlib math);
    `scan`: advise's default scan range (widened to a decade around the spec's own value); `threshold`: the
    `Thresholds` field with its per-direction critical values (None: no solver gives them); `unset`: the value
    used when the spec leaves the field unset (batch size: N → ∞)."""

    name: str
    field: str
    lo: float
    open_lo: bool
    integer: bool
    label: str
    scan: tuple[float, float]
    threshold: str | None
    unset: float = 1.0

    def value(self, spec: Any) -> float | None:
        """The spec's own value (None: unset, e.g. batch size N → ∞)."""
        node = spec
        for part in self.field.split("."):
            node = getattr(node, part)
        return None if node is None else float(node)

    def at(self, spec: Any, value: float) -> Any:
        """The spec with this knob at `value` (validated by the spec)."""
        v: float | int = int(round(value)) if self.integer else float(value)
        return spec.with_updates(**{self.field: v})

    def valid(self, value: float) -> bool:
        return math.isfinite(value) and (value > self.lo if self.open_lo else value >= self.lo)


KNOBS: dict[str, Knob] = {k.name: k for k in (
    Knob(name="weight_decay", field="weight_decay", lo=0.0, open_lo=False, integer=False,
         label=r"weight decay $\gamma$", scan=(1e-4, 100.0), threshold="critical_weight_decay"),
    Knob(name="noise_scale", field="augmentation.noise_scale", lo=0.0, open_lo=False, integer=False,
         label=r"augmentation strength $s$ (noise scale)", scan=(1e-3, 100.0), threshold="critical_noise_scale"),
    Knob(name="temperature", field="temperature", lo=0.0, open_lo=True, integer=False,
         label=r"temperature $\tau$", scan=(0.01, 100.0), threshold="critical_temperature"),
    Knob(name="batch_size", field="batch_size", lo=2.0, open_lo=False, integer=True, label=r"batch size $N$",
         scan=(2.0, 8192.0), threshold=None, unset=256.0),
)}
NAMES: tuple[str, ...] = tuple(KNOBS)
HELP = " | ".join(NAMES)


def knob(name: str) -> Knob:
    """The knob named `name`; UserError (one line, the valid names) otherwise."""
    try:
        return KNOBS[name]
    except KeyError:
        raise UserError(f"unknown knob {name!r}; use one of {', '.join(NAMES)}") from None


__all__ = ["HELP", "KNOBS", "NAMES", "Knob", "knob"]
