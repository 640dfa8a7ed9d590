"""LiDAR (Thilak et al. 2023, "LiDAR: Sensing Linear Probing Performance in Joint Embedding SSL
Architectures").

Treat each sample as a class and its q augmented views as that class's members. With per-sample means
μ_i = (1/q) Σ_j z_ij and grand mean μ = (1/N) Σ_i μ_i:

    Σ_b = 1/(N−1) Σ_i (μ_i − μ)(μ_i − μ)ᵀ                       (between-sample scatter)
    Σ_w = 1/(N(q−1)) Σ_i Σ_j (z_ij − μ_i)(z_ij − μ_i)ᵀ + δ I     (within-sample scatter, regularised)
    Λ   = Σ_w^{−1/2} Σ_b Σ_w^{−1/2},  λ = eig(Λ),  p_k = λ_k / ‖λ‖₁ + ε
    LiDAR = exp(−Σ_k p_k log p_k)

The whitening is by the WITHIN scatter Σ_w (a known bug elsewhere whitens with Σ_b or the total covariance,
which makes the measure a plain effective rank). δ = 1e-4 (absolute, so LiDAR is scale-invariant only while
δ ≪ the within-sample variances) and ε = 1e-7 (as in RankMe) are our defaults; both are arguments.
Test: tests/diagnostics/test_lidar.py compares against an explicit per-sample, per-view loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .spectrum import EmbeddingError, _is_torch, _row_chunks, check_shape

LIDAR_DELTA = 1e-4
LIDAR_EPS = 1e-7


def _as_views_array(views: Any) -> np.ndarray:
    if _is_torch(views):
        import torch

        t = views.detach().to("cpu")
        return (t if t.dtype == torch.float64 else t.float()).numpy()
    return np.asarray(views)


def lidar(
    views: Any, *, delta: float = LIDAR_DELTA, eps: float = LIDAR_EPS, chunk_samples: int = 2048
) -> float:
    """LiDAR of `views` shaped (N samples, q views, d); needs N ≥ 2 and q ≥ 2. See the module docstring.

    Streams the samples in chunks, in float64 (the measurement core's precision), so memory is the input plus
    one chunk.
    Raises EmbeddingError for a wrong shape or NaN/Inf views.
    """
    v = _as_views_array(views)
    if v.ndim != 3:
        raise EmbeddingError(
            f"views must have shape (N, q, d), got {v.shape}; "
            "give (N·q, d) with --n-views q, grouped by sample"
        )
    n, q, d = v.shape
    check_shape(v.reshape(n, q * d), "views")
    if q < 2:
        raise EmbeddingError(f"views have q = {q} view per sample; LiDAR needs q ≥ 2 views of each sample")
    bad = int((~np.isfinite(v)).any(axis=(1, 2)).sum())
    if bad:
        raise EmbeddingError(
            f"views have {bad} of {n} samples with NaN/Inf; drop or fix them first", nonfinite_rows=bad
        )

    means = v.mean(axis=1, dtype=np.float64)  # (N, d) per-sample means μ_i
    within = np.zeros((d, d))
    for s in _row_chunks(n, chunk_samples):
        dev = (v[s].astype(np.float64) - means[s, None, :]).reshape(-1, d)  # (chunk·q, d) z_ij − μ_i
        within += dev.T @ dev
    within = within / (n * (q - 1)) + delta * np.eye(d)
    centred_means = means - means.mean(axis=0)
    between = centred_means.T @ centred_means / (n - 1)

    # Σ_w^{-1/2} from the eigendecomposition of the (symmetric, positive definite after + δI) Σ_w.
    w, u = np.linalg.eigh((within + within.T) / 2)
    inv_sqrt = (u / np.sqrt(np.clip(w, delta, None))) @ u.T
    lam = np.clip(np.linalg.eigvalsh(inv_sqrt @ between @ inv_sqrt), 0.0, None)
    total = lam.sum()
    if total <= 0.0:
        return 0.0  # all samples share one mean: no discriminable direction
    p = lam / total + eps
    return float(np.exp(-np.sum(p * np.log(p))))
