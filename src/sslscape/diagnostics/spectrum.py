"""Covariance spectrum of an (N, d) embedding matrix, accurate to float64 whatever the stored dtype, streamed.

The singular values of the centred embeddings X_c = X − 1μᵀ are σ_k = √(N λ_k), λ_k the eigenvalues of the
covariance Σ = X_cᵀ X_c / N. We never form X_c nor an N × d copy (docs/metrics.md#spectrum):

1. **One streamed pass** over row chunks (`CHUNK_ROWS`): finiteness, column sums, row norms, sums of unit vectors
   (normalised std, mean pairwise cosine), the coarsest precision that holds every value exactly, and the Gram
   Σ(x − s)(x − s)ᵀ about a shift s = the first chunk's mean. Centring is exact afterwards:
   Σ(x − μ)(x − μ)ᵀ = Σ(x − s)(x − s)ᵀ − N (μ − s)(μ − s)ᵀ, and s ≈ μ, so nothing cancels.
2. The Gram is accumulated in float64: each chunk is centred straight from its stored values into one reused
   float64 buffer (numpy inputs: no converted copy), then one DSYRK-shaped product. A float32 path exists
   (`compute='float32'`): each chunk one float32 product accumulated in float64, accurate only to ≲ u₃₂·λ_1,
   so eigenvalues below `TRUST_FLOAT32` × the total variance are **recomputed in a second pass** (the centred
   rows projected in float32 onto those eigenvectors, or onto the residual after removing the large ones, their
   Gram accumulated in float64). It is not the default: measured 2026-11-30 on our 2-core CPU the second pass
   and the eigenvectors it needs cost more than float64 saves (50,000 × 2,048 float32: 6.7 s float64, 11.0 s
   float32 + refinement; benchmarks/RESULTS.md). A float32 Gram alone would put exactly-low-rank embeddings'
   zero eigenvalues at ~1e-8 λ_1 and inflate RankMe and the effective rank by several percent (measured: 8.22
   instead of 7.99 for rank 8), which is why it is never used unrefined.
3. N ≤ d: the N × N kernel X_c X_cᵀ in float64 (exact; memory N d ≤ d²).
4. Repeated rows (a distributed evaluation with a padded sampler gathers some samples twice or more; a dataset
   with duplicates) add no direction: N' distinct rows show at most min(N' − 1, d). The pass hashes each row's
   bytes exactly (a 64-bit multiply-add hash of its words, vectorised: ~2 % of the Gram's time) and counts the
   distinct hashes; `measurable` is taken from them and `Spectrum.duplicate_rows` says how many repeats it found.

torch tensors on an accelerator stay there (float64 Gram on the device); CPU tensors go through numpy without a
copy. Memory: the input, one chunk, a few d × d float64 matrices. Tests: tests/diagnostics/test_spectrum.py and
tests/diagnostics/test_precision.py (against a float64 SVD for float16 / bfloat16 / float32 / float64 inputs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import UserError
from .rank import NOISE_SAFETY, UNIT_ROUNDOFF, rounding_noise

CHUNK_ROWS = 8192  # 8,192 × 2,048 float32 = 64 MiB per chunk; larger chunks measured no faster
TRUST_FLOAT32 = 1e-4  # float32-Gram eigenvalues below this × total variance are recomputed (error ≲ 1e-8 × total)
COMPUTE_NOISE = {"float64": 64 * 2.0**-53, "float32": 16 * 2.0**-48}  # × mean ‖x − s‖²: our own rounding floor
COARSE_FIRST = ("bfloat16", "float16", "float32", "float64")  # candidate storage precisions, coarsest first


class EmbeddingError(UserError, ValueError):
    """Embeddings that cannot be diagnosed (wrong shape, NaN/Inf rows, ...); the message says how to fix it.

    `nonfinite_rows` is the number of rows holding NaN or Inf (0 for other problems).
    """

    def __init__(self, message: str, nonfinite_rows: int = 0) -> None:
        super().__init__(message)
        self.nonfinite_rows = nonfinite_rows


@dataclass(frozen=True, eq=False)
class Spectrum:
    """The measured spectrum of an (N, d) embedding matrix and the streamed statistics behind the metrics.

    eigenvalues      λ_1 ≥ … ≥ λ_d ≥ 0 of the centred covariance X_cᵀX_c / N (float64)
    raw_eigenvalues  eigenvalues of XᵀX / N (uncentred; RankMe uses them), descending, length d
    storage          coarsest precision holding every value exactly ('bfloat16' | 'float16' | 'float32' | 'float64')
    compute          how the Gram was formed: 'float64', 'float32+refined', 'float32', 'kernel-float64'
    noise_floor      absolute λ level of rounding noise (stored values and our own Gram) × NOISE_SAFETY
    measurable       min(N' − 1, d), N' the distinct rows: how many centred directions can carry variance
    duplicate_rows   N − N': rows that repeat an earlier row byte for byte (item 4 of the module docstring)
    mean_sq_norm     mean_i ‖x_i‖²;  unit_variances: Var_i(u_ik) per dimension k of u_i = x_i / ‖x_i‖ (u = 0 for a
                     zero row), for the normalised std and the mean pairwise cosine
    """

    eigenvalues: np.ndarray = field(repr=False)
    raw_eigenvalues: np.ndarray = field(repr=False)
    n: int
    dim: int
    storage: str
    compute: str
    noise_floor: float
    measurable: int
    mean_sq_norm: float
    unit_variances: np.ndarray = field(repr=False)
    zero_rows: int
    duplicate_rows: int = 0

    @property
    def distinct_rows(self) -> int:
        return self.n - self.duplicate_rows

    @property
    def singular_values(self) -> np.ndarray:
        """Singular values of the centred embeddings, σ_k = √(N λ_k)."""
        return np.sqrt(self.n * self.eigenvalues)

    @property
    def raw_singular_values(self) -> np.ndarray:
        """The min(N, d) singular values of the raw (uncentred) embedding matrix."""
        return np.sqrt(self.n * self.raw_eigenvalues[: min(self.n, self.dim)])

    @property
    def total_variance(self) -> float:
        return float(self.eigenvalues.sum())

    @property
    def compute_dtype(self) -> str:
        """float64 or float32: the precision the Gram products ran in."""
        return "float32" if self.compute.startswith("float32") else "float64"

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "dim": self.dim, "storage": self.storage, "compute": self.compute,
                "noise_floor": self.noise_floor, "measurable": self.measurable, "duplicate_rows": self.duplicate_rows,
                "eigenvalues": [float(v) for v in self.eigenvalues]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def _is_torch(z: object) -> bool:
    return type(z).__module__.startswith("torch") and hasattr(z, "detach")


def _row_chunks(n: int, rows: int = CHUNK_ROWS) -> Iterator[slice]:
    for start in range(0, n, rows):
        yield slice(start, min(start + rows, n))


def check_shape(z: Any, what: str = "embeddings") -> tuple[int, int]:
    """(N, d) of a 2-D numpy array or torch tensor, or EmbeddingError saying what is wrong."""
    shape = tuple(getattr(z, "shape", ()))
    if len(shape) != 2:
        hint = (" (reshape a single vector with x.reshape(1, -1), or stack samples as rows)" if len(shape) == 1
                else "")
        raise EmbeddingError(f"{what} must be a 2-D (N, d) array, got shape {shape}{hint}")
    n, d = int(shape[0]), int(shape[1])
    if n == 0 or d == 0:
        raise EmbeddingError(f"{what} are empty (shape {shape}); give at least 2 rows and 1 column")
    if n < 2:
        raise EmbeddingError(f"{what} have a single row; a spectrum needs N ≥ 2 samples")
    return n, d


# ---- the array backend: numpy (CPU arrays, CPU tensors via a zero-copy view) or torch (accelerators) ----------

class _Backend:
    """The few array operations the stream needs, for numpy or for torch on its device."""

    def __init__(self, z: Any) -> None:
        self.torch = None
        if _is_torch(z):
            import torch

            t = z.detach()
            if t.device.type == "cpu" and t.dtype in (torch.float16, torch.float32, torch.float64):
                z = t.numpy()
            else:
                self.torch = torch
                self.native = str(t.dtype).removeprefix("torch.")
                if not t.is_floating_point():
                    t = t.to(torch.float64)
                self.data = t
                return
        arr = z if isinstance(z, np.ndarray) else np.asarray(z)
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
                or arr.dtype == np.bool_):
            raise EmbeddingError(f"embeddings have dtype {arr.dtype}; give a float array (float16/32/64)")
        self.data = arr
        self.native = arr.dtype.name if np.issubdtype(arr.dtype, np.floating) else "integer"

    @property
    def on_device(self) -> bool:
        return self.torch is not None

    def chunk(self, s: slice, dtype: str) -> Any:
        """Rows s as float32/float64 (a view when possible)."""
        if self.torch is not None:
            return self.data[s].to(getattr(self.torch, dtype))
        return np.asarray(self.data[s], dtype=np.dtype(dtype))

    def raw(self, s: slice) -> Any:
        return self.data[s]

    def to64(self, x: Any) -> np.ndarray:
        if self.torch is not None:
            return x.detach().to("cpu", self.torch.float64).numpy()
        return np.asarray(x, dtype=np.float64)

    def row_sq(self, c: Any) -> Any:
        """‖c_i‖² per row, without a chunk-sized temporary on the CPU."""
        if self.torch is not None:
            return (c * c).sum(1)
        return np.einsum("ij,ij->i", c, c)

    def colsum(self, c: Any) -> Any:
        """Column sums (BLAS GEMV on the CPU: far faster than a numpy reduction over rows)."""
        if self.torch is not None:
            return c.sum(0)
        return np.ones(c.shape[0], dtype=c.dtype) @ c

    def colsum_sq(self, c: Any) -> Any:
        if self.torch is not None:
            return (c * c).sum(0)
        return np.einsum("ij,ij->j", c, c)

    def inverse_norms(self, row_sq64: np.ndarray, like: Any) -> Any:
        """1/‖x_i‖ (0 for a zero row) in the chunk's dtype and place."""
        with np.errstate(divide="ignore"):
            w = np.where(row_sq64 > 0, 1.0 / np.sqrt(row_sq64), 0.0)
        return self.from64(w, like)

    def scale_rows(self, c: Any, w: Any, out: Any) -> Any:
        if self.torch is not None:
            return c * w[:, None]
        return np.multiply(c, w[:, None], out=out)

    def from64(self, v: np.ndarray, like: Any) -> Any:
        if self.torch is not None:
            return self.torch.as_tensor(v, dtype=like.dtype, device=like.device)
        return v.astype(like.dtype)

    def row_hashes(self, raw: Any) -> np.ndarray:
        """A 64-bit hash of each row's bytes: Σ_w word_w · M_w (mod 2⁶⁴) with fixed odd multipliers M (equal rows,
        equal hashes; distinct rows collide with probability ~2⁻⁶⁴)."""
        if self.torch is not None:
            t = self.torch
            r = raw.contiguous()
            words = r.view({1: t.uint8, 2: t.int16, 4: t.int32, 8: t.int64}[r.element_size()]).to(t.int64)
            mult = t.as_tensor(_multipliers(words.shape[1]).view(np.int64), device=r.device)
            return (words * mult).sum(1).cpu().numpy().view(np.uint64)
        r = np.ascontiguousarray(raw)
        words = r.view(np.dtype(f"u{r.dtype.itemsize}")).reshape(r.shape[0], -1)
        return np.einsum("ij,j->i", words, _multipliers(words.shape[1]), dtype=np.uint64)

    def all_finite(self, x: Any) -> bool:  # noqa: D102
        return bool((self.torch or np).isfinite(x).all())

    def bad_rows(self, x: Any) -> int:
        return int((~(self.torch or np).isfinite(x).all(1)).sum())

    def exact_in(self, x: Any, fmt: str) -> bool:
        """Every value of x (finite) is representable in `fmt` without rounding."""
        if self.torch is not None:
            t = self.torch
            y = x.to(getattr(t, fmt)).to(x.dtype)
            return bool(t.equal(y, x))
        if fmt == "bfloat16":
            x32 = x if x.dtype == np.float32 else x.astype(np.float32)
            if x.dtype != np.float32 and not np.array_equal(x32.astype(x.dtype), x):
                return False
            return not np.any(x32.view(np.uint32) & np.uint32(0xFFFF))
        with np.errstate(over="ignore", invalid="ignore"):
            return bool(np.array_equal(x.astype(np.dtype(fmt)).astype(x.dtype), x))


def _multipliers(width: int) -> np.ndarray:
    """Fixed odd 64-bit multipliers of the row hash (a seeded generator: the same hash in every run)."""
    return np.random.default_rng(0x5EED).integers(1, 2**63, width, dtype=np.uint64) | np.uint64(1)


def _candidates(native: str) -> list[str]:
    """Storage precisions to test, coarsest first, ending with the input's own."""
    if native in ("bfloat16",):
        return ["bfloat16"]
    if native == "float16":
        return ["bfloat16", "float16"]
    if native == "float32":
        return ["bfloat16", "float16", "float32"]
    return list(COARSE_FIRST)  # float64 and integers


@dataclass
class _Stream:
    """Accumulators of the streamed pass (float64). Sums of x − s (s: the shift) rather than of x: small numbers,
    so float32 partial sums lose nothing that matters."""

    shifted_sum: np.ndarray
    col_sq_sum: np.ndarray | None  # only without a Gram (its diagonal gives the column sums of squares)
    gram: np.ndarray | None
    unit_sum: np.ndarray
    unit_sq_sum: np.ndarray
    sq_norm_sum: float = 0.0
    row_sq_max: float = 0.0
    zero_rows: int = 0
    bad: int = 0
    hashes: list[np.ndarray] = field(default_factory=list)


class _Overflow(Exception):
    """float32 products overflowed or underflowed: the stream is rerun in float64."""


def _stream(b: _Backend, n: int, d: int, compute: str, chunk_rows: int, what: str,
            gram: bool) -> tuple[_Stream, np.ndarray, list[str]]:
    """Pass 1 (module docstring): the accumulators, the shift s (float64) and the precisions still exact.

    Per chunk: ‖x_i‖² (einsum, no temporary), x − s (one copy, reused for the unit vectors), its SYRK, column
    sums by BLAS GEMV — about six passes over the chunk besides the Gram.
    """
    acc = _Stream(np.zeros(d), None if gram else np.zeros(d), np.zeros((d, d)) if gram else None, np.zeros(d),
                  np.zeros(d))
    exact = _candidates(b.native)
    shift = shift_c = unit_ref = None
    bufs: dict[str, np.ndarray] = {}  # reused chunk-sized work arrays of the fused numpy path
    for s in _row_chunks(n, chunk_rows):
        raw = b.raw(s)
        fused = shift is not None and acc.gram is not None and _fusable(b, raw, compute)
        if fused:  # x − s straight into a float64 buffer: no converted copy of the chunk, no second copy
            cs = np.subtract(raw, shift_c, out=_buffer(bufs, "cs", raw.shape, np.float64))
            row_sq = np.einsum("ij,ij->i", raw, raw, dtype=np.float64)  # ‖x_i‖² of the stored values
            c = raw
        else:
            c = b.chunk(s, compute)
            row_sq = b.row_sq(c)  # ‖x_i‖²; NaN/Inf propagate, so this doubles as the finiteness check
        if not b.all_finite(row_sq):
            n_bad = b.bad_rows(c)
            acc.bad += n_bad
            if n_bad:
                continue
            if compute == "float32":
                raise _Overflow  # finite values whose squares overflow float32
            raise EmbeddingError(f"{what} hold values so large (|x| > 1e154) that their squares overflow float64; "
                                 "divide them by a constant first (the spectrum's shape does not change)")
        if compute == "float32":
            top = float(row_sq.max())
            if (0 < top < 1e-30) or top > 1e30:
                raise _Overflow  # float32 squares overflow or lose digits to underflow
        if len(exact) > 1:  # drop candidates once one value needs more bits (usually after the first chunk)
            held = raw if b.native != "integer" else np.asarray(raw, dtype=np.float64)
            exact = [f for f in exact[:-1] if b.exact_in(held, f)] + exact[-1:]
        acc.hashes.append(b.row_hashes(raw))
        row64 = b.to64(row_sq)
        acc.sq_norm_sum += float(row64.sum())
        acc.row_sq_max = max(acc.row_sq_max, float(row64.max()))
        if shift is None:
            shift = b.to64(b.colsum(c)) / c.shape[0]
            shift_c = b.from64(shift, c)
            shift = b.to64(shift_c)  # the shift exactly as subtracted
        if not fused:
            cs = c - shift_c  # one chunk-sized copy
        acc.shifted_sum += b.to64(b.colsum(cs))
        if acc.gram is not None:
            acc.gram += b.to64(cs.T @ cs)
        else:
            acc.col_sq_sum += b.to64(b.colsum(c * c))
        # u_i = x_i/‖x_i‖ (0 for a zero row); sums of u − r and (u − r)² with r = u of the first row: no
        # cancellation when the embeddings have (nearly) collapsed onto one direction. Reuses the copy cs; the
        # fused path forms u from the stored float16/float32 values in float32 (half the memory traffic; the
        # unit-vector statistics need ~1e-6 relative accuracy, float32 gives 1e-7).
        if fused and raw.dtype != np.float64:
            c, cs = raw, _buffer(bufs, "u32", raw.shape, np.float32)
        w = b.inverse_norms(row64, c if c.dtype != np.float16 else cs)
        acc.zero_rows += int((row64 == 0).sum())
        u = b.scale_rows(c, w, out=cs)
        if unit_ref is None:
            unit_ref = u[0] * 1  # a copy
            if _fusable(b, raw, compute) and raw.dtype != np.float64:  # later chunks subtract it in float32
                unit_ref = unit_ref.astype(np.float32).astype(unit_ref.dtype)
        u -= unit_ref.astype(u.dtype) if b.torch is None else unit_ref
        acc.unit_sum += b.to64(b.colsum(u))
        acc.unit_sq_sum += b.to64(b.colsum_sq(u))
    if acc.bad:
        raise EmbeddingError(
            f"{what} have {acc.bad} of {n} rows with NaN/Inf; the run likely diverged — drop or fix those rows "
            "(e.g. x[np.isfinite(x).all(1)]) before diagnosing", nonfinite_rows=acc.bad)
    return acc, shift, exact


def _fusable(b: _Backend, raw: Any, compute: str) -> bool:
    """The fused float64 path applies: a numpy float16/32/64 chunk, float64 Gram."""
    return (b.torch is None and compute == "float64" and isinstance(raw, np.ndarray)
            and raw.dtype in (np.float16, np.float32, np.float64))


def _buffer(bufs: dict[str, np.ndarray], name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A reused work array of at least `shape` rows (the last chunk is shorter), as a view of that shape."""
    have = bufs.get(name)
    if have is None or have.shape[0] < shape[0] or have.shape[1:] != shape[1:] or have.dtype != dtype:
        have = bufs[name] = np.empty(shape, dtype=dtype)
    return have[: shape[0]]


def _eigh_desc(sym: np.ndarray, vectors: bool = False) -> Any:
    sym = (sym + sym.T) / 2
    if vectors:
        w, v = np.linalg.eigh(sym)
        return w[::-1], v[:, ::-1]
    return np.linalg.eigvalsh(sym)[::-1]


def _single_thread_blas() -> Any:
    """OpenBLAS's multi-threaded eigensolvers collapse when the cores are shared (a 2,048² eigvalsh took 0.44 s
    alone, 8–15 s beside one busy process, 0.72 s on one thread either way): run them on one thread."""
    try:
        from threadpoolctl import threadpool_limits  # a scikit-learn dependency
    except ImportError:  # pragma: no cover
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _refine_small(b: _Backend, n: int, mean: np.ndarray, vec: np.ndarray, small: np.ndarray,
                  chunk_rows: int) -> np.ndarray:
    """Recompute the eigenvalues of the directions `small` (bool mask) from float32 projections (pass 2).

    The rows are centred by μ rounded to float32, so the projections carry a constant offset (μ − μ₃₂)·V;
    their float64 sums remove it exactly (Σyyᵀ − N ȳȳᵀ, with ȳ tiny: no cancellation).
    """
    v_s = vec[:, small]
    k_s, d = int(small.sum()), vec.shape[0]
    mu32 = mean.astype(np.float32)
    use_residual = 2 * k_s > d  # cheaper: the residual after the few large directions, its Gram in d dims
    basis = vec[:, ~small].astype(np.float32) if use_residual else v_s.astype(np.float32)
    width = d if use_residual else k_s
    gram, total = np.zeros((width, width)), np.zeros(width)
    for s in _row_chunks(n, chunk_rows):
        c = b.chunk(s, "float32") - mu32
        y = c - (c @ basis) @ basis.T if use_residual else c @ basis
        gram += (y.T @ y).astype(np.float64)
        total += y.sum(0, dtype=np.float64)
    gram -= np.outer(total, total) / n
    block = v_s.T @ gram @ v_s if use_residual else gram
    return np.clip(_eigh_desc(block), 0.0, None) / n


def _kernel_spectrum(b: _Backend, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """N ≤ d: centred and raw eigenvalues (length d) from the N × N kernels in float64."""
    x = b.to64(b.chunk(slice(0, n), "float64"))
    xc = x - x.mean(0)
    with _single_thread_blas():
        lam = np.clip(_eigh_desc(xc @ xc.T), 0.0, None) / n
        raw = np.clip(_eigh_desc(x @ x.T), 0.0, None) / n
    pad = lambda v: np.r_[v, np.zeros(d - v.size)][:d]  # noqa: E731
    return pad(lam), pad(raw)


def covariance_spectrum(z: Any, *, chunk_rows: int = CHUNK_ROWS, what: str = "embeddings",
                        compute: str | None = None) -> Spectrum:
    """Spectrum of the embeddings `z` of shape (N, d): numpy or torch, any device, any float dtype, memory-mapped.

    λ = eig(X_cᵀX_c / N) descending, accurate to float64 (module docstring); σ = √(N λ). `compute`: 'float64'
    (default) or 'float32' (a float32 Gram with a refining second pass; module docstring, item 2).
    Raises EmbeddingError on a bad shape or NaN/Inf rows.

    >>> covariance_spectrum(np.eye(3)).eigenvalues.round(3).tolist()
    [0.333, 0.333, 0.0]
    """
    n, d = check_shape(z, what)
    b = _Backend(z)
    compute = compute or "float64"  # float32 + refinement: on request only (module docstring, item 2)
    if compute not in ("float32", "float64"):
        raise ValueError(f"compute must be 'float32' or 'float64', got {compute!r}")
    try:
        acc, shift, exact = _stream(b, n, d, compute, chunk_rows, what, gram=n > d)
    except _Overflow:
        compute = "float64"
        acc, shift, exact = _stream(b, n, d, compute, chunk_rows, what, gram=n > d)
    mean = shift + acc.shifted_sum / n
    storage = exact[0]
    label = compute
    if n <= d:
        lam, raw = _kernel_spectrum(b, n, d)
        label, centred_sq = "kernel-float64", float(lam.sum())
    else:
        offset = mean - shift
        cov = (acc.gram - n * np.outer(offset, offset)) / n  # exact re-centring about μ
        centred_sq = float(np.trace(acc.gram)) / n  # mean ‖x − s‖²: the scale of our own rounding
        small = None
        if compute == "float32":  # the eigenvectors are needed to refine the small directions (almost always)
            with _single_thread_blas():
                lam, vec = _eigh_desc(cov, vectors=True)
            small = lam < TRUST_FLOAT32 * max(float(np.clip(lam, 0, None).sum()), 1e-300)
        if small is None or not small.any():
            lam, raw = eigvalsh_many([cov, cov + np.outer(mean, mean)])
        else:
            lam = lam.copy()
            lam[small] = _refine_small(b, n, mean, vec, small, chunk_rows)
            lam = np.clip(lam, 0.0, None)
            (raw,) = eigvalsh_many([(vec * lam) @ vec.T + np.outer(mean, mean)])  # RankMe's, from the refined Σ
            lam = np.sort(lam)[::-1]
            label = "float32+refined"
    comp_noise = COMPUTE_NOISE["float32" if label == "float32+refined" else "float64"] * centred_sq
    if acc.gram is not None:  # Σ x² = Σ (x − s)² + 2 s Σ (x − s) + N s², per column
        col_sq = np.diag(acc.gram) + 2 * shift * acc.shifted_sum + n * shift**2
    else:
        col_sq = acc.col_sq_sum
    col_sq_max = float(np.max(col_sq / n))
    store_noise = rounding_noise(UNIT_ROUNDOFF[storage], col_sq_max, acc.row_sq_max, n)
    mu_u = acc.unit_sum / n
    unit_var = np.clip(acc.unit_sq_sum / n - mu_u**2, 0.0, None)
    for arr in (lam, raw, unit_var):
        arr.setflags(write=False)
    distinct = int(np.unique(np.concatenate(acc.hashes)).size)
    return Spectrum(eigenvalues=lam, raw_eigenvalues=raw, n=n, dim=d, storage=storage, compute=label,
                    noise_floor=NOISE_SAFETY * max(store_noise, comp_noise), measurable=max(min(distinct - 1, d), 0),
                    mean_sq_norm=acc.sq_norm_sum / n, unit_variances=unit_var, zero_rows=acc.zero_rows,
                    duplicate_rows=n - distinct)


def eigvalsh_many(matrices: list[np.ndarray]) -> list[np.ndarray]:
    """Descending, clipped eigenvalues of symmetric matrices: single-threaded LAPACK calls run side by side
    (LAPACK releases the GIL), which costs about one call on 2 cores and survives a busy machine."""
    from concurrent.futures import ThreadPoolExecutor

    def one(a: np.ndarray) -> np.ndarray:
        return np.clip(_eigh_desc(a), 0.0, None)

    with _single_thread_blas():
        if len(matrices) == 1 or matrices[0].shape[0] < 256:
            return [one(a) for a in matrices]
        with ThreadPoolExecutor(max_workers=len(matrices)) as pool:
            return list(pool.map(one, matrices))


__all__ = ["CHUNK_ROWS", "EmbeddingError", "Spectrum", "check_shape", "covariance_spectrum", "eigvalsh_many"]
