"""The paper's results as runnable experiments, theory and training side by side.

The paper: Liu Ziyin, Ekdeep Singh Lubana, Masahito Ueda and Hidenori Tanaka, "What shapes the loss landscape of
self-supervised learning?", ICLR 2023, arXiv:2210.00638. Each module declares one `Experiment` (its claim,
sizes, grid, training point, theory, figure, summary) and the one runner (`runner.run_experiment`) runs it;
`sslscape reproduce` runs them and `outputs.write_outputs` gathers every result in a folder into summary.json
and report.html.

This module stays light (no numpy, torch or matplotlib) so `sslscape reproduce --help` can list the experiments
and the results they reproduce without loading them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    from .runner import Experiment

PAPER = {
    "title": "What shapes the loss landscape of self-supervised learning?",
    "authors": "Liu Ziyin, Ekdeep Singh Lubana, Masahito Ueda, Hidenori Tanaka",
    "short": "Ziyin, Lubana, Ueda & Tanaka",
    "venue": "ICLR 2023",
    "arxiv": "2210.00638",
    "url": "https://arxiv.org/abs/2210.00638",
}
CITATION = f"{PAPER['short']}, \u201c{PAPER['title']}\u201d, {PAPER['venue']}, arXiv:{PAPER['arxiv']}"

# experiment → the paper's result it reproduces (the one place this mapping is written)
PAPER_RESULTS: dict[str, str] = {
    "augmentation_collapse": "augmentation-induced dimensional collapse (direction i dies once s > 2cᵢ)",
    "weight_decay_collapse": "weight-decay collapse: dimensional, then complete, at per-direction critical values γᵢ*",
    "phase_diagram": "the phase diagram (no / dimensional / complete collapse) over augmentation × weight decay",
    "normalization": "the role of normalization: scale-invariant losses are immune to weight-decay collapse",
    "bias": "the role of the bias: it spends one embedding dimension; without one, a data mean takes it",
    "depth": "deeper encoders: a discontinuous collapse transition whose γ* depends on augmentation",
    "beneficial_collapse": "beneficial collapse: collapsing nuisance directions helps downstream accuracy",
    "imbalance": "data imbalance: the minority class's direction collapses first",
    "real_data": "real data: the theory, fed the data's own moments, predicts a linear encoder's rank",
}
EXPERIMENTS: tuple[str, ...] = tuple(PAPER_RESULTS)

__all__ = ["CITATION", "EXPERIMENTS", "PAPER", "PAPER_RESULTS", "get_experiment"]


def get_experiment(name: str) -> Experiment:
    """The declared `Experiment` called `name`; a UserError lists the valid names."""
    if name not in PAPER_RESULTS:
        raise UserError(f"unknown experiment {name!r}; choose one of: {', '.join(EXPERIMENTS)} (or 'all')")
    return importlib.import_module(f"{__name__}.{name}").EXPERIMENT
