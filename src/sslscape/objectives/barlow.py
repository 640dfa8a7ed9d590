"""Barlow Twins — Zbontar, Jing, Misra, LeCun & Deny 2021.

    L = Σ_k (1 − K_kk)² + λ Σ_{k≠l} K_kl²,   K = Z̃ᵀ Z̃' / n   (d × d)

With `standardize=True` each embedding dimension is standardised over the batch first (mean 0, biased variance,
eps 1e-5 — as the reference implementation's `F.batch_norm`), so K is the cross-correlation matrix. With
`standardize=False` K is the raw cross second-moment matrix, whose population value for a linear encoder is
W E[x' x''ᵀ] Wᵀ, which makes the loss exactly quartic in W (the theory's case).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .similarity import check_pair

BN_EPS = 1e-5


def batch_standardize(z: Tensor, eps: float = BN_EPS) -> Tensor:
    """Per-dimension standardisation over the batch axis (−2; biased variance), as `F.batch_norm` without affine."""
    return (z - z.mean(-2, keepdim=True)) / torch.sqrt(z.var(-2, unbiased=False, keepdim=True) + eps)


def barlow_loss(anchor: Tensor, positive: Tensor, *, lambda_offdiag: float = 0.005,
                standardize: bool = True) -> Tensor:
    """Barlow Twins loss of two views' embeddings `anchor`, `positive`, each (n, d): a scalar tensor.

    `lambda_offdiag` is λ (≥ 0); `standardize` switches the batch standardisation (module docstring).
    Raises ValueError for mismatched shapes, n < 2 or λ < 0.

    >>> import torch
    >>> float(barlow_loss(2 * torch.eye(4), 2 * torch.eye(4), standardize=False))  # K = I: the minimum
    0.0
    """
    check_pair(anchor, positive)
    if lambda_offdiag < 0:
        raise ValueError(f"lambda_offdiag must be ≥ 0, got {lambda_offdiag}")
    if standardize:
        anchor, positive = batch_standardize(anchor), batch_standardize(positive)
    k = anchor.T @ positive / anchor.shape[0]  # (d, d)
    diag = k.diagonal()
    on = (1 - diag).pow(2).sum()
    off = k.pow(2).sum() - diag.pow(2).sum()
    return on + lambda_offdiag * off
