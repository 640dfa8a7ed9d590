"""Theory speed: `predict` per spec (each order), a 64×64 phase diagram, and the exact solver's cost per spec.

    python benchmarks/bench_theory.py                      # closed forms + phase diagram (a table on stdout)
    python benchmarks/bench_theory.py --exact              # the exact solver per spec, this version
    python benchmarks/bench_theory.py --exact --exact-module /tmp/exact_before.py --label before
                                                           # ... an earlier exact.py (`git show REV:src/sslscape/
                                                           # theory/exact.py > /tmp/exact_before.py`), same specs
    python benchmarks/bench_theory.py --exact --precision float64   # this version, float64 search (no mixing)

Every timing is one thread (OMP_NUM_THREADS=1, torch.set_num_threads(1)); the CPU time of the process
(`time.process_time`) is reported beside the wall time because the machine is shared. `--out FILE.jsonl` appends
one record per spec (benchmarks/results/exact_cost.md is written from those records by --report).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sslscape.moments import moments_of
from sslscape.spec import parse_spec
from sslscape.theory import landscape, predict
from sslscape.theory.phase import Axis, phase_diagram
from sslscape.theory.solve import numerical_minimum

DATA = {"cov": [4, 3, 2, 1.5, 1, 0.5, 0.25, 0.1]}
NOISE = {"noise_cov": [0.5] * 8}
SPECS = [  # closed forms: (label, spec fields); data DATA, noise NOISE, embed_dim 6 unless given
    ("quartic: infonce dot", {"objective": "infonce", "similarity": "dot", "temperature": 0.5, "weight_decay": 0.5}),
    ("quartic: infonce euclidean", {"objective": "infonce", "similarity": "euclidean",
                                    "protocol": "clean_negatives", "weight_decay": 0.1}),
    ("quartic: spectral", {"objective": "spectral", "weight_decay": 1.0}),
    ("quartic: spectral depth 2", {"objective": "spectral", "weight_decay": 0.5, "depth": 2}),
    ("learned point: infonce dot N=256", {"objective": "infonce", "temperature": 0.5, "weight_decay": 0.5,
                                          "batch_size": 256}),
    ("learned point: failing example (issue 11)", {"objective": "infonce", "data": {"cov": [4] * 11 + [0.12]},
                                                   "augmentation": {"noise_cov": [0.01] * 12}, "weight_decay": 0.1,
                                                   "embed_dim": 12, "batch_size": 512}),
    ("per direction: simsiam dot", {"objective": "simsiam", "weight_decay": 1.0}),
    ("per direction: byol dot d=4 (quadrature)", {"objective": "byol", "weight_decay": 1.0, "embed_dim": 4}),
    ("per direction: simsiam cosine", {"objective": "simsiam", "similarity": "cosine", "weight_decay": 0.01}),
]
C8 = [4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1]
EXACT_SPECS = [  # the exact solver's workload: one spec per kind of solve (name, full spec)
    ("infonce cosine τ0.5 (N=512 limit)", {"objective": "infonce", "similarity": "cosine", "temperature": 0.5,
                                            "weight_decay": 0.01, "data": {"cov": C8}, "augmentation": NOISE}),
    ("infonce cosine N=64", {"objective": "infonce", "similarity": "cosine", "temperature": 0.5,
                             "weight_decay": 0.05, "batch_size": 64, "data": {"cov": C8}, "augmentation": NOISE}),
    ("infonce euclidean N=256 noise 3", {"objective": "infonce", "similarity": "euclidean", "weight_decay": 0.09,
                                         "batch_size": 256, "data": {"cov": [4.0, 2.0, 1.0, 0.5, 0.25, 0.125,
                                                                             0.0625, 0.03125]},
                                         "augmentation": {"noise_cov": [3.0] * 8}}),
    ("infonce dot failing example (D=12, N=512)", {"objective": "infonce", "data": {"cov": [4] * 11 + [0.12]},
                                                   "augmentation": {"noise_cov": [0.01] * 12}, "weight_decay": 0.1,
                                                   "embed_dim": 12, "batch_size": 512}),
    ("vicreg γ0.05", {"objective": "vicreg", "weight_decay": 0.05, "data": {"cov": C8}, "augmentation": NOISE}),
    ("barlow batch-standardised γ0.3", {"objective": "barlow", "normalization": "batch", "weight_decay": 0.3,
                                        "data": {"cov": C8}, "augmentation": NOISE}),
    ("simsiam cosine γ0.01", {"objective": "simsiam", "similarity": "cosine", "weight_decay": 0.01,
                              "data": {"cov": C8}, "augmentation": NOISE}),
    ("byol dot γ2.4", {"objective": "byol", "weight_decay": 2.4, "data": {"cov": C8}, "augmentation": NOISE}),
]


def timeit(fn, repeat: int) -> tuple[float, float]:
    """(median wall, median CPU) seconds of `repeat` calls after one warm-up call."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return float(np.median(walls)), float(np.median(cpus))


def closed_forms() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'spec':<44} {'order':<14} {'first (ms)':>10} {'warm wall (ms)':>15} {'warm CPU (ms)':>14}")
    for label, raw in SPECS:
        spec = parse_spec({"data": DATA, "augmentation": NOISE, "embed_dim": 6, **raw})
        t = time.perf_counter()
        pred = predict(spec)
        first = time.perf_counter() - t
        wall, cpu = timeit(lambda s=spec: predict(s), 20)
        print(f"{label:<44} {pred.order:<14} {1e3 * first:10.1f} {1e3 * wall:15.2f} {1e3 * cpu:14.2f}")
    spec = parse_spec({**SPECS[0][1], "data": DATA, "augmentation": NOISE, "embed_dim": 6})
    land = landscape(spec, moments_of(spec))
    wall, _ = timeit(lambda: numerical_minimum(land, depth=1, n_starts=1), 2)
    print(f"(the numerical referee of the quartic closed form, one start: {1e3 * wall:.0f} ms)")
    spec = parse_spec({**SPECS[1][1], "data": DATA, "augmentation": NOISE})
    x, y = Axis("weight_decay", 0.0, 1.0, 64), Axis("noise_scale", 0.0, 4.0, 64)
    for depth in (1, 2):
        sp = spec.with_updates(depth=depth)
        wall, _ = timeit(lambda s=sp: phase_diagram(s, x, y), 10)
        print(f"phase 64×64, depth {depth}: vectorised {1e3 * wall:.1f} ms")


def _exact_module(path: str | None):
    """sslscape.theory.exact, or an earlier version of it loaded from `path` inside the same package."""
    if path is None:
        from sslscape.theory import exact

        return exact
    spec = importlib.util.spec_from_file_location("sslscape.theory._exact_alt", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def exact_costs(module_path: str | None, label: str, precision: str | None, only: str, out: Path | None) -> None:
    import torch

    torch.set_num_threads(1)
    exact = _exact_module(module_path)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"{label}: {module_path or 'this version'}; {load}", flush=True)
    for name, raw in EXACT_SPECS:
        if only not in name:
            continue
        spec = parse_spec(raw)
        moments = moments_of(spec)
        kwargs = {"precision": precision} if precision else {}
        t, c = time.perf_counter(), time.process_time()
        sol = exact.exact_solution(spec, moments, **kwargs)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        rec = {"label": label, "spec": name, "wall_s": wall, "cpu_s": cpu, "rank": int(sol.rank),
               "loss": float(sol.loss), "method": sol.method, "evaluations": getattr(sol, "evaluations", None),
               "top": [float(v) for v in np.asarray(sol.embedding_spectrum)[:10]],
               "load": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d %H:%M")}
        print(f"  {name:<44} rank {rec['rank']} loss {rec['loss']:.10g} evals {rec['evaluations']} "
              f"wall {wall:6.1f} s  CPU {cpu:6.1f} s", flush=True)
        if out is not None:
            with out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")


def report(path: Path) -> None:
    """A markdown table of CPU seconds per spec and label from the .jsonl records (medians over repeats)."""
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    labels = list(dict.fromkeys(r["label"] for r in recs))
    specs = list(dict.fromkeys(r["spec"] for r in recs))
    cell = {}
    for r in recs:
        cell.setdefault((r["spec"], r["label"]), []).append(r)
    head = "| spec | " + " | ".join(f"{lab}: CPU s (wall s), rank" for lab in labels) + " |"
    lines = [head, "|---" * (len(labels) + 1) + "|"]
    for s in specs:
        row = [s]
        for lab in labels:
            rs = cell.get((s, lab), [])
            if not rs:
                row.append("—")
                continue
            cpu = np.median([r["cpu_s"] for r in rs])
            wall = np.median([r["wall_s"] for r in rs])
            row.append(f"{cpu:.1f} ({wall:.0f}), {rs[0]['rank']}")
        lines.append("| " + " | ".join(row) + " |")
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exact", action="store_true", help="time the exact solver per spec")
    ap.add_argument("--exact-module", default=None, help="path of an earlier exact.py to time instead")
    ap.add_argument("--label", default="after")
    ap.add_argument("--precision", default=None, help="this version only: mixed (default) or float64")
    ap.add_argument("--only", default="", help="substring filter on the exact specs")
    ap.add_argument("--out", type=Path, default=None, help="append one JSON record per spec to this file")
    ap.add_argument("--report", type=Path, default=None, help="print the table from a .jsonl of records")
    args = ap.parse_args()
    if args.report:
        report(args.report)
    elif args.exact:
        exact_costs(args.exact_module, args.label, args.precision, args.only, args.out)
    else:
        closed_forms()


if __name__ == "__main__":
    main()
