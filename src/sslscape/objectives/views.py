"""`view_loss`: an objective's exact loss on a batch of view pairs, by name (the registry's row), with the
embedding normalisation applied — what the trainer and the exact solver call."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from .barlow import barlow_loss, batch_standardize
from .infonce import infonce_loss
from .ntxent import ntxent_loss
from .registry import OBJECTIVES, PREDICTIVE
from .spectral import spectral_loss
from .vicreg import vicreg_loss

LOSSES: dict[str, Callable[..., Tensor]] = {
    name: getattr(importlib.import_module(f"{__package__}.{row.module}"), row.loss) for name, row in OBJECTIVES.items()
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
    if objective == "ntxent":  # SimCLR's: both views are anchors and negatives (no clean-negatives form)
        if negatives is not None:
            raise ValueError("ntxent takes no separate negatives: its negatives are the batch's other views "
                             "(protocol augmented_negatives)")
        return ntxent_loss(anchor, positive, temperature=temperature, similarity=similarity)
    if objective == "spectral":
        return spectral_loss(anchor, positive, negatives)
    weights: dict[str, Any] = vicreg or {}
    return vicreg_loss(anchor, positive, **weights)
