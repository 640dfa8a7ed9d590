"""How many threads torch uses: a context manager that sets and restores it (the caller's setting survives)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Temporarily use `n` intra-op threads (None: leave as is); restored on exit, errors included.

    Tiny models run faster on one thread: OpenMP synchronisation on an 8×8 matmul costs more than it saves, and on
    a busy 2-core machine oversubscribed threads made steps 20× slower (measured: benchmarks/RESULTS.md).
    """
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
