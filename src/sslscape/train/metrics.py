"""Spectrum and rank of a representation — what the metrics log and `compare` report.

    spectrum        eigenvalues of the embedding covariance, descending. For the linear encoders on the spec's
                    Gaussian it is the exact population value eig(W C Wᵀ) (W = W_L ⋯ W_1; a bias shifts the mean
                    only); otherwise the sample covariance of the embeddings of a fixed clean batch.
    effective rank  exp(H(p)), p_i = λ_i / Σ_j λ_j (Roy & Vetterli 2007): 1 for one direction, d for an
                    isotropic embedding; smooth, so it shows collapse progressing during training.
    trained rank    #{i : λ_i > rel_tol · λ_1}, rel_tol = 1e-3, and 0 when λ_1 < abs_tol · scale
                    (abs_tol = 1e-6, scale = Tr C / D, the variance a unit-gain map gives). Weight decay drives
                    collapsed directions to zero exponentially, so after training they sit many decades below
                    the survivors; the absolute floor makes a complete collapse (all λ ≈ 0) rank 0 rather than
                    a count of rounding noise. Relative, not absolute, above the floor: with cosine similarity
                    the loss is scale-free and weight decay shrinks every surviving direction together.
"""

from __future__ import annotations

import torch
from torch import Tensor

RANK_REL_TOL = 1e-3
RANK_ABS_TOL = 1e-6  # collapsed runs end ≤ 2e-7, surviving ones ≥ 7e-3 (sweep_compare, 2026-11-25)


def covariance_spectrum(z: Tensor) -> Tensor:
    """Eigenvalues (descending, float64) of the biased sample covariance of embeddings z (n, d)."""
    z = z.detach().double()
    zc = z - z.mean(0)
    return torch.linalg.eigvalsh(zc.T @ zc / z.shape[0]).flip(0).clamp_min(0.0)


def population_spectrum(weight: Tensor, cov: Tensor) -> Tensor:
    """Eigenvalues (descending, float64) of W C Wᵀ."""
    w = weight.detach().double()
    m = w @ cov.double() @ w.T
    return torch.linalg.eigvalsh((m + m.T) / 2).flip(0).clamp_min(0.0)


def effective_rank(spectrum: Tensor) -> float:
    total = spectrum.sum()
    if not total > 0:
        return 0.0
    p = spectrum / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def trained_rank(spectrum: Tensor, scale: float = 0.0, rel_tol: float = RANK_REL_TOL,
                 abs_tol: float = RANK_ABS_TOL) -> int:
    """Directions whose variance exceeds rel_tol × the largest; 0 if the largest is below abs_tol × scale."""
    if spectrum.numel() == 0:
        return 0
    top = float(spectrum.max())
    if not top > abs_tol * scale or top <= 0:
        return 0
    return int((spectrum > rel_tol * top).sum())
