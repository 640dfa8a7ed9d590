"""The paper's results as runnable experiments (one module per result), theory and training side by side.

Each module has a docstring (claim, command, expected result), `QUICK` / `FULL` sizes and
`run(out_dir, quick, seeds, workers, use_ray=False) -> ExperimentResult`. `sslscape reproduce` runs them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import UserError
from ._common import ExperimentResult

EXPERIMENTS: tuple[str, ...] = ("augmentation_collapse", "weight_decay_collapse", "phase_diagram", "normalization",
                                "bias", "depth", "beneficial_collapse", "imbalance", "real_data")

__all__ = ["EXPERIMENTS", "ExperimentResult", "get_experiment"]


def get_experiment(name: str) -> ModuleType:
    """The experiment module `name`; a UserError lists the valid names."""
    if name not in EXPERIMENTS:
        raise UserError(f"unknown experiment {name!r}; choose one of: {', '.join(EXPERIMENTS)} (or 'all')")
    return importlib.import_module(f"{__name__}.{name}")
