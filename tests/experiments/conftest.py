"""Fixtures for the experiment tests: one torch thread (tiny models; immune to a busy machine)."""

from __future__ import annotations

from tests._fixtures import one_torch_thread  # noqa: F401  (autouse)
