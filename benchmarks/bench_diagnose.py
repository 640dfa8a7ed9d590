"""Benchmark: `sslscape.diagnostics` vs a float64 covariance + `eigvalsh` and vs `numpy.linalg.svd`, in one run.

    .venv/bin/python benchmarks/bench_diagnose.py                      # 100,000 × 2,048 float32, two spectra
    .venv/bin/python benchmarks/bench_diagnose.py --n 20000 --d 512 --svd-full

For each spectrum (an SSL-like one — power law α = 1 over half the directions, the other half collapsed, a
mean — and a healthy power law over all directions; both rotated by a random orthogonal matrix, so that no
direction is axis-aligned, as in a trained network's embeddings) it times, on the same float32 matrix
memory-mapped from a .npy file as the CLI reads it:
  ours        `diagnose(z)` (best and median of --repeats)
  reference   float64 centred covariance (chunked) + `eigvalsh`: the float64 answer
  SVD         on --svd-rows and half as many rows (ours timed on the same rows), projected to N linearly in the
              rows (an SVD of a tall matrix costs a + b·N), three calls: `numpy.linalg.svd(z − mean,
              compute_uv=False)` in float32 (singular values only: the fastest SVD route) and in float64 (the
              accurate one, whose ranks are compared with ours), and `numpy.linalg.svd(z − mean,
              full_matrices=False)` in float32 (U, S, Vᵀ: the call most RankMe code makes);
              `--svd-full` also times the float32 values-only SVD of the full matrix; `--svd-default` times the
              call as written, `numpy.linalg.svd(z − mean)` (default full_matrices=True: an N × N U), on a
              quarter and a half of --svd-rows, projected linearly — a lower bound, since forming U costs O(N²d),
              and at N = 100,000 that U alone (40 GB in float32) does not fit in this machine's memory
and checks that ours and the reference give identical ranks (collapse rank and numerical rank, the same rules
applied to both spectra) and how close the eigenvalues are. Ratios are printed against baselines measured in
the same run. The load average is printed: the CPU may be shared. Results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np

from sslscape.diagnostics import diagnose
from sslscape.diagnostics.rank import collapse_cut, is_near_square


def _time(fn: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def float64_reference(x: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Centred covariance accumulated in float64 over chunks, then `eigvalsh` (descending)."""
    n, d = x.shape
    mu = x.mean(axis=0, dtype=np.float64)
    cov = np.zeros((d, d))
    for s in range(0, n, chunk):
        c = x[s:s + chunk].astype(np.float64) - mu
        cov += c.T @ c
    return np.clip(np.linalg.eigvalsh(cov / n)[::-1], 0.0, None)


def svd_spectrum(x: np.ndarray, dtype: type = np.float32, vectors: bool = False) -> np.ndarray:
    x = x.astype(dtype, copy=False)
    xc = x - x.mean(axis=0)  # the textbook way: centre (a copy), then SVD
    sv = np.linalg.svd(xc, full_matrices=False)[1] if vectors else np.linalg.svd(xc, compute_uv=False)
    return sv.astype(np.float64) ** 2 / x.shape[0]


def make(kind: str, n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "ssl":
        scales = np.r_[np.arange(1, d // 2 + 1) ** -0.5, np.zeros(d - d // 2)]
    else:
        scales = np.arange(1, d + 1) ** -0.5
    q = np.linalg.qr(rng.standard_normal((d, d)))[0].astype(np.float32)  # a random rotation
    x = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, 8192):  # x = g diag(scales) Q + 0.3, chunk by chunk
        g = rng.standard_normal((min(8192, n - s), d), dtype=np.float32) * scales.astype(np.float32)
        np.matmul(g, q, out=x[s:s + g.shape[0]])
    x += np.float32(0.3)
    return x


def ranks(lam: np.ndarray, floor: float, n: int, d: int) -> tuple[int, int]:
    cut = collapse_cut(lam, noise_floor=floor, measurable=min(n - 1, d), near_square=is_near_square(n, d))
    return cut.rank, cut.numerical_rank


def bench(kind: str, args: argparse.Namespace, tmp: str) -> None:
    n, d = args.n, args.d
    x = make(kind, n, d, args.seed)
    path = os.path.join(tmp, f"{kind}.npy")
    np.save(path, x)
    del x
    z = np.load(path, mmap_mode="r")
    print(f"\n== {kind}: {n:,} × {d:,} float32 ({z.nbytes / 2**20:,.0f} MiB, memory-mapped); load {os.getloadavg()}")
    res = diagnose(z)  # warm-up (page cache, thread pools) and the answer
    times = _time(lambda: diagnose(z), args.repeats)
    best = min(times)
    print(f"ours: best {best:.2f} s, median {statistics.median(times):.2f} s  [{res.compute}]  → {res.verdict}")
    t = time.perf_counter()
    ref = float64_reference(z)
    t_ref = time.perf_counter() - t
    ours_r = (res.rank, res.numerical_rank)
    ref_r = ranks(ref, res.numerical_rank_floor, n, d)
    err = float(np.max(np.abs(np.asarray(res.eigenvalues) - ref)) / ref.sum())
    print(f"float64 covariance + eigvalsh: {t_ref:.2f} s  → ours is {t_ref / best:.1f}× faster")
    print(f"ranks (collapse, numerical): ours {ours_r}, float64 reference {ref_r} → "
          f"{'IDENTICAL' if ours_r == ref_r else 'DIFFERENT'}; max |λ − λ_ref| = {err:.1e} × total variance")
    rows = [max(args.svd_rows // 2, 2 * d), max(args.svd_rows, 4 * d)]
    t_svd: dict[str, list[float]] = {"float32": [], "float64": [], "float32 U,S,Vᵀ": []}
    for r in rows:
        sub = np.ascontiguousarray(z[:r])
        t_ours = min(_time(lambda sub=sub: diagnose(sub), args.repeats))
        sub_res = diagnose(sub)
        for name, dt, vec in (("float32 U,S,Vᵀ", np.float32, True), ("float32", np.float32, False),
                              ("float64", np.float64, False)):
            t = time.perf_counter()
            sv_lam = svd_spectrum(sub, dt, vec)
            t_svd[name].append(time.perf_counter() - t)
        same = ranks(sv_lam, sub_res.numerical_rank_floor, r, d) == (sub_res.rank, sub_res.numerical_rank)
        print(f"SVD on {r:,} rows: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in t_svd.items())
              + f"; ours on the same rows {t_ours:.2f} s → "
              + " / ".join(f"{v[-1] / t_ours:.1f}×" for v in t_svd.values())
              + f" faster; ranks {'identical' if same else 'DIFFERENT'} to the float64 SVD's")
    for name, ts in t_svd.items():
        projected = ts[1] + (ts[1] - ts[0]) / (rows[1] - rows[0]) * (n - rows[1])
        print(f"{name} SVD projected to {n:,} rows: {projected:.1f} s → ours is {projected / best:.1f}× faster")
    if args.svd_default:
        small = [max(args.svd_rows // 4, 2 * d), max(args.svd_rows // 2, 4 * d)]
        t_def = []
        for r in small:
            sub = np.ascontiguousarray(z[:r])
            t = time.perf_counter()
            np.linalg.svd(sub - sub.mean(axis=0))  # as written in most code: full_matrices=True, U is r × r
            t_def.append(time.perf_counter() - t)
            print(f"numpy.linalg.svd(z − mean) (defaults) on {r:,} rows: {t_def[-1]:.1f} s")
        projected = t_def[1] + (t_def[1] - t_def[0]) / (small[1] - small[0]) * (n - small[1])
        print(f"default-call SVD projected linearly to {n:,} rows: ≥ {projected:.0f} s (a lower bound; its U would "
              f"need {n * n * 4 / 1e9:.0f} GB) → ours is ≥ {projected / best:.1f}× faster")
    if args.svd_full:
        t_full = _time(lambda: svd_spectrum(np.asarray(z)), 1)[0]
        print(f"float32 values-only SVD of the full matrix, measured: {t_full:.1f} s → ours is "
              f"{t_full / best:.1f}× faster")
    print(f"load at the end {os.getloadavg()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--svd-rows", type=int, default=20_000)
    ap.add_argument("--svd-full", action="store_true", help="also time the SVD of the whole matrix")
    ap.add_argument("--svd-default", action="store_true",
                    help="also time numpy.linalg.svd with its default arguments on subsets (projected)")
    ap.add_argument("--spectra", default="ssl,powerlaw")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.spectra.split(","):
            bench(kind, args, tmp)


if __name__ == "__main__":
    main()
