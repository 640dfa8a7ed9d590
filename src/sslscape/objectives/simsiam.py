"""SimSiam — Chen & He 2021: a predictor against a stop-gradient target.

    L = ½ D(p_1, sg(z_2)) + ½ D(p_2, sg(z_1)),   D(p, z) = −mean_i s(p_i, z_i)

p = predictor(z); s is `cosine` (the paper) or `dot` (the linear theory of Tian, Chen & Ganguli 2021). There is
no loss whose minimum is the learned state: `sslscape.theory` integrates the population dynamics instead.
"""

from __future__ import annotations

from torch import Tensor

from .similarity import check_pair, rowwise_similarity


def negative_similarity(prediction: Tensor, target: Tensor, similarity: str = "cosine") -> Tensor:
    """−mean_i s(p_i, sg(t_i)); the target never receives a gradient."""
    return -rowwise_similarity(prediction, target.detach(), similarity).mean()


def simsiam_loss(p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor, *, similarity: str = "cosine") -> Tensor:
    """SimSiam loss of predictions `p1`, `p2` (n, d) against stop-gradient embeddings `z2`, `z1` (n, d).

    `similarity` is 'cosine' (the paper) or 'dot'. Raises ValueError for mismatched shapes.

    >>> import torch
    >>> z = torch.eye(3)
    >>> float(simsiam_loss(z, z, z, z))  # perfect prediction: −cos = −1
    -1.0
    """
    check_pair(p1, z2)
    check_pair(p2, z1)
    return 0.5 * (negative_similarity(p1, z2, similarity) + negative_similarity(p2, z1, similarity))
