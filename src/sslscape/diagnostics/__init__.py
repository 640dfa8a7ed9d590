"""Diagnostics for any embeddings: spectrum, numerical/effective rank, RankMe, LiDAR, α-ReQ, verdict.

    from sslscape.diagnostics import diagnose
    d = diagnose(z)            # z: (N, d) numpy array or torch tensor (CPU/GPU, float16/32/64)
    print(d.verdict, d.reason) # 'healthy' | 'dimensional collapse (k of d)' | 'complete collapse'

One module per concern: `spectrum` (streamed covariance eigenvalues, accurate to float64), `rank` (the rank rules:
numerical rank, the collapse rank and its knee, agreement), `metrics` (effective rank, RankMe, α-ReQ and its fit,
normalised std), `lidar`, `diagnosis` (verdict), `probe` (kNN / linear probe — the one implementation training uses
too) and `signatures` (collapse signatures in words). The collapse monitor for a training loop (`sslscape.monitor`)
combines these with the theory and figures; figures live in `sslscape.report`, the comparison with theory in
`sslscape.compare`.
"""

from __future__ import annotations

from .diagnosis import Diagnosis, diagnose, diagnosis_of, verdict
from .lidar import lidar
from .metrics import PowerLawFit, alpha_req, effective_rank, normalized_std, power_law_fit, rankme
from .probe import ProbeResult, knn_accuracy, linear_probe_accuracy, probe_accuracies
from .rank import Agreement, CollapseCut, Knee, agreement, collapse_cut, collapse_rank, numerical_rank
from .spectrum import EmbeddingError, Spectrum, covariance_spectrum

__all__ = [
    "Agreement",
    "CollapseCut",
    "Diagnosis",
    "EmbeddingError",
    "Knee",
    "PowerLawFit",
    "ProbeResult",
    "Spectrum",
    "agreement",
    "alpha_req",
    "collapse_cut",
    "collapse_rank",
    "covariance_spectrum",
    "diagnose",
    "diagnosis_of",
    "effective_rank",
    "knn_accuracy",
    "linear_probe_accuracy",
    "lidar",
    "normalized_std",
    "numerical_rank",
    "power_law_fit",
    "probe_accuracies",
    "rankme",
    "verdict",
]

