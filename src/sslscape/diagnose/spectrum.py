"""Covariance spectrum of an (N, d) embedding matrix, without an N×d SVD.

The singular values of the centred embeddings X_c = X − 1μᵀ are σ_k = √(N λ_k), where λ_k are the eigenvalues
of the covariance Σ = X_cᵀ X_c / N. We never form X_c: the rows are streamed in chunks of `CHUNK_ROWS`, each
chunk is centred (a chunk-sized copy), its Gram matrix is taken with one float32 BLAS call (numpy turns
`c.T @ c` into SYRK, half the flops of a GEMM) and accumulated in float64; `eigvalsh` then runs on d×d.
Memory: the input + one chunk + three d×d float64 matrices. Centring the chunk before the product (rather than
XᵀX − NμμᵀN) avoids the cancellation that ruins small eigenvalues when ‖μ‖ ≫ spread.

Measured on a 2-core CPU container (benchmarks/bench_diagnose.py, benchmarks/results/diagnose.md):
100,000 × 2,048 float32 in ≈ 3.5 s, against ≈ 40 s for `numpy.linalg.svd`.

Precision: a float32 Gram resolves eigenvalues down to about λ_1 · d · ε_float32 (≈ 2.4e-4 λ_1 at d = 2,048),
i.e. singular values down to ≈ 1.6 % of σ_1. Below that the eigenvalues are rounding noise; `numerical_rank`
uses exactly this threshold (see `default_rtol`). float64 inputs are computed in float64.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from ..errors import UserError

CHUNK_ROWS = 8192  # 8,192 × 2,048 float32 = 64 MiB per chunk; larger chunks measured no faster


class EmbeddingError(UserError, ValueError):
    """Embeddings that cannot be diagnosed (wrong shape, NaN/Inf rows, ...); the message says how to fix it.

    `nonfinite_rows` is the number of rows holding NaN or Inf (0 for other problems).
    """

    def __init__(self, message: str, nonfinite_rows: int = 0) -> None:
        super().__init__(message)
        self.nonfinite_rows = nonfinite_rows


@dataclass(frozen=True, eq=False)
class Moments:
    """First and second moments of the rows of an (N, d) matrix, accumulated in float64.

    `scatter` is X_cᵀ X_c = Σ_i (x_i − μ)(x_i − μ)ᵀ (unnormalised); `sq_norm_mean` is mean_i ‖x_i‖².
    `unit_sum` / `unit_sq_sum` are the per-dimension sums of u_i − r and (u_i − r)² with u_i = x_i / ‖x_i‖ and
    r = u of the first row (a shift that keeps the variance of u free of cancellation; for `normalized_std`).
    `compute_dtype` is the dtype the Gram products ran in.
    """

    n: int
    dim: int
    mean: np.ndarray = field(repr=False)
    scatter: np.ndarray = field(repr=False)
    sq_norm_mean: float
    unit_sum: np.ndarray = field(repr=False)
    unit_sq_sum: np.ndarray = field(repr=False)
    compute_dtype: str


@dataclass(frozen=True, eq=False)
class Spectrum:
    """Eigenvalues λ_1 ≥ … ≥ λ_d ≥ 0 of the embedding covariance Σ = X_cᵀ X_c / N (or XᵀX / N if not centred).

    Singular values of X_c are `singular_values` = √(N λ). Tiny negative eigenvalues from rounding are clipped
    to 0. `compute_dtype` tells the precision of the Gram matrix (it sets the numerical-rank threshold).
    """

    eigenvalues: np.ndarray = field(repr=False)
    n: int
    dim: int
    centered: bool
    compute_dtype: str

    @property
    def singular_values(self) -> np.ndarray:
        return np.sqrt(self.n * self.eigenvalues)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "dim": self.dim,
            "centered": self.centered,
            "compute_dtype": self.compute_dtype,
            "eigenvalues": [float(v) for v in self.eigenvalues],
        }


def _is_torch(z: object) -> bool:
    return type(z).__module__.startswith("torch") and hasattr(z, "detach")


def _row_chunks(n: int, rows: int = CHUNK_ROWS) -> Iterator[slice]:
    for start in range(0, n, rows):
        yield slice(start, min(start + rows, n))


def check_shape(z: Any, what: str = "embeddings") -> tuple[int, int]:
    """(N, d) of a 2-D numpy array or torch tensor, or EmbeddingError saying what is wrong."""
    shape = tuple(getattr(z, "shape", ()))
    if len(shape) != 2:
        hint = (
            " (reshape a single vector with x.reshape(1, -1), or stack samples as rows)"
            if len(shape) == 1
            else ""
        )
        raise EmbeddingError(f"{what} must be a 2-D (N, d) array, got shape {shape}{hint}")
    n, d = int(shape[0]), int(shape[1])
    if n == 0 or d == 0:
        raise EmbeddingError(f"{what} are empty (shape {shape}); give at least 2 rows and 1 column")
    if n < 2:
        raise EmbeddingError(f"{what} have a single row; a spectrum needs N ≥ 2 samples")
    return n, d


def _chunk_fn(z: Any) -> tuple[Any, str, bool]:
    """A function slice -> float32/float64 numpy-or-torch chunk, the compute dtype name, and "is torch".

    numpy inputs and CPU torch tensors go through numpy (zero-copy view; SYRK); other torch tensors (GPU,
    bfloat16) stay in torch on their device so only d×d matrices cross to the host.
    """
    if _is_torch(z):
        import torch

        t = z.detach()
        if t.device.type == "cpu" and t.dtype in (torch.float16, torch.float32, torch.float64):
            return _chunk_fn(t.numpy())
        if not (t.is_floating_point()):
            t = t.to(torch.float32)
        cdt = torch.float64 if t.dtype == torch.float64 else torch.float32
        return (lambda s: t[s].to(cdt)), str(cdt).removeprefix("torch."), True
    arr = np.asarray(z)
    if not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_
    ):
        raise EmbeddingError(f"embeddings have dtype {arr.dtype}; give a float array (float16/32/64)")
    cdt = np.float64 if arr.dtype == np.float64 else np.float32
    return (lambda s: np.asarray(arr[s], dtype=cdt)), np.dtype(cdt).name, False


def _to_numpy64(x: Any) -> np.ndarray:
    if _is_torch(x):
        return x.detach().to("cpu").double().numpy()
    return np.asarray(x, dtype=np.float64)


def moments(
    z: Any, *, chunk_rows: int = CHUNK_ROWS, what: str = "embeddings", scatter: bool = True
) -> Moments:
    """Stream the rows of `z` twice: (1) finiteness, mean, ‖x‖² and unit-vector sums; (2) centred scatter
    (skipped, leaving zeros, when `scatter` is False).

    Raises EmbeddingError (with `nonfinite_rows`) if any row holds NaN/Inf: such rows are neither dropped
    nor used, because a diverged sample usually means a diverged run.
    """
    n, d = check_shape(z, what)
    get, cdt, torch_mode = _chunk_fn(z)
    xp: Any = np
    if torch_mode:
        import torch as xp

    bad = 0
    col_sum = np.zeros(d)
    sq_norm_sum = 0.0
    sq_norm_max = 0.0
    unit_sum = np.zeros(d)
    unit_sq_sum = np.zeros(d)
    unit_ref = None
    for s in _row_chunks(n, chunk_rows):
        c = get(s)
        sq = xp.einsum("ij,ij->i", c, c)  # ‖x_i‖²; NaN/Inf propagate, so this doubles as the finiteness check
        if not bool(xp.isfinite(sq).all()):
            n_bad = int((~xp.isfinite(c).all(1)).sum())
            if n_bad:
                bad += n_bad
                continue
            c64 = c.double() if torch_mode else c.astype(np.float64)  # finite but ‖x‖² overflowed float32
            sq = xp.einsum("ij,ij->i", c64, c64)
        # Sums across rows in float64: N·d float32 terms would lose digits.
        col_sum += _to_numpy64(c.sum(0, dtype=xp.float64))
        sq_norm_sum += float(sq.sum(dtype=xp.float64))
        sq_norm_max = max(sq_norm_max, float(sq.max()))
        # u_i = x_i/‖x_i‖ (zero rows give u_i = 0, as torch.nn.functional.normalize does). Sums of u − r and
        # (u − r)² with r = u of the first row: without the shift, E[u²] − E[u]² cancels catastrophically in
        # float32 when the embeddings have (nearly) collapsed onto one direction.
        w = 1.0 / xp.sqrt(xp.clip(sq, 1e-24, None))
        u = c * (w.to(c.dtype) if torch_mode else w.astype(c.dtype))[:, None]
        if unit_ref is None:
            unit_ref = u[0].clone() if torch_mode else u[0].copy()
        u -= unit_ref
        unit_sum += _to_numpy64(u.sum(0, dtype=xp.float64))
        unit_sq_sum += _to_numpy64(xp.einsum("ij,ij->j", u, u))
    if bad:
        raise EmbeddingError(
            f"{what} have {bad} of {n} rows with NaN/Inf; the run likely diverged — "
            "drop or fix those rows (e.g. x[np.isfinite(x).all(1)]) before diagnosing",
            nonfinite_rows=bad,
        )

    mean = col_sum / n
    scat = np.zeros((d, d))
    result = partial(Moments, n=n, dim=d, mean=mean, sq_norm_mean=sq_norm_sum / n, unit_sum=unit_sum,
                     unit_sq_sum=unit_sq_sum, compute_dtype=cdt)
    if not scatter:
        return result(scatter=scat)
    first = get(slice(0, 1))
    mu_c = xp.as_tensor(mean, dtype=first.dtype, device=first.device) if torch_mode else mean.astype(cdt)
    # Products of float32 entries beyond ~1e19 overflow (below ~1e-19 they underflow): rescale such inputs.
    ok = cdt == "float64" or sq_norm_max == 0.0 or 1e-30 < sq_norm_max < 1e30
    scale = 1.0 if ok else 1.0 / np.sqrt(sq_norm_max)
    for s in _row_chunks(n, chunk_rows):
        c = get(s) - mu_c  # chunk-sized copy: exact centring without an N×d copy
        if scale != 1.0:
            c *= scale
        scat += _to_numpy64(c.T @ c)
    scat /= scale**2
    # Σ(x−m)(x−m)ᵀ = Σ(x−μ)(x−μ)ᵀ + N(μ−m)(μ−m)ᵀ exactly, with m = μ rounded to the compute dtype.
    offset = mean - _to_numpy64(mu_c)
    scat -= n * np.outer(offset, offset)
    return result(scatter=scat)


def _eigvalsh_desc(sym: np.ndarray) -> np.ndarray:
    w = np.linalg.eigvalsh((sym + sym.T) / 2)[::-1]
    w = np.clip(w, 0.0, None)  # rounding can leave tiny negative eigenvalues of a PSD matrix
    w.setflags(write=False)
    return w


def eigvalsh_many(matrices: list[np.ndarray]) -> list[np.ndarray]:
    """Descending eigenvalues of several symmetric matrices, one single-threaded LAPACK call per thread.

    Why: OpenBLAS's multi-threaded tridiagonal reduction collapses when the cores are shared — a 2,048²
    eigvalsh took 0.44 s alone but 8–15 s beside one other busy process on our 2-core container, and 0.72 s
    with one thread either way. Two single-threaded calls in parallel (LAPACK releases the GIL) cost ≈ one.
    """
    try:
        from threadpoolctl import threadpool_limits  # a scikit-learn dependency
    except ImportError:  # pragma: no cover
        return [_eigvalsh_desc(a) for a in matrices]
    from concurrent.futures import ThreadPoolExecutor

    with threadpool_limits(limits=1, user_api="blas"):
        if len(matrices) == 1 or matrices[0].shape[0] < 256:
            return [_eigvalsh_desc(a) for a in matrices]
        with ThreadPoolExecutor(max_workers=len(matrices)) as pool:
            return list(pool.map(_eigvalsh_desc, matrices))


def spectra_from_moments(m: Moments, centers: tuple[bool, ...] = (True,)) -> list[Spectrum]:
    """Eigenvalues of Σ = scatter / N (centred) and/or of XᵀX / N = Σ + μμᵀ (uncentred, as RankMe uses)."""
    cov = m.scatter / m.n
    mats = [cov if c else cov + np.outer(m.mean, m.mean) for c in centers]
    return [
        Spectrum(eigenvalues=w, n=m.n, dim=m.dim, centered=c, compute_dtype=m.compute_dtype)
        for w, c in zip(eigvalsh_many(mats), centers, strict=True)
    ]


def spectrum_from_moments(m: Moments, *, center: bool = True) -> Spectrum:
    """Eigenvalues of Σ = scatter / N (centred) or of XᵀX / N = Σ + μμᵀ (uncentred)."""
    return spectra_from_moments(m, (center,))[0]


def covariance_spectrum(z: Any, *, center: bool = True, chunk_rows: int = CHUNK_ROWS) -> Spectrum:
    """Spectrum of the (centred) embeddings `z` of shape (N, d): numpy or torch, any device, float16/32/64.

    λ = eig(X_cᵀ X_c / N) descending, σ = √(N λ) = singular values of X_c. Raises EmbeddingError on bad
    shape or NaN/Inf rows.

    >>> covariance_spectrum(np.eye(3)).eigenvalues.round(3).tolist()
    [0.333, 0.333, 0.0]
    """
    return spectrum_from_moments(moments(z, chunk_rows=chunk_rows), center=center)
