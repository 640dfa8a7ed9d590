"""sslscape.diagnostics.lidar vs a slow, explicit per-sample / per-view loop written here."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sslscape.diagnostics.lidar import LIDAR_DELTA, LIDAR_EPS, lidar
from sslscape.diagnostics.spectrum import EmbeddingError


def lidar_loop(
    views: np.ndarray, delta: float = LIDAR_DELTA, eps: float = LIDAR_EPS, whiten_with: str = "within"
) -> float:
    """Thilak et al. 2023 written out with loops; `whiten_with='between'` reproduces the known bug."""
    n, q, d = views.shape
    mu_i = [sum(views[i, j] for j in range(q)) / q for i in range(n)]
    mu = sum(mu_i) / n
    sb = np.zeros((d, d))
    for i in range(n):
        sb += np.outer(mu_i[i] - mu, mu_i[i] - mu)
    sb /= n - 1
    sw = np.zeros((d, d))
    for i in range(n):
        for j in range(q):
            sw += np.outer(views[i, j] - mu_i[i], views[i, j] - mu_i[i])
    sw = sw / (n * (q - 1)) + delta * np.eye(d)
    w_mat = sw if whiten_with == "within" else sb + delta * np.eye(d)
    w, u = np.linalg.eigh(w_mat)
    inv_sqrt = u @ np.diag(w**-0.5) @ u.T
    lam = np.linalg.eigvalsh(inv_sqrt @ sb @ inv_sqrt)
    p = lam / lam.sum() + eps
    return float(math.exp(-sum(pk * math.log(pk) for pk in p)))


def _views(n=40, q=5, d=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n, d)) * np.array([3, 2, 1, 1, 0.5, 0.1])
    noise = rng.standard_normal((n, q, d)) * np.array([0.1, 1.0, 0.5, 0.2, 0.3, 0.05])  # anisotropic within
    return centres[:, None, :] + noise


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lidar_matches_explicit_loop(seed):
    v = _views(seed=seed)
    assert lidar(v) == pytest.approx(lidar_loop(v), rel=1e-9)


def test_whitening_matrix_matters():
    # The test would catch an implementation that whitens with the wrong scatter.
    v = _views()
    assert abs(lidar_loop(v) - lidar_loop(v, whiten_with="between")) > 0.1


def test_chunked_float32_and_torch_agree():
    v = _views(n=50, q=3)
    ref = lidar(v)
    assert lidar(v, chunk_samples=7) == pytest.approx(ref, rel=1e-12)
    assert lidar(v.astype(np.float32)) == pytest.approx(ref, rel=1e-4)
    assert lidar(torch.from_numpy(v)) == pytest.approx(ref, rel=1e-12)


def test_lidar_of_isotropic_well_separated_samples_is_near_d():
    rng = np.random.default_rng(0)
    v = rng.standard_normal((2000, 1, 4)) * 10 + rng.standard_normal((2000, 4, 4))
    assert lidar(v) == pytest.approx(4.0, rel=0.02)


def test_identical_sample_means_give_zero():
    v = np.zeros((10, 3, 4))
    v[:, 1] += 1.0
    v[:, 2] -= 1.0
    assert lidar(v) == 0.0


@pytest.mark.parametrize("shape, message", [((10, 1, 4), "q ≥ 2"), ((10, 4), r"\(N, q, d\)")])
def test_bad_view_shapes(shape, message):
    with pytest.raises(EmbeddingError, match=message):
        lidar(np.ones(shape))


def test_nonfinite_views_are_counted():
    v = _views()
    v[[1, 2], 0, 0] = np.nan
    with pytest.raises(EmbeddingError, match="2 of 40 samples") as info:
        lidar(v)
    assert info.value.nonfinite_rows == 2
