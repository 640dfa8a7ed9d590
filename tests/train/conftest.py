"""Fixtures for the training tests."""

from __future__ import annotations

from tests._fixtures import one_torch_thread  # noqa: F401  (autouse)
