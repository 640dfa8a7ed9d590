"""VICReg — Bardes, Ponce & LeCun 2022 (the reference implementation's normalisations).

    L = λ_inv · mean((z − z')²)
      + λ_var · ½ [mean_k relu(1 − std_k(z)) + mean_k relu(1 − std_k(z'))],  std_k = sqrt(Var_k + 1e-4)
      + λ_cov · [Σ_{k≠l} Cov(z)_kl² + Σ_{k≠l} Cov(z')_kl²] / d

Variances and covariances are the unbiased batch estimates, as in the reference code. Defaults 25 / 25 / 1.
The variance hinge is not differentiable at W = 0 (std ∝ ‖W‖): VICReg has no quartic expansion there; the
theory's population closed form answers it instead (docs/theory.md §12, solver 'population').
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .similarity import check_pair

STD_EPS = 1e-4


def variance_term(z: Tensor) -> Tensor:
    """VICReg's variance hinge of (n, d) embeddings, unweighted: mean_k relu(1 − sqrt(Var_k(z) + 1e-4)) ≥ 0
    (unbiased variance); 0 when every dimension's std is at least 1."""
    return F.relu(1 - torch.sqrt(z.var(0) + STD_EPS)).mean()


def covariance_term(z: Tensor) -> Tensor:
    """VICReg's covariance term of (n, d) embeddings, unweighted: Σ_{k≠l} Cov(z)_kl² / d ≥ 0 (unbiased
    covariance); 0 for decorrelated dimensions."""
    n, d = z.shape
    zc = z - z.mean(0)
    cov = zc.T @ zc / (n - 1)  # (d, d)
    return (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / d


def vicreg_loss(anchor: Tensor, positive: Tensor, *, invariance: float = 25.0, variance: float = 25.0,
                covariance: float = 1.0) -> Tensor:
    """VICReg loss of two views' embeddings (n, d) with weights λ_inv, λ_var, λ_cov; a scalar tensor ≥ 0.

    Raises ValueError for mismatched shapes or n < 2.

    >>> import torch
    >>> z = torch.randn(256, 8, generator=torch.Generator().manual_seed(0)) * 2
    >>> float(vicreg_loss(z, z, covariance=0.0)) < 1e-3  # identical views, std above 1: only the hinge's slack
    True
    """
    check_pair(anchor, positive)
    inv = F.mse_loss(anchor, positive)
    var = 0.5 * (variance_term(anchor) + variance_term(positive))
    cov = covariance_term(anchor) + covariance_term(positive)
    return invariance * inv + variance * var + covariance * cov
