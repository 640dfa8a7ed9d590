"""NT-Xent — SimCLR's loss (Chen, Kornblith, Norouzi & Hinton 2020, arXiv:2002.05709, Eq. 1).

The two views' embeddings z_1 … z_N, z'_1 … z'_N are stacked into 2N embeddings u_1 … u_2N. Each one is an anchor
scored against the other 2N − 1: its positive (the other view of its example) and 2N − 2 negatives, N − 1 of them
from its own view:

    ℓ(a, b) = −s(u_a, u_b)/τ + log Σ_{k ≠ a} exp(s(u_a, u_k)/τ),      L = (1/2N) Σ_{pairs (a, b)} [ℓ(a, b) + ℓ(b, a)]

with s the cosine similarity (SimCLR's; the "N" of NT-Xent is this normalisation) or, for the theory's dot form,
the dot product. This is what lightly's `NTXentLoss` (memory bank 0) and stable-pretraining's `NTXEntLoss` compute.
`infonce_loss` is the CLIP form instead: anchor z_i against the N embeddings z'_j of the other view only (N − 1
negatives), which differs by about log 2 in value (docs/spec.md, docs/theory.md §15).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .similarity import check_pair, pairwise_similarity

SIMILARITIES = ("cosine", "dot")


def ntxent_logits(z1: Tensor, z2: Tensor, *, temperature: float, similarity: str = "cosine") -> tuple[Tensor, Tensor]:
    """The (…, 2N, 2N) logits s(u_a, u_k)/τ of the stacked embeddings u = [z1; z2] with −inf on the diagonal (an
    embedding is not its own candidate), and the (2N,) index of each anchor's positive (a ± N).

    Validates like `ntxent_loss`; the theory reads the positive pair's softmax share p̄ from these logits."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if similarity not in SIMILARITIES:
        raise ValueError(f"NT-Xent similarity must be 'cosine' or 'dot', got {similarity!r}")
    check_pair(z1, z2, stacked=True)
    n = z1.shape[-2]
    u = torch.cat([z1, z2], dim=-2)                                   # (…, 2N, d): view 1, then view 2
    logits = pairwise_similarity(u, u, similarity) / temperature      # (…, 2N, 2N)
    self_pair = torch.eye(2 * n, dtype=torch.bool, device=u.device)
    positive = (torch.arange(2 * n, device=u.device) + n) % (2 * n)    # the other view of the same example
    return logits.masked_fill(self_pair, float("-inf")), positive


def ntxent_loss(z1: Tensor, z2: Tensor, *, temperature: float, similarity: str = "cosine") -> Tensor:
    """NT-Xent of two views' embeddings z1, z2 (N, d) — or stacked (b, N, d), the mean over the b batches.

    Returns the mean over the 2N anchors (a scalar tensor). τ = `temperature` > 0; `similarity` 'cosine' (SimCLR)
    or 'dot'. Raises ValueError for τ ≤ 0, another similarity, shapes that differ or a batch of fewer than 2 pairs.

    >>> import torch
    >>> z = torch.eye(2)  # two orthogonal pairs: each anchor sees its positive (cos 1) and two negatives (cos 0)
    >>> round(float(ntxent_loss(z, z, temperature=1.0)), 4)  # −1 + log(e + 2)
    0.5514
    """
    logits, positive = ntxent_logits(z1, z2, temperature=temperature, similarity=similarity)
    two_n = positive.numel()
    return F.cross_entropy(logits.reshape(-1, two_n), positive.repeat(logits.numel() // (two_n * two_n)))
