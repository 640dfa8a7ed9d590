"""Progress and feedback for long work (on stderr): the library calls a plain callback, the CLI draws it; every
command that predicts goes through `solve_with_feedback` (a numerical solve is announced with its estimate, drawn
and bounded by --max-seconds)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def bar(description: str, total: int, enabled: bool = True,
        lines_every: float | None = None) -> Iterator[Callable[..., None]]:
    """Yields `update(done, total=None, info="")`: a rich bar with the time elapsed and an estimate of what is
    left; a no-op when disabled (--quiet) or when stderr is not a terminal (logs and pipes stay clean) — unless
    `lines_every` is set: then, off a terminal, one plain line at most every `lines_every` seconds (`lines`)."""

    if not enabled:
        yield lambda *a, **k: None
        return
    if not sys.stderr.isatty():
        yield lines(description, total, lines_every) if lines_every else (lambda *a, **k: None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total, info="")

        def update(done: int, total: int | None = None, info: Any = "") -> None:
            progress.update(task, completed=done, total=total or progress.tasks[0].total,
                            info=info if isinstance(info, str) else "")

        yield update


def lines(description: str, total: int, every: float = 5.0,
          clock: Callable[[], float] = time.monotonic) -> Callable[..., None]:
    """`update(done, total=None, info="")` printing one line on stderr at most every `every` seconds (and when the
    work is done): "explorer: 40 % (what), 3 s elapsed, about 5 s left" — the estimate from the rate so far (done
    and total in units of comparable cost). For logs and pipes, where a bar cannot be drawn."""
    start = clock()
    state = {"total": total, "last": start}

    def update(done: float, total: float | None = None, info: Any = "") -> None:
        state["total"] = total or state["total"]
        now, whole = clock(), max(float(state["total"]), 1e-12)
        finished = done >= whole
        if now - state["last"] < every and not finished:
            return
        state["last"] = now
        spent = now - start
        left = spent * (whole - done) / done if done > 0 else None
        what = f" ({info})" if isinstance(info, str) and info else ""
        tail = "done" if finished else (f"about {left:.0f} s left" if left is not None else "estimating")
        say_line(f"{description}: {100 * min(done / whole, 1.0):.0f} %{what}, {spent:.0f} s elapsed, {tail}")
        if finished:
            state["last"] = float("inf")  # one 'done' line

    return update


def say(message: str) -> None:
    """One line on stderr (estimates, notes), so stdout stays a clean JSON object where one is asked for."""
    from rich.console import Console

    Console(stderr=True).print(message)


def say_line(message: str) -> None:
    """One unwrapped line on stderr — also when stderr is not a terminal (logs keep it): what a long solve is doing."""
    print(message, file=sys.stderr, flush=True)


def check_max_seconds(value: float | None) -> float | None:
    """--max-seconds: a positive number of seconds or None (UserError otherwise)."""
    if value is not None and not value > 0:
        from ..errors import UserError

        raise UserError(f"--max-seconds must be a positive number of seconds, got {value!r}")
    return value


def solve_with_feedback(spec: Any, order: str = "auto", max_seconds: float | None = None, quiet: bool = False,
                        label: str = "solving") -> Any:
    """`predict(spec, order)` for every command that predicts: a numerical solve first says one line on stderr
    ("solving numerically (solver exact_lbfgs: …), about 12 s; stopping after 20 s …"), then draws a progress bar
    (on a terminal) and stops at `max_seconds` with the best answer so far. `quiet`: no line, no bar."""
    from ..theory.predict import predict

    with bar(label, 1, enabled=not quiet) as update:
        return predict(spec, order, progress=update, max_seconds=check_max_seconds(max_seconds),
                       say=None if quiet else say_line)


def announce_plan(spec: Any, order: str, solves: int, what: str, cells: bool = False) -> None:
    """Before a command that solves `solves` times (a phase diagram's cells, advise's scan): when the planned solver
    is numerical, one line on stderr with its estimate for all of them (`cells`: not for a diagram larger than the
    solver's cell limit, which `phase_diagram` refuses in one line of its own)."""
    from ..moments import moments_of
    from ..theory.solvers import BY_NAME, announcement, cell_limit, estimate_seconds, plan

    chosen = plan(spec, order)  # also refuses a spec with theory gaps, before any estimate
    if not chosen.numerical or (cells and solves > cell_limit(chosen, spec)):
        return
    each = estimate_seconds(spec, chosen, moments_of(spec)) or 0.0
    say_line(announcement(BY_NAME[chosen.solver], each * solves, None) + f" ({what}: {solves} solves)")
