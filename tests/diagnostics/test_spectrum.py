"""sslscape.diagnostics.spectrum: streaming covariance spectrum vs known spectra and numpy's SVD."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sslscape.diagnostics.metrics import normalized_std_of
from sslscape.diagnostics.spectrum import EmbeddingError, covariance_spectrum
from sslscape.errors import UserError


def test_singular_values_by_construction_float64(make_embeddings):
    s = np.array([10.0, 5.0, 2.0, 1.0, 0.5, 0.1, 0.0, 0.0])
    x = make_embeddings(s, n=500, shift=1e3)  # a large mean must not spoil the small singular values
    sv = covariance_spectrum(x).singular_values
    # A float64 Gram squares the condition number: zero σ come back at ≈ √ε · σ_1, not ε · σ_1.
    np.testing.assert_allclose(sv, s, rtol=1e-9, atol=3 * np.sqrt(np.finfo(float).eps) * s[0])


def test_float32_matches_float64_svd(make_embeddings):
    s = np.geomspace(10.0, 0.1, 16)
    x = make_embeddings(s, n=2000, seed=1, shift=50.0).astype(np.float32)
    ref = np.linalg.svd(x.astype(np.float64) - x.astype(np.float64).mean(0), compute_uv=False)
    got = covariance_spectrum(x, compute="float64")
    np.testing.assert_allclose(got.singular_values, ref, rtol=1e-10)
    # the float32 fast path: every eigenvalue within ~u₃₂ λ_1 (spectrum.py's claim)
    fast = covariance_spectrum(x, compute="float32")
    assert fast.compute_dtype == "float32"
    lam = ref**2 / len(x)
    np.testing.assert_allclose(fast.eigenvalues, lam, rtol=0, atol=5e-8 * lam.sum())


def test_uncentred_spectrum_is_svd_of_raw_matrix(make_embeddings):
    x = make_embeddings(np.array([3.0, 2.0, 1.0]), n=50, shift=4.0)
    np.testing.assert_allclose(
        covariance_spectrum(x).raw_singular_values, np.linalg.svd(x, compute_uv=False), rtol=1e-10
    )
    wide = np.random.default_rng(1).standard_normal((6, 10)) + 1.0  # N < d: min(N, d) raw singular values
    np.testing.assert_allclose(covariance_spectrum(wide).raw_singular_values, np.linalg.svd(wide, compute_uv=False),
                               rtol=1e-10)


def test_chunking_does_not_change_the_answer():
    x = np.random.default_rng(2).standard_normal((103, 5)) + 3.0
    a = covariance_spectrum(x).eigenvalues
    b = covariance_spectrum(x, chunk_rows=7).eigenvalues
    np.testing.assert_allclose(a, b, rtol=1e-12)
    c = covariance_spectrum(x.astype(np.float32), chunk_rows=7, compute="float32").eigenvalues
    np.testing.assert_allclose(c, a, rtol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_torch_inputs_of_every_float_dtype(dtype):
    x = torch.randn(400, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * torch.arange(
        1, 7
    )
    x = x.to(dtype)
    ref = np.linalg.eigvalsh(np.cov(x.double().numpy().T, bias=True))[::-1]
    ref = np.linalg.eigvalsh(np.cov(x.double().numpy().T, bias=True))[::-1]  # of the values as stored
    np.testing.assert_allclose(covariance_spectrum(x).eigenvalues, ref, rtol=1e-10)


@pytest.mark.parametrize("compute", ["float32", "float64"])
def test_exact_low_rank_float32_zeros_stay_below_the_noise_floor(make_embeddings, compute):
    # The claim of spectrum.py: zero eigenvalues come back below the noise floor, real ones far above it.
    d, r = 64, 12
    s = np.r_[np.geomspace(1.0, 0.03, r), np.zeros(d - r)]
    x = make_embeddings(s, n=1000, seed=3, shift=20.0).astype(np.float32)
    sp = covariance_spectrum(x, compute=compute)
    assert sp.eigenvalues[r] < 0.1 * sp.noise_floor
    assert sp.eigenvalues[r - 1] > 1e6 * sp.noise_floor


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_rows_are_counted_not_dropped(bad):
    x = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    x[[3, 7, 9], 1] = bad
    x[7, 2] = bad  # two bad entries in one row count once
    with pytest.raises(EmbeddingError, match="3 of 50 rows") as info:
        covariance_spectrum(x)
    assert info.value.nonfinite_rows == 3
    assert isinstance(info.value, UserError)


@pytest.mark.parametrize("as_torch", [False, True])
def test_huge_finite_values_are_not_mistaken_for_inf(as_torch):
    x = np.random.default_rng(0).standard_normal((20, 3)).astype(np.float32) * 1e30  # ‖x‖² overflows float32
    ref = np.linalg.eigvalsh(np.cov(x.astype(np.float64).T, bias=True))[::-1]
    got = covariance_spectrum(torch.from_numpy(x).bfloat16() if as_torch else x).eigenvalues
    np.testing.assert_allclose(got, ref, rtol=0.05 if as_torch else 1e-4)


@pytest.mark.parametrize(
    "shape, message", [((5,), "2-D"), ((0, 3), "empty"), ((1, 3), "single row"), ((2, 3, 4), "2-D")]
)
def test_bad_shapes(shape, message):
    with pytest.raises(EmbeddingError, match=message):
        covariance_spectrum(np.zeros(shape))


def test_streamed_norms_and_normalised_sums():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])
    sp = covariance_spectrum(x)
    u = np.array([[0.6, 0.8], [0.0, 0.0], [1.0, 0.0]])  # the zero row contributes u = 0, not NaN
    assert normalized_std_of(sp.unit_variances) == pytest.approx(u.std(axis=0).mean(), rel=1e-12)
    assert sp.mean_sq_norm == pytest.approx((25 + 0 + 1) / 3)
    assert sp.zero_rows == 1


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("spread", [1.0, 1e-4])  # healthy, and rows ≈ one vector (the unit-vector statistics)
def test_streamed_chunks_match_one_float64_pass_for_every_stored_dtype(dtype, spread):
    # Chunks after the first take the fused path (x − s formed in float64 straight from the stored values, the
    # unit vectors in float32 for float16/32): every statistic must equal the one-chunk answer.
    rng = np.random.default_rng(4)
    x = (spread * rng.standard_normal((230, 9)) * np.arange(1, 10) + 5.0).astype(dtype)
    x[17] = 0  # a zero row in a later chunk
    one, many = covariance_spectrum(x, chunk_rows=10_000), covariance_spectrum(x, chunk_rows=16)
    ref = np.linalg.eigvalsh(np.cov(x.astype(np.float64).T, bias=True))[::-1]
    for s in (one, many):
        np.testing.assert_allclose(s.eigenvalues, ref, rtol=1e-9, atol=1e-13 * ref.sum())
    raw = one.raw_eigenvalues
    np.testing.assert_allclose(many.raw_eigenvalues, raw, rtol=1e-9, atol=1e-13 * raw.sum())
    np.testing.assert_allclose(many.mean_sq_norm, one.mean_sq_norm, rtol=1e-12)
    assert many.zero_rows == one.zero_rows == 1 and many.storage == one.storage
    u = x.astype(np.float64) / np.maximum(np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True), 1e-300)
    np.testing.assert_allclose(many.unit_variances, u.var(0), rtol=1e-4, atol=1e-12)


def test_nan_rows_in_a_later_chunk_are_counted():
    x = np.random.default_rng(5).standard_normal((100, 4)).astype(np.float32)
    x[[40, 77]] = np.nan
    with pytest.raises(EmbeddingError, match="2 of 100 rows"):
        covariance_spectrum(x, chunk_rows=16)
