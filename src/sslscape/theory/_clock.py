"""The time budget and progress count of one numerical solve (the quartic polynomial's minimiser, the exact solver,
the SimSiam/BYOL integrator): `tick()` per evaluation reports progress and, once `max_seconds` have passed, raises
`OutOfTime` inside the optimiser's closure — the caller keeps the best state so far and marks it not converged."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


class OutOfTime(Exception):
    """Raised inside an optimiser's closure once the time budget is spent (the best state so far is kept)."""


@dataclass
class Clock:
    """Progress and a time limit: `progress(done, expected)` per evaluation; after `max_seconds` `tick` raises
    OutOfTime (and `out_of_time` stays True)."""

    expected: int
    progress: Callable[[int, int], None] | None = None
    max_seconds: float | None = None
    done: int = 0
    started: float = field(default_factory=time.perf_counter)
    out_of_time: bool = False

    def tick(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(min(self.done, self.expected), self.expected)
        if self.max_seconds is not None and time.perf_counter() - self.started > self.max_seconds:
            self.out_of_time = True
            raise OutOfTime

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started
