"""Progress bars for long work (rich, on stderr): the library calls a plain callback, the CLI draws it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def bar(description: str, total: int, enabled: bool = True) -> Iterator[Callable[..., None]]:
    """Yields `update(done, total=None, info="")`: a rich bar with the time elapsed and an estimate of what is
    left; a no-op when disabled (--quiet) or when stderr is not a terminal (logs and pipes stay clean)."""
    import sys

    if not enabled or not sys.stderr.isatty():
        yield lambda *a, **k: None
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


def say(message: str) -> None:
    """One line on stderr (estimates, notes), so stdout stays a clean JSON object where one is asked for."""
    from rich.console import Console

    Console(stderr=True).print(message)
