"""Pairwise similarities shared by the contrastive and predictive objectives."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def pairwise_similarity(a: Tensor, b: Tensor, similarity: str) -> Tensor:
    """(…, n, d), (…, m, d) -> (…, n, m) matrix s(a_i, b_j); leading dims are independent batches.

    dot: a·b;  cosine: a·b / (‖a‖‖b‖);  euclidean: −‖a − b‖²/2 = a·b − ‖a‖²/2 − ‖b‖²/2 (expanded so that it is
    one matmul; exact to rounding).
    """
    if similarity == "dot":
        return a @ b.mT
    if similarity == "cosine":
        return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).mT
    if similarity == "euclidean":
        return a @ b.mT - 0.5 * (a * a).sum(-1, keepdim=True) - 0.5 * (b * b).sum(-1).unsqueeze(-2)
    raise ValueError(f"unknown similarity {similarity!r}; use 'dot', 'cosine' or 'euclidean'")


def rowwise_similarity(a: Tensor, b: Tensor, similarity: str) -> Tensor:
    """(…, n, d), (…, n, d) -> (…, n) vector s(a_i, b_i)."""
    if similarity == "dot":
        return (a * b).sum(-1)
    if similarity == "cosine":
        return F.cosine_similarity(a, b, dim=-1)
    if similarity == "euclidean":
        return -0.5 * ((a - b) ** 2).sum(-1)
    raise ValueError(f"unknown similarity {similarity!r}; use 'dot', 'cosine' or 'euclidean'")


def candidates(positive: Tensor, negatives: Tensor | None) -> Tensor:
    """Row j of the result is the candidate for column j: the positive on the diagonal, negatives elsewhere.

    With `negatives=None` the positives serve as each other's negatives (SimCLR's `augmented_negatives`).
    The caller builds the logits as s(anchor_i, cand_j) and replaces the diagonal by s(anchor_i, positive_i).
    """
    return positive if negatives is None else negatives


def check_pair(anchor: Tensor, positive: Tensor, negatives: Tensor | None = None, stacked: bool = False) -> None:
    """(batch, dim) tensors of one shape; `stacked=True` also allows (n_batches, batch, dim)."""
    ndims = (2, 3) if stacked else (2,)
    if anchor.ndim not in ndims or anchor.shape != positive.shape:
        raise ValueError(f"anchor and positive must both be (batch, dim); got {tuple(anchor.shape)} and "
                         f"{tuple(positive.shape)}")
    if negatives is not None and negatives.shape != anchor.shape:
        raise ValueError(f"negatives must be (batch, dim) like the anchor; got {tuple(negatives.shape)}")
    if anchor.shape[-2] < 2:
        raise ValueError("a batch needs at least 2 pairs (negatives come from the other pairs)")


def logits_with_positive(anchor: Tensor, positive: Tensor, negatives: Tensor | None, similarity: str) -> Tensor:
    """(…, n, n) similarities: off-diagonal s(anchor_i, negative_j), diagonal s(anchor_i, positive_i)."""
    sims = pairwise_similarity(anchor, candidates(positive, negatives), similarity)
    if negatives is None:
        return sims
    diag = rowwise_similarity(anchor, positive, similarity)
    eye = torch.eye(anchor.shape[-2], dtype=torch.bool, device=anchor.device)
    return torch.where(eye, diag.unsqueeze(-1).expand_as(sims), sims)
