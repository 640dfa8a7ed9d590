"""Benchmark: `sslscape.diagnose.diagnose` vs a plain `numpy.linalg.svd` of the same embeddings.

    .venv/bin/python benchmarks/bench_diagnose.py                  # 100,000 × 2,048 float32 (≈ 1.5 min)
    .venv/bin/python benchmarks/bench_diagnose.py --n 20000 --d 512

Reports wall time (best and median of `--repeats`), peak extra memory of one `diagnose` call (tracemalloc:
numpy allocations; and the process high-water mark, which also sees BLAS buffers) as a multiple of the input
size, and the agreement of the singular values with the SVD's. The SVD baseline runs on the full matrix only
if a timed 10 % slice projects it under `--svd-budget` seconds (SVD cost grows ~linearly in N for N ≫ d);
otherwise it runs on a row subset, says so, and both methods are timed on that subset too.
The load average is printed because the CPU is shared: other processes slow BLAS down.
Results (2-core CPU container): benchmarks/results/diagnose.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from sslscape.diagnose import diagnose
from sslscape.diagnose.spectrum import covariance_spectrum, moments, spectra_from_moments


def _status_mib(key: str) -> float:
    with open("/proc/self/status") as fh:
        line = next(row for row in fh if row.startswith(key + ":"))
    return int(line.split()[1]) / 1024  # kB


def _rss_mib() -> float:
    # VmHWM, not getrusage's ru_maxrss: Linux keeps ru_maxrss across fork + exec, so a child would inherit the
    # parent's high-water mark (the parent holds the whole matrix).
    return _status_mib("VmHWM")


def _current_rss_mib() -> float:
    return _status_mib("VmRSS")


def _time(fn: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _svd(x: np.ndarray) -> np.ndarray:
    return np.linalg.svd(x - x.mean(axis=0), compute_uv=False)  # the textbook way: centre (a copy), then SVD


def child(path: str, repeats: int, mmap: bool) -> None:
    """Runs in a fresh process so the high-water mark of its RSS belongs to `diagnose` alone."""
    # Warm-up on a tiny matrix (imports, thread pools) so the high-water mark starts near the baseline.
    diagnose(np.random.default_rng(0).standard_normal((512, 300), dtype=np.float32))
    before_load = max(_rss_mib(), _current_rss_mib())
    x = np.load(path, mmap_mode="r" if mmap else None)
    loaded = _current_rss_mib()
    times = _time(lambda: diagnose(x), repeats)
    peak = _rss_mib()
    t = time.perf_counter()
    m = moments(x)
    t_moments = time.perf_counter() - t
    spectra_from_moments(m, (True, False))
    t_eig = time.perf_counter() - t - t_moments
    tracemalloc.start()
    result = diagnose(x)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({"times": times, "before_load": before_load, "loaded": loaded, "peak": peak,
                      "traced": traced, "verdict": result.verdict, "rank": result.rank,
                      "rtol": result.rank_rtol,
                      "t_moments": t_moments, "t_eig": t_eig}))


def run_child(path: str, repeats: int, mmap: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", path, "--repeats", str(repeats)]
    cmd += ["--mmap"] if mmap else []
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--svd-budget", type=float, default=60.0, help="max seconds for the full-size SVD")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--mmap", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.repeats, args.mmap)
        return

    rng = np.random.default_rng(args.seed)
    # A realistic SSL-like spectrum: power-law decay with α ≈ 1, half of the directions collapsed, and a mean.
    d = args.d
    scales = np.r_[np.arange(1, d // 2 + 1) ** -0.5, np.zeros(d - d // 2)].astype(np.float32)
    x = rng.standard_normal((args.n, d), dtype=np.float32)
    x *= scales
    x += np.float32(0.3)
    input_mib = x.nbytes / 2**20
    print(f"input {args.n:,} × {d:,} float32 = {input_mib:,.0f} MiB; load average {os.getloadavg()}")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "z.npy")
        np.save(path, x)
        for mmap in (False, True):
            r = run_child(path, args.repeats, mmap)
            times = r["times"]
            label = "memory-mapped .npy (as the CLI reads it)" if mmap else "array in RAM"
            print(f"diagnose, {label}: best {min(times):.2f} s, median {statistics.median(times):.2f} s "
                  f"({', '.join(f'{t:.2f}' for t in times)}); verdict {r['verdict']!r}")
            print(f"  of which: two streaming passes (moments + Gram) {r['t_moments']:.2f} s, "
                  f"two d×d eigvalsh {r['t_eig']:.2f} s")
            print(f"  process RSS high-water mark: {r['peak'] - r['before_load']:,.0f} MiB above the "
                  f"pre-load baseline = {(r['peak'] - r['before_load']) / input_mib:.2f}× input "
                  f"(input itself {r['loaded'] - r['before_load']:,.0f} MiB resident after load); "
                  f"tracemalloc peak {r['traced'] / 2**20:,.0f} MiB = {r['traced'] / x.nbytes:.2f}× input")
            if not mmap:
                best = min(times)
                rtol = r["rtol"]
        print(f"load average after diagnose runs {os.getloadavg()}")

    probe_rows = max(args.n // 10, 2 * d)
    t_probe = _time(lambda: _svd(x[:probe_rows]), 1)[0]
    projected = t_probe * args.n / probe_rows
    rows = args.n if projected <= args.svd_budget else int(args.n * args.svd_budget / projected / 2)
    rows = max(rows, 2 * d)
    sub = x[:rows]
    note = "full matrix" if rows == args.n else (
        f"SUBSET of {rows:,} rows: the full SVD was projected at {projected:.0f} s > {args.svd_budget:.0f} s")
    print(f"SVD baseline on {note}; load average {os.getloadavg()}")
    tracemalloc.start()
    t = time.perf_counter()
    sv_ref = _svd(sub)
    t_svd = time.perf_counter() - t
    _, svd_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t_ours_sub = min(_time(lambda: diagnose(sub), args.repeats)) if rows != args.n else best
    sv = covariance_spectrum(sub).singular_values
    rank = int(np.count_nonzero(sv_ref > sv_ref[0] * np.sqrt(rtol)))
    top = slice(0, rank)
    rel = float(np.max(np.abs(sv[top] - sv_ref[top]) / sv_ref[top]))
    print(f"numpy.linalg.svd: {t_svd:.2f} s, tracemalloc peak {svd_peak / 2**20:,.0f} MiB "
          f"({svd_peak / sub.nbytes:.2f}× its input)")
    if rows != args.n:
        print(f"  projected full-size SVD: {projected:.0f} s → speed-up ≈ {projected / best:.0f}× "
              f"(projection from {probe_rows:,} rows, linear in N)")
    print(f"speed-up on the same {rows:,} rows: {t_svd / t_ours_sub:.1f}× (ours {t_ours_sub:.2f} s)")
    print(f"max relative error of our σ_k vs SVD over the {rank} resolvable directions: {rel:.1e}")
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
