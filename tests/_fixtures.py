"""Fixtures shared by several test folders (imported into their conftest.py)."""

from __future__ import annotations

import pytest

from sslscape._threads import torch_threads


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models: one thread is faster and immune to a busy machine (see sslscape/_threads.py)."""
    with torch_threads(1):
        yield
