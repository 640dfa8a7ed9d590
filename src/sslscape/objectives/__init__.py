"""Exact sample losses — one definition each, used by the theory checks and by training alike.

`view_loss(spec, anchor, positive, negatives)` applies the spec's normalization and dispatches to the
objective's own file. The predictive objectives (SimSiam, BYOL) need predictor outputs and targets and are
called directly (`simsiam_loss`, `byol_loss`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor

from .barlow import barlow_loss, batch_standardize
from .byol import byol_loss
from .infonce import infonce_loss
from .simsiam import negative_similarity, simsiam_loss
from .spectral import spectral_loss
from .vicreg import vicreg_loss

if TYPE_CHECKING:
    from ..spec import Spec

__all__ = ["barlow_loss", "byol_loss", "infonce_loss", "simsiam_loss", "spectral_loss", "vicreg_loss",
           "negative_similarity", "normalize_embeddings", "view_loss", "PREDICTIVE"]

PREDICTIVE = ("simsiam", "byol")


def normalize_embeddings(z: Tensor, normalization: str) -> Tensor:
    """'none' | 'l2' (each embedding to unit norm) | 'batch' (each dimension standardised over the batch)."""
    if normalization == "none":
        return z
    if normalization == "l2":
        return F.normalize(z, dim=-1)
    if normalization == "batch":
        return batch_standardize(z)
    raise ValueError(f"unknown normalization {normalization!r}; use 'none', 'l2' or 'batch'")


def view_loss(spec: Spec, anchor: Tensor, positive: Tensor, negatives: Tensor | None = None) -> Tensor:
    """The spec's objective on embeddings of a batch of pairs (anchor, positive[, clean negatives]).

    Barlow Twins with `normalization='batch'` is the standard (standardised) Barlow Twins; with 'none' it uses
    the raw cross second moments. Weight decay is not part of this function (the trainer adds γ‖W‖²).
    """
    if spec.objective in PREDICTIVE:
        raise ValueError(f"{spec.objective} needs predictor outputs; call {spec.objective}_loss directly")
    norm = spec.normalization
    if spec.objective == "barlow":  # batch standardisation is Barlow's own switch (and its reference behaviour)
        if norm == "l2":
            anchor, positive = normalize_embeddings(anchor, norm), normalize_embeddings(positive, norm)
        return barlow_loss(anchor, positive, lambda_offdiag=spec.barlow_lambda, standardize=norm == "batch")
    anchor, positive = normalize_embeddings(anchor, norm), normalize_embeddings(positive, norm)
    if negatives is not None:
        negatives = normalize_embeddings(negatives, norm)
    if spec.objective == "infonce":
        return infonce_loss(anchor, positive, negatives, temperature=spec.temperature,
                            similarity=spec.similarity, symmetric=spec.symmetric)
    if spec.objective == "spectral":
        return spectral_loss(anchor, positive, negatives)
    if spec.objective == "vicreg":
        w = spec.vicreg
        return vicreg_loss(anchor, positive, invariance=w.invariance, variance=w.variance,
                           covariance=w.covariance)
    raise ValueError(f"unknown objective {spec.objective!r}")
