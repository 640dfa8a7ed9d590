"""Temporarily set torch's intra-op thread count (restored on exit, errors included)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Tiny models run faster on one thread: OpenMP synchronisation on an 8×8 matmul costs more than it saves,
    and on a busy 2-core machine oversubscribed threads made steps 20× slower (measured, train/compare.py)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
