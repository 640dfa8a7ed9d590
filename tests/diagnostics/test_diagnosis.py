"""sslscape.diagnostics.diagnosis: verdicts on embeddings built to be healthy, collapsed or degenerate."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sslscape.diagnostics.diagnosis import diagnose
from sslscape.diagnostics.spectrum import EmbeddingError


@pytest.mark.parametrize("value", [0.0, 3.7])
def test_constant_embeddings_are_complete_collapse_without_division_by_zero(value):
    with np.errstate(all="raise"):  # any 0/0 inside would raise here
        d = diagnose(np.full((100, 8), value, dtype=np.float32))
    assert d.verdict == "complete collapse" and d.phase == "complete"
    assert d.rank == 0 and d.effective_rank == 0.0 and d.alpha is None
    assert d.normalized_std == 0.0
    json.loads(d.to_json())  # no NaN in the JSON


def test_tiny_spread_around_a_far_point_is_complete_collapse():
    rng = np.random.default_rng(0)
    x = 5.0 + 1e-5 * rng.standard_normal((500, 8))
    d = diagnose(x)
    assert d.verdict == "complete collapse"
    assert "≈ one vector" in d.reason and "mean pairwise cosine" in d.reason
    assert d.mean_cosine > 0.999999


def test_dimensional_collapse_names_k_of_d(make_embeddings):
    s = np.r_[np.geomspace(5, 1, 12), np.zeros(20)]
    d = diagnose(make_embeddings(s, n=1000, shift=2.0).astype(np.float32))
    assert d.verdict == "dimensional collapse (12 of 32)" and d.phase == "dimensional"
    assert d.rank == d.collapse_rank == 12 and d.numerical_rank == 12
    assert "after direction 12" in d.reason and "100.00% of the variance" in d.reason


def test_healthy(make_embeddings):
    d = diagnose(make_embeddings(np.geomspace(3, 0.3, 16), n=400))
    assert d.verdict == "healthy" and d.phase == "none" and d.rank == 16


def test_fewer_samples_than_dimensions_says_so():
    x = np.random.default_rng(0).standard_normal((10, 32))
    d = diagnose(x)
    assert d.max_rank == 9 and d.rank == 9
    assert d.verdict == "healthy" and "N − 1 = 9" in d.reason


def test_rank_is_the_collapse_rank_not_a_relative_cut(make_embeddings):
    # σ falls 10× per direction — an exponential decay with no cliff: every direction is above the rounding
    # noise and carries variance, so the rule (unlike a 1e-3 relative cut) calls it healthy
    x = make_embeddings(np.array([1.0, 0.1, 0.01, 0.001]), n=200)
    d = diagnose(x)
    assert d.rank == d.numerical_rank == 4 and d.verdict == "healthy"


def test_views_add_lidar_and_json_keys():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((300, 4))
    v = z[:50, None, :] + 0.1 * rng.standard_normal((50, 3, 4))
    out = json.loads(diagnose(z, views=v).to_json())
    for key in ("n", "dim", "rank", "effective_rank", "rankme", "alpha", "verdict", "lidar", "eigenvalues"):
        assert key in out
    assert "lidar" not in diagnose(z).to_dict()


def test_torch_tensor_requiring_grad():
    z = torch.randn(200, 5, requires_grad=True)
    assert diagnose(z).rank == 5


def test_nan_rows_are_an_error():
    x = np.ones((20, 3))
    x[4] = np.inf
    with pytest.raises(EmbeddingError, match="1 of 20 rows with NaN/Inf"):
        diagnose(x)
