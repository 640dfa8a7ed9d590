"""Exact sample losses — one definition each (one file per objective), used by the theory and by training alike.

    from sslscape.objectives import LOSSES, view_loss
    loss = view_loss("infonce", z1, z2, temperature=0.5)      # by name, with the objective's hyper-parameters

`LOSSES` maps a name to its loss function. `view_loss(objective, anchor, positive, negatives, **hyper)` applies
the embedding normalization and dispatches; it knows no spec (`Spec.loss_kwargs()` gives the hyper-parameters).
The predictive objectives (SimSiam, BYOL) need predictor outputs and targets and are called directly
(`simsiam_loss`, `byol_loss`). Weight decay is not part of any loss: the trainer and the theory add γ‖W‖².
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from .barlow import barlow_loss, batch_standardize
from .byol import byol_loss
from .infonce import infonce_loss
from .similarity import logits_with_positive, pairwise_similarity, rowwise_similarity
from .simsiam import negative_similarity, simsiam_loss
from .spectral import spectral_loss
from .vicreg import vicreg_loss

__all__ = ["LOSSES", "PREDICTIVE", "barlow_loss", "byol_loss", "infonce_loss", "logits_with_positive",
           "negative_similarity", "normalize_embeddings", "pairwise_similarity", "rowwise_similarity",
           "simsiam_loss", "spectral_loss", "vicreg_loss", "view_loss"]

PREDICTIVE = ("simsiam", "byol")
LOSSES: dict[str, Callable[..., Tensor]] = {
    "infonce": infonce_loss, "spectral": spectral_loss, "barlow": barlow_loss, "vicreg": vicreg_loss,
    "simsiam": simsiam_loss, "byol": byol_loss,
}


def normalize_embeddings(z: Tensor, normalization: str) -> Tensor:
    """'none' | 'l2' (each embedding to unit norm) | 'batch' (each dimension standardised over the batch)."""
    if normalization == "none":
        return z
    if normalization == "l2":
        return F.normalize(z, dim=-1)
    if normalization == "batch":
        return batch_standardize(z)
    raise ValueError(f"unknown normalization {normalization!r}; use 'none', 'l2' or 'batch'")


def view_loss(objective: str, anchor: Tensor, positive: Tensor, negatives: Tensor | None = None, *,
              temperature: float = 1.0, similarity: str = "dot", symmetric: bool = False, normalization: str = "none",
              barlow_lambda: float = 0.005, vicreg: dict[str, float] | None = None) -> Tensor:
    """The objective's exact loss on embeddings of a batch of pairs (anchor, positive[, clean negatives]).

    Shapes (n, d) (InfoNCE and spectral also accept stacked (n_batches, n, d)). Barlow Twins with
    normalization='batch' is the standard (standardised) Barlow Twins; with 'none' it uses the raw cross second
    moments. Raises ValueError for an unknown objective or a predictive one (call `simsiam_loss`/`byol_loss`).

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> z1, z2 = torch.randn(64, 8, generator=g), torch.randn(64, 8, generator=g)
    >>> bool(view_loss("spectral", z1, z2) == spectral_loss(z1, z2))
    True
    """
    if objective in PREDICTIVE:
        raise ValueError(f"{objective} needs predictor outputs; call {objective}_loss directly")
    if objective not in LOSSES:
        raise ValueError(f"unknown objective {objective!r}; use one of {', '.join(LOSSES)}")
    if objective == "barlow":  # batch standardisation is Barlow's own switch (and its reference behaviour)
        if normalization == "l2":
            anchor, positive = normalize_embeddings(anchor, "l2"), normalize_embeddings(positive, "l2")
        return barlow_loss(anchor, positive, lambda_offdiag=barlow_lambda, standardize=normalization == "batch")
    anchor, positive = normalize_embeddings(anchor, normalization), normalize_embeddings(positive, normalization)
    if negatives is not None:
        negatives = normalize_embeddings(negatives, normalization)
    if objective == "infonce":
        return infonce_loss(anchor, positive, negatives, temperature=temperature, similarity=similarity,
                            symmetric=symmetric)
    if objective == "spectral":
        return spectral_loss(anchor, positive, negatives)
    weights: dict[str, Any] = vicreg or {}
    return vicreg_loss(anchor, positive, **weights)
