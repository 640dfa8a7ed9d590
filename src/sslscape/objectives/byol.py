"""BYOL — Grill et al. 2020: online predictor against an EMA target network.

    L = ½ [ℓ(p_1, t_2) + ℓ(p_2, t_1)],  ℓ(p, t) = 2 − 2 cos(p, sg(t))  (cosine; the paper's normalised MSE)
                                        ℓ(p, t) = −p·sg(t)             (dot; the linear theory's form)

t = target(x) comes from an exponential moving average of the online encoder (`ema_decay`), kept by the trainer.
"""

from __future__ import annotations

from torch import Tensor

from .similarity import check_pair
from .simsiam import negative_similarity


def byol_loss(p1: Tensor, p2: Tensor, t1: Tensor, t2: Tensor, *, similarity: str = "cosine") -> Tensor:
    """BYOL loss of predictions `p1`, `p2` against targets `t2`, `t1` (each (n, d)); targets get no gradient.

    `similarity` is 'cosine' (2 − 2 cos, the paper) or 'dot'. Raises ValueError for mismatched shapes.

    >>> import torch
    >>> z = torch.eye(3)
    >>> float(byol_loss(z, z, z, z))  # predictions equal to the targets: the minimum of 2 − 2 cos
    0.0
    """
    check_pair(p1, t2)
    check_pair(p2, t1)
    pair = negative_similarity(p1, t2, similarity) + negative_similarity(p2, t1, similarity)
    if similarity == "cosine":  # ½ Σ (2 − 2 cos) = 2 − Σ cos
        return 2.0 + pair
    return 0.5 * pair
