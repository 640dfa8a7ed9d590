"""InfoNCE in the CLIP form — Oord et al. 2018, Radford et al. 2021. SimCLR's own loss, NT-Xent (Chen et al. 2020,
Eq. 1: every embedding of both views against the other 2N − 1), is `ntxent.py`.

    L = mean_i [ −s(z_i, z'_i)/τ + log Σ_j exp(s(z_i, c_j)/τ) ],   c_j = z'_j (j = i),  negative_j (j ≠ i)

`anchor` z (n, d), `positive` z' (n, d), `negatives` (n, d) or None (then c = z', the `augmented_negatives`
protocol; the `clean_negatives` protocol passes un-augmented embeddings as anchor and negatives).
Similarity s is `dot`, `cosine` or `euclidean` (−‖u − v‖²/2). `symmetric=True` averages the loss over rows and
columns of the logit matrix (both directions, as CLIP does). Inputs may be stacked as (n_batches, n, d): the
result is the mean over the independent batches (one kernel launch instead of a Python loop).

Raises ValueError for a non-positive temperature, an unknown similarity or mismatched shapes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .similarity import check_pair, logits_with_positive


def infonce_loss(anchor: Tensor, positive: Tensor, negatives: Tensor | None = None, *, temperature: float = 1.0,
                 similarity: str = "dot", symmetric: bool = False) -> Tensor:
    """InfoNCE of anchors (n, d) against positives (n, d) and negatives (n, d) or None; stacked (b, n, d) too.

    Returns the mean loss (a scalar tensor); τ = `temperature` > 0, `similarity` dot | cosine | euclidean.
    Raises ValueError for τ ≤ 0, an unknown similarity, mismatched shapes or a batch of fewer than 2 pairs.

    >>> import torch
    >>> round(float(infonce_loss(torch.eye(4), torch.eye(4))), 4)  # −1 + log(e + 3) per row
    0.7437
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    check_pair(anchor, positive, negatives, stacked=True)
    logits = logits_with_positive(anchor, positive, negatives, similarity) / temperature  # (…, n, n)
    n = logits.shape[-1]
    target = torch.arange(n, device=anchor.device).repeat(logits.numel() // (n * n))  # row i's positive is i
    loss = F.cross_entropy(logits.reshape(-1, n), target)
    if symmetric:
        loss = 0.5 * (loss + F.cross_entropy(logits.mT.reshape(-1, n), target))
    return loss
