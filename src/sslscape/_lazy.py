"""A module imported on first attribute access. Importing torch costs seconds, which `predict` on a closed-form
spec, `--help` and a cached `estimate` should not pay (docs/reliability.md, start-up)."""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """`LazyModule("torch")` behaves like the module `torch` once an attribute is read (then it is imported)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


torch = LazyModule("torch")
functional = LazyModule("torch.nn.functional")
