"""The measurement core against a float64 SVD, whatever the dtype: float16 / bfloat16 / float32 / float64 copies
of the same values give the same spectrum, ranks and verdict; effective rank and RankMe match the SVD's.

These are the kinds of issue 9 (healthy power law in float32, rank-k + noise floor, exact low rank in float16,
near-constant embeddings, N ≤ d), each with its right answer computed here with numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sslscape.diagnostics import diagnose
from sslscape.diagnostics.metrics import RANKME_EPS
from sslscape.diagnostics.spectrum import covariance_spectrum


def svd_reference(z: np.ndarray) -> dict:
    """Independent numbers from a float64 SVD of the values as stored."""
    x = np.asarray(z, dtype=np.float64)
    n, d = x.shape
    s_c = np.linalg.svd(x - x.mean(0), compute_uv=False)
    s_raw = np.linalg.svd(x, compute_uv=False)
    m = min(n - 1, d)

    def ent(p: np.ndarray) -> float:
        p = p[p > 0]
        return float(np.exp(-(p * np.log(p)).sum()))

    return {"lam": s_c**2 / n, "erank": ent(s_c[:m] / s_c[:m].sum()),
            "rankme": ent(s_raw / s_raw.sum() + RANKME_EPS)}


def powerlaw(n: int, d: int, alpha: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lam = np.arange(1, d + 1, dtype=float) ** -alpha
    rot = np.linalg.qr(rng.standard_normal((d, d)))[0]
    return (rng.standard_normal((n, d)) * np.sqrt(lam)) @ rot.T


def low_rank(n: int, d: int, r: int, seed: int = 0, noise: float = 0.0, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, r)) @ rng.standard_normal((r, d)) / np.sqrt(r)
    return x + noise * rng.standard_normal((n, d)) + shift


STORAGE = {"float16": np.float16, "float32": np.float32, "float64": np.float64}


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("make", [
    lambda: powerlaw(1500, 96, 1.5),
    lambda: low_rank(3000, 64, 8),
    lambda: low_rank(3000, 64, 10, noise=0.01),
    lambda: low_rank(2000, 48, 6, shift=3.0),
])
def test_effective_rank_rankme_and_spectrum_match_a_float64_svd(make, dtype):
    z = make().astype(STORAGE[dtype])
    ref = svd_reference(z)
    d = diagnose(z)
    assert d.effective_rank == pytest.approx(ref["erank"], rel=1e-6)
    # RankMe's raw (uncentred) spectrum is eig(Σ + μμᵀ): its zero directions come back at ~ε‖μ‖², 1e-5 close
    assert d.rankme == pytest.approx(ref["rankme"], rel=1e-5)
    np.testing.assert_allclose(d.eigenvalues, ref["lam"], rtol=1e-7, atol=1e-12 * ref["lam"][0])


@pytest.mark.parametrize("make, rank, verdict", [
    (lambda: powerlaw(1500, 128, 1.5), 128, "healthy"),
    (lambda: low_rank(5000, 64, 8), 8, "dimensional collapse (8 of 64)"),
    (lambda: low_rank(5000, 128, 10, noise=0.01), 10, "dimensional collapse (10 of 128)"),
    (lambda: low_rank(2000, 32, 5, shift=2.0), 5, "dimensional collapse (5 of 32)"),
])
def test_identical_values_give_identical_rank_and_verdict_in_every_dtype(make, rank, verdict):
    base = make().astype(np.float16)  # values that every dtype below holds exactly
    results = [diagnose(base.astype(dt)) for dt in (np.float16, np.float32, np.float64)]
    results.append(diagnose(torch.from_numpy(base.astype(np.float32)).to(torch.float16)))
    for r in results:
        assert (r.rank, r.verdict, r.numerical_rank) == (rank, verdict, results[0].numerical_rank)
        assert r.storage == "float16"


def test_bfloat16_copies_are_read_at_bfloat16_precision():
    z = torch.from_numpy(low_rank(4000, 32, 6)).to(torch.bfloat16)
    a, b = diagnose(z), diagnose(z.float().numpy())
    assert a.storage == b.storage == "bfloat16"
    assert a.rank == b.rank == 6 and a.numerical_rank == b.numerical_rank == 6


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_low_rank_features_are_dimensional_collapse_in_any_dtype(dtype):
    d = diagnose(low_rank(3000, 64, 8, seed=1).astype(dtype))
    assert d.verdict == "dimensional collapse (8 of 64)" and d.numerical_rank == 8


def test_power_law_float32_is_healthy_and_matches_matrix_rank():
    z = powerlaw(1500, 768, 1.5, seed=15).astype(np.float32)
    assert np.linalg.matrix_rank(z.astype(np.float64) - z.astype(np.float64).mean(0),
                                 tol=None) == 768  # numpy's own rule on the float64 values
    d = diagnose(z)
    assert d.verdict == "healthy" and d.rank == 768 and d.numerical_rank == 768
    assert d.verdict == diagnose(z.astype(np.float64)).verdict


def test_noise_floor_is_collapse_and_verdict_names_the_numbers():
    z = low_rank(5000, 128, 10, noise=0.01).astype(np.float32)
    d = diagnose(z)
    assert d.verdict == "dimensional collapse (10 of 128)"
    assert d.numerical_rank == 128  # the floor is real variance, above the rounding noise
    assert d.knee_decades > 3 and d.surviving_variance_share > 0.99
    assert "drops" in d.reason and "decades" in d.reason and "%" in d.reason


@pytest.mark.parametrize("rel", [1e-2, 1e-3, 1e-4])
def test_nearly_one_constant_vector_is_complete_collapse(rel):
    rng = np.random.default_rng(0)
    v = rng.standard_normal(64)
    z = (v + rel / 8 * np.linalg.norm(v) * rng.standard_normal((1000, 64))).astype(np.float32)
    cos = (lambda u: (u @ u.T)[np.triu_indices(len(u), 1)].mean())(z / np.linalg.norm(z, axis=1, keepdims=True))
    d = diagnose(z)
    assert cos > 0.99 - 1e-3
    assert d.verdict == "complete collapse" and d.rank == 0
    assert d.mean_cosine == pytest.approx(cos, abs=1e-5)
    assert "mean pairwise cosine" in d.reason


def test_a_large_offset_with_real_spread_is_not_complete_collapse():
    z = powerlaw(2000, 32, 1.0) + 0.5  # spread ≈ 1.6 of ‖μ‖² = 8
    assert diagnose(z).verdict == "healthy"


@pytest.mark.parametrize("n, d", [(128, 512), (64, 64), (33, 32)])
def test_batches_with_n_at_most_d_state_the_measurable_maximum(n, d):
    z = np.random.default_rng(n).standard_normal((n, d)).astype(np.float32)
    r = diagnose(z)
    m = min(n - 1, d)
    assert r.max_rank == m and r.rank == m and r.verdict == "healthy"
    ref = svd_reference(z)
    assert r.rankme == pytest.approx(ref["rankme"], rel=1e-6)


@pytest.mark.parametrize("make", [lambda: powerlaw(6000, 256, 1.0), lambda: low_rank(6000, 256, 12),
                                  lambda: low_rank(6000, 256, 12, noise=1e-3, shift=1.0)])
def test_the_float32_fast_path_agrees_with_the_float64_gram(make):
    z = make().astype(np.float32)
    fast, exact = covariance_spectrum(z, compute="float32"), covariance_spectrum(z, compute="float64")
    lam = exact.eigenvalues
    # every eigenvalue within ~u₃₂ λ_1 of the float64 value; small ones recomputed to the rounding noise
    np.testing.assert_allclose(fast.eigenvalues, lam, rtol=0, atol=5e-8 * lam.sum())
    a, b = diagnose(z), diagnose(z.astype(np.float64))
    from sslscape.diagnostics.diagnosis import diagnosis_of

    f = diagnosis_of(fast)
    assert (f.rank, f.numerical_rank, f.verdict) == (a.rank, a.numerical_rank, a.verdict) == (b.rank,
                                                                                                b.numerical_rank,
                                                                                                b.verdict)
    assert f.rankme == pytest.approx(a.rankme, rel=1e-5)
    assert f.effective_rank == pytest.approx(a.effective_rank, rel=1e-5)


def test_memory_mapped_input_gives_the_same_answer(tmp_path):
    z = low_rank(3000, 40, 7, noise=1e-3).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    m = np.load(tmp_path / "z.npy", mmap_mode="r")
    assert diagnose(m).to_dict() == diagnose(z).to_dict()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(3, 300), d=st.integers(1, 40), r=st.integers(1, 40), scale=st.floats(1e-3, 1e3),
       dtype=st.sampled_from(["float16", "float32", "float64"]), seed=st.integers(0, 2**31 - 1))
def test_property_rank_is_exact_low_rank_whatever_dtype_scale_and_n_vs_d(n, d, r, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    r = min(r, d, n - 1)
    basis = np.linalg.qr(rng.standard_normal((d, r)))[0]
    z = (rng.standard_normal((n, r)) * np.linspace(1.0, 0.3, r)) @ basis.T * scale
    z = z.astype(STORAGE[dtype])
    res = diagnose(z)
    assert 0 < res.rank <= min(r, n - 1, d)
    # float16 rounding can push a weak direction under its noise floor, and with N ≈ d the last sample
    # eigenvalue is small by random-matrix theory (the hard edge): exact equality away from both
    if dtype != "float16" and n > max(2 * d + 2, 30):  # (7 samples of 2 directions can fall 1.6 decades)
        assert res.rank == r
    assert res.max_rank == min(n - 1, d)
