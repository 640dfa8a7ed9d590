"""How many threads torch uses: the default sslscape picks, the user's override, and a context manager that sets and
restores it (the caller's setting survives every library call).

Which number (measured: benchmarks/bench_reliability.py, docs/reliability.md): torch's own default is one thread
per core, and OpenMP threads spin while they wait for each other. Beside another multi-threaded job on a shared
node the two oversubscribe the cores and a run becomes up to 20× slower; one thread per process lost little when
the machine was idle and did not collapse beside a neighbour. So sslscape's default is half the CPUs this process
may use (at least 1, at most `MAX_DEFAULT`): one on a 2-core machine, leaving room for one equal neighbour.

Order of precedence: an explicit `n` (the CLI's `sslscape --threads N`) > SSLSCAPE_THREADS > OMP_NUM_THREADS (a
user who set it meant it) > the default above. 0 means torch's own default (one thread per core).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import UserError

ENV = "SSLSCAPE_THREADS"
MAX_DEFAULT = 8  # beyond this the tiny models of the theory gain nothing; large ones should say --threads


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. under taskset or a cgroup cpuset), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """sslscape's default: half the usable CPUs, in [1, MAX_DEFAULT] (module docstring: why not torch's)."""
    return max(1, min(MAX_DEFAULT, usable_cpus() // 2))


def parse_threads(value: object, source: str) -> int:
    """A thread count from `value` (int or decimal string): ≥ 1, or 0 for torch's own default; a one-line UserError
    naming `source` otherwise."""
    try:
        n = int(str(value).strip())
    except ValueError:
        n = -1
    if n < 0 or n > 4096:
        raise UserError(f"{source} must be a whole number of threads ≥ 1, or 0 for torch's own default (got "
                        f"{value!r}); e.g. {source}=1")
    return n


def resolve_threads(n: int | None = None) -> int | None:
    """The thread count to use: `n` if given, else SSLSCAPE_THREADS, else OMP_NUM_THREADS, else the default.

    None means 0 was asked for: leave torch's own default (one thread per core) alone.
    """
    if n is not None:
        value = parse_threads(n, "--threads")
    else:
        value = next((parse_threads(v, var) for var in (ENV, "OMP_NUM_THREADS")
                      if (v := os.environ.get(var, "").strip())), default_threads())
    return value or None


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Temporarily use `n` intra-op threads (None: leave as is); restored on exit, errors included.

    Tiny models run faster on one thread: OpenMP synchronisation on an 8×8 matmul costs more than it saves, and on
    a busy 2-core machine oversubscribed threads made steps 20× slower (measured: benchmarks/RESULTS.md).
    """
    import torch

    before = torch.get_num_threads()
    if n is not None and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
