"""sslscape.diagnostics.diagnosis: verdicts on embeddings built to be healthy, collapsed or degenerate."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ---- issue 19: repeated rows, knees, identical values in any dtype ---------------------------------------------

def test_repeated_rows_show_no_direction_and_are_counted():
    # 60 distinct rows gathered 8 times (a distributed evaluation with a padded sampler)
    rows = np.random.default_rng(3).standard_normal((60, 128)).astype(np.float32)
    once, eight = diagnose(rows), diagnose(np.tile(rows, (8, 1)))
    assert once.verdict == eight.verdict == "healthy" and once.max_rank == eight.max_rank == 59
    assert eight.duplicate_rows == 420 and once.duplicate_rows == 0
    assert eight.rank == np.linalg.matrix_rank(rows - rows.mean(0)) == 59
    assert "420 of 480 rows repeat earlier rows" in eight.reason and "60 distinct rows" in eight.reason


def test_a_knee_verdict_names_the_knee_and_the_share(make_embeddings):
    y = np.r_[-np.linspace(0, 0.6, 16), -0.6 - np.cumsum([0.49, 0.72, 0.41]), -2.3 - np.linspace(0, 2.4, 109)]
    lam = 10.0**y
    d = diagnose(make_embeddings(np.sqrt(4000 * lam), n=4000).astype(np.float32))
    assert d.verdict == "dimensional collapse (17 of 128)" and d.knee.start == 16
    assert d.surviving_variance_share == pytest.approx(lam[:17].sum() / lam.sum(), rel=1e-5)
    assert "drops" in d.reason and "after direction 16" in d.reason and "direction 17 lies within" in d.reason


@settings(max_examples=12, deadline=None)
@given(k=st.integers(2, 24), seed=st.integers(0, 2**31 - 1), fmt=st.sampled_from(["float16", "bfloat16"]))
def test_property_identical_values_in_any_dtype_give_identical_verdicts(k, seed, fmt):
    rng = np.random.default_rng(seed)
    lam = np.r_[np.arange(1, k + 1, dtype=float) ** -0.5, 10.0 ** -(1.0 + np.array([0.6, 1.3, 1.9])),
                10.0 ** (-3.0 - 0.4 * rng.random(40 - k - 3))]
    z = torch.from_numpy(rng.standard_normal((600, 40)) * np.sqrt(lam)).to(getattr(torch, fmt))  # rounded values
    stored = [z, z.float(), z.double(), z.float().numpy(), z.double().numpy()]
    answers = {(r.verdict, r.rank, r.knee_decades, r.storage) for r in map(diagnose, stored)}
    assert len(answers) == 1 and next(iter(answers))[3] == fmt
    assert next(iter(answers))[0].startswith("dimensional collapse")
