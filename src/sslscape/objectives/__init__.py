"""Exact sample losses — one definition each (one file per objective), used by the theory and by training alike.

    from sslscape.objectives import LOSSES, view_loss
    loss = view_loss("infonce", z1, z2, temperature=0.5)      # by name, with the objective's hyper-parameters

Which objectives exist, and what the rest of the project needs to know about each (predictive? temperature?
scale-invariant under which similarity / normalisation?), is one torch-free table: `registry.OBJECTIVES`.
`LOSSES` maps a name to its loss function. `view_loss(objective, anchor, positive, negatives, **hyper)` applies
the embedding normalization and dispatches; it knows no spec (`Spec.loss_kwargs()` gives the hyper-parameters).
The predictive objectives (SimSiam, BYOL) need predictor outputs and targets and are called directly
(`simsiam_loss`, `byol_loss`). Weight decay is not part of any loss: the trainer and the theory add γ‖W‖².
Importing this package costs nothing: the losses (and torch) load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from .registry import NAMES, OBJECTIVES, PREDICTIVE, Objective, objective

_WHERE = {"barlow_loss": "barlow", "batch_standardize": "barlow", "byol_loss": "byol", "infonce_loss": "infonce",
          "ntxent_loss": "ntxent", "ntxent_logits": "ntxent", "logits_with_positive": "similarity",
          "pairwise_similarity": "similarity", "rowwise_similarity": "similarity",
          "negative_similarity": "simsiam", "simsiam_loss": "simsiam", "spectral_loss": "spectral",
          "vicreg_loss": "vicreg", "variance_term": "vicreg", "covariance_term": "vicreg", "LOSSES": "views",
          "normalize_embeddings": "views", "view_loss": "views"}

__all__ = ["LOSSES", "NAMES", "OBJECTIVES", "PREDICTIVE", "Objective", "barlow_loss", "byol_loss", "infonce_loss",
           "logits_with_positive", "negative_similarity", "normalize_embeddings", "ntxent_loss", "objective",
           "pairwise_similarity", "rowwise_similarity", "simsiam_loss", "spectral_loss", "vicreg_loss", "view_loss"]


def __getattr__(name: str) -> Any:
    # PEP 562: the losses (torch) on first use, so the registry (and `sslscape.spec`) import nothing heavy
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
