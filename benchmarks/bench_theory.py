"""Theory speed: closed-form `predict` per spec and a 64×64 phase diagram, each against a baseline measured in
the same run (the numerical referee for `predict`; a Python loop of closed-form predictions for the diagram).

    python benchmarks/bench_theory.py        # prints a table; numbers go to benchmarks/RESULTS.md
Expected on a 2-core CPU: predict ≈ 1 ms (target < 5 ms), phase diagram ≈ 5 ms (target < 1 s).
"""

from __future__ import annotations

import platform
import time

import numpy as np

from sslscape.moments import moments_of
from sslscape.spec import parse_spec
from sslscape.theory import landscape, predict
from sslscape.theory.phase import Axis, phase_diagram
from sslscape.theory.solve import numerical_minimum

SPECS = [
    {"objective": "infonce", "similarity": "dot", "temperature": 0.5, "weight_decay": 0.5},
    {"objective": "infonce", "similarity": "euclidean", "protocol": "clean_negatives", "weight_decay": 0.1},
    {"objective": "spectral", "weight_decay": 1.0},
    {"objective": "barlow", "barlow_lambda": 1.0, "weight_decay": 0.5},
    {"objective": "spectral", "weight_decay": 0.5, "depth": 2},
]
DATA = {"cov": [4, 3, 2, 1.5, 1, 0.5, 0.25, 0.1]}
NOISE = {"noise_cov": [0.5] * 8}


def timeit(fn, repeat: int) -> float:
    fn()  # warm-up
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"{'spec':<48} {'predict (ms)':>13} {'referee (ms)':>13} {'speed-up':>9}")
    for raw in SPECS:
        spec = parse_spec({**raw, "data": DATA, "augmentation": NOISE, "embed_dim": 6})
        t_pred = timeit(lambda s=spec: predict(s), 200)
        land = landscape(spec, moments_of(spec))
        t_ref = timeit(lambda la=land, s=spec: numerical_minimum(la, depth=s.depth, n_starts=1), 2)
        label = ", ".join(f"{k}={v}" for k, v in raw.items())[:48]
        print(f"{label:<48} {1e3 * t_pred:13.2f} {1e3 * t_ref:13.1f} {t_ref / t_pred:8.0f}×")
    spec = parse_spec({**SPECS[1], "data": DATA, "augmentation": NOISE})
    x, y = Axis.parse("weight_decay:0:1:64"), Axis.parse("noise_scale:0:4:64")
    for depth in (1, 2):
        sp = spec.with_updates(depth=depth)
        t_vec = timeit(lambda s=sp: phase_diagram(s, x, y), 20)
        xs, ys = x.values(), y.values()
        rows = ys[::8]  # loop baseline on 8 of the 64 rows, scaled up ×8

        def loop(s=sp, xs=xs, rows=rows) -> np.ndarray:
            return np.array([[predict(s.with_updates(weight_decay=float(g), **{"augmentation.noise_scale": float(n)})
                              ).rank for g in xs] for n in rows])

        t_loop = 8 * timeit(loop, 1)
        differ = int(np.sum(loop() != phase_diagram(sp, x, y).rank[::8]))  # only cells exactly on a threshold
        print(f"phase 64×64, depth {depth}: vectorised {1e3 * t_vec:.1f} ms, loop of predict {t_loop:.2f} s "
              f"({t_loop / t_vec:.0f}× faster; {differ} of {rows.size * xs.size} cells differ)")


if __name__ == "__main__":
    main()
