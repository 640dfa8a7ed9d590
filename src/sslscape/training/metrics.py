"""What a run measures — spectrum, rank and effective rank — through the one measurement core in `diagnose`.

    population   for the linear encoders on the spec's Gaussian: the exact spectrum eig(W C Wᵀ) (W = W_L ⋯ W_1;
                 a bias shifts the mean only), in float64, cut by the collapse rule with the data scale
                 Tr C / D as reference (complete collapse: top variance ≤ 1e-6 of it)
    sample       otherwise: `sslscape.diagnostics.diagnose` of the embeddings of a fixed clean batch
Both use `diagnose.rank.collapse_cut` (the rank) and `diagnose.metrics.effective_rank` (Roy & Vetterli on
singular values): training, compare, experiments and `sslscape diagnose` report the same numbers for the same
embeddings (docs/metrics.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..diagnostics import diagnose
from ..diagnostics.metrics import effective_rank
from ..diagnostics.rank import RULE, collapse_cut


@dataclass(frozen=True)
class Measured:
    """Spectrum (descending covariance eigenvalues), collapse rank and effective rank of a representation."""

    spectrum: np.ndarray
    rank: int
    effective_rank: float
    rule: str = RULE


def population_spectrum(weight: Tensor, cov: Tensor) -> np.ndarray:
    """Eigenvalues (descending, float64) of W C Wᵀ."""
    w = weight.detach().double()
    m = w @ cov.double() @ w.T
    return torch.linalg.eigvalsh((m + m.T) / 2).flip(0).clamp_min(0.0).cpu().numpy()


def measure_population(weight: Tensor, cov: Tensor) -> Measured:
    """The exact spectrum of a linear encoder on Gaussian data, cut by the collapse rule (module docstring)."""
    lam = population_spectrum(weight, cov)
    scale = float(torch.diagonal(cov.double()).mean())
    cut = collapse_cut(lam, reference_scale=scale)
    return Measured(lam, cut.rank, effective_rank(np.sqrt(lam)))


def measure_embeddings(z: Tensor) -> Measured:
    """`diagnose` of embeddings z (n, d): its spectrum, collapse rank and effective rank."""
    d = diagnose(z.detach())
    return Measured(np.asarray(d.eigenvalues), d.rank, d.effective_rank)
