"""Spectral contrastive loss — HaoChen, Wei, Gaidon & Ma 2021.

    L = −2 mean_i z_i·z'_i + mean_{i≠j} (z_i·c_j)²,   c_j = z'_j (augmented negatives) or negative_j (clean)

Its population loss is exactly quartic in a linear encoder: −2 Tr[W E(x x'ᵀ) Wᵀ] + Tr[W Σ_a Wᵀ W Σ_c Wᵀ]
(Σ_a, Σ_c: second-moment matrices of anchor and negatives), which `sslscape.theory` uses.

Inputs may be stacked as (n_batches, n, d): the result is the mean over the independent batches.
"""

from __future__ import annotations

from torch import Tensor

from .similarity import candidates, check_pair


def spectral_loss(anchor: Tensor, positive: Tensor, negatives: Tensor | None = None) -> Tensor:
    """Spectral contrastive loss of anchors, positives (n, d) and clean negatives (n, d) or None; a scalar.

    Inputs may be stacked (b, n, d) (the mean over batches). Raises ValueError for mismatched shapes or n < 2.

    >>> import torch
    >>> float(spectral_loss(torch.eye(4), torch.eye(4)))  # −2·1 + 0 (orthogonal negatives)
    -2.0
    """
    check_pair(anchor, positive, negatives, stacked=True)
    n = anchor.shape[-2]
    cand = candidates(positive, negatives)
    align = (anchor * positive).sum(-1).mean()
    # Σ_{i≠j} (a_i·c_j)² = ‖A Cᵀ‖²_F − Σ_i (a_i·c_i)², and ‖A Cᵀ‖²_F = ⟨AᵀA, CᵀC⟩: two (d, d) Gram matrices
    # instead of the (n, n) one — O(n d²) rather than O(n² d), the difference that matters for batch ≫ dim.
    full = ((anchor.mT @ anchor) * (cand.mT @ cand)).sum((-2, -1))
    diag = (anchor * cand).sum(-1).pow(2).sum(-1)
    return -2.0 * align + ((full - diag) / (n * (n - 1))).mean()
