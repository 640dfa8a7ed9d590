"""Diagnostics for any embeddings: spectrum, numerical/effective rank, RankMe, LiDAR, α-ReQ, verdict.

    from sslscape.diagnose import diagnose
    d = diagnose(z)            # z: (N, d) numpy array or torch tensor (CPU/GPU, float16/32/64)
    print(d.verdict, d.reason) # 'healthy' | 'dimensional collapse (k of d)' | 'complete collapse'

One module per concern: `spectrum` (streamed covariance eigenvalues, accurate to float64), `rank` (the rank
rules: numerical rank, collapse rank, agreement), `metrics` (effective rank, RankMe, α-ReQ, normalised std),
`lidar`, `diagnosis` (verdict), `probe` (kNN / linear probe), `compare` (vs theory), `plot`, `callback`
(training monitors), `io` + `command` (CLI).
"""

from __future__ import annotations

from typing import Any

from .callback import EmbeddingMonitor, log_embedding_metrics
from .compare import TheoryComparison, compare_to_theory, predict_from_spec
from .diagnosis import Diagnosis, diagnose, diagnosis_of, verdict
from .lidar import lidar
from .metrics import alpha_req, effective_rank, normalized_std, rankme
from .probe import ProbeResult, probe_accuracies
from .rank import Agreement, CollapseCut, agreement, collapse_cut, collapse_rank, numerical_rank
from .spectrum import EmbeddingError, Spectrum, covariance_spectrum

__all__ = [
    "Agreement",
    "CollapseCut",
    "Diagnosis",
    "EmbeddingError",
    "EmbeddingMonitor",
    "ProbeResult",
    "Spectrum",
    "TheoryComparison",
    "agreement",
    "alpha_req",
    "collapse_cut",
    "collapse_rank",
    "compare_to_theory",
    "covariance_spectrum",
    "diagnose",
    "diagnosis_of",
    "effective_rank",
    "lidar",
    "log_embedding_metrics",
    "normalized_std",
    "numerical_rank",
    "predict_from_spec",
    "probe_accuracies",
    "rankme",
    "verdict",
]


def __getattr__(name: str) -> Any:
    if name == "EmbeddingMetricsCallback":  # needs Lightning; built on first access (see callback.py)
        from . import callback

        return callback.EmbeddingMetricsCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

from .._callable import make_module_callable  # noqa: E402

make_module_callable(__name__, diagnose)  # `from sslscape import diagnose; diagnose(z)` (DESIGN.md §2)
