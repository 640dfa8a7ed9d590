"""The population closed forms of VICReg and standardised Barlow Twins (docs/theory.md §12) against the exact
solver and against training: one table.

    nice -n 19 .venv/bin/python benchmarks/check_population.py [--train 6] [--out out/check_population]

For each spec: the closed form's rank and time per `predict` (median of 5 warm calls), the exact order's rank and
time (`predict(spec, 'exact')`), and for the first --train specs the trained rank (`sslscape.compare.
compare_training`, one seed, compare's recipe: Adam, 3,000 steps, cosine to 0). Specs: D = 4–8, γ spanning the
directions' thresholds, several noise levels, d < D and d = D. Writes population.md and population.json to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

C8 = [4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1]
C5 = [3.0, 2.0, 1.0, 0.5, 0.2]


def specs() -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []

    def add(name: str, **raw: object) -> None:
        out.append((name, raw))

    # trained first (the --train budget takes them in order)
    add("vicreg C8 γ=0.05", objective="vicreg", data={"cov": C8}, augmentation={"noise_cov": [0.5] * 8},
        weight_decay=0.05)
    add("vicreg C8 γ=2 noise 0.1", objective="vicreg", data={"cov": C8}, augmentation={"noise_cov": [0.1] * 8},
        weight_decay=2.0)
    add("vicreg C5 d=3 γ=0.5", objective="vicreg", data={"cov": C5}, augmentation={"noise_cov": [0.5] * 5},
        weight_decay=0.5, embed_dim=3)
    add("barlow-bn C8 γ=0.3", objective="barlow", normalization="batch", data={"cov": C8},
        augmentation={"noise_cov": [0.5] * 8}, weight_decay=0.3)
    add("barlow-bn C5 λ=0.05 noise 0.2", objective="barlow", normalization="batch", data={"cov": C5},
        augmentation={"noise_cov": [0.2] * 5}, weight_decay=0.1, barlow_lambda=0.05)
    add("barlow-bn C5 d=3 λ=0.3", objective="barlow", normalization="batch", data={"cov": C5},
        augmentation={"noise_cov": [0.5] * 5}, weight_decay=0.1, barlow_lambda=0.3, embed_dim=3)
    # closed form vs exact only
    add("vicreg C8 γ=0.5", objective="vicreg", data={"cov": C8}, augmentation={"noise_cov": [0.5] * 8},
        weight_decay=0.5)
    for g in (0.01, 0.3, 1.0, 3.0):
        add(f"vicreg C5 γ={g} noise 1", objective="vicreg", data={"cov": C5}, augmentation={"noise_cov": [1.0] * 5},
            weight_decay=g)
    add("vicreg C5 γ=0.3 noise 0.05", objective="vicreg", data={"cov": C5}, augmentation={"noise_cov": [0.05] * 5},
        weight_decay=0.3)
    add("vicreg C4 d=2 γ=0.1 N=256", objective="vicreg", data={"cov": [2.0, 1.0, 0.5, 0.1]},
        augmentation={"noise_cov": [0.3] * 4}, weight_decay=0.1, embed_dim=2, batch_size=256)
    for lam in (0.005, 0.3, 1.0):
        add(f"barlow-bn C8 λ={lam} noise 1", objective="barlow", normalization="batch", data={"cov": C8},
            augmentation={"noise_cov": [1.0] * 8}, weight_decay=0.1, barlow_lambda=lam)
    add("barlow-bn C4 d=2 λ=0.1", objective="barlow", normalization="batch", data={"cov": [2.0, 1.5, 0.5, 0.1]},
        augmentation={"noise_cov": [0.5, 0.2, 0.5, 0.5]}, weight_decay=0.1, barlow_lambda=0.1, embed_dim=2)
    # γ ladders: one spec inside every constant-rank interval of the closed form's γ axis (each direction's
    # threshold crossed), and a noise ladder for standardised Barlow (weight decay never acts there)
    for name, base, knob, grid in (
            ("vicreg C5 noise 0.05", {"objective": "vicreg", "data": {"cov": C5},
                                      "augmentation": {"noise_cov": [0.05] * 5}}, "weight_decay",
             np.geomspace(0.01, 300.0, 80)),
            ("vicreg C8 noise 0.5", {"objective": "vicreg", "data": {"cov": C8},
                                     "augmentation": {"noise_cov": [0.5] * 8}}, "weight_decay",
             np.geomspace(0.01, 300.0, 80)),
            ("barlow-bn C8 λ=0.05", {"objective": "barlow", "normalization": "batch", "barlow_lambda": 0.05,
                                     "data": {"cov": C8}, "augmentation": {"noise_cov": [1.0] * 8},
                                     "weight_decay": 0.1}, "noise_scale", np.geomspace(0.01, 30.0, 60))):
        for value in _interval_midpoints(base, knob, grid):
            raw = json.loads(json.dumps(base))
            if knob == "noise_scale":
                raw["augmentation"]["noise_scale"] = value
            else:
                raw[knob] = value
            add(f"{name} {knob.replace('weight_decay', 'γ').replace('noise_scale', 'noise×')}={value:.3g}", **raw)
    return out


def _interval_midpoints(base: dict, knob: str, grid: np.ndarray) -> list[float]:
    """Geometric midpoints of the constant-rank runs of the closed form along `knob` (rank changes bisected on
    the grid): one spec per rank the knob reaches."""
    from sslscape.spec import parse_spec
    from sslscape.theory.predict import predict

    def at(v: float) -> int:
        raw = json.loads(json.dumps(base))
        if knob == "noise_scale":
            raw["augmentation"]["noise_scale"] = float(v)
        else:
            raw[knob] = float(v)
        return predict(parse_spec(raw)).rank

    ranks = [at(v) for v in grid]
    runs, start = [], 0
    for i in range(1, len(grid) + 1):
        if i == len(grid) or ranks[i] != ranks[start]:
            runs.append((grid[start], grid[i - 1]))
            start = i
    return [float(np.sqrt(lo * hi)) for lo, hi in runs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=6, help="how many specs (from the top) to train, 1 seed each")
    ap.add_argument("--out", type=Path, default=Path("out/check_population"))
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from sslscape.compare import compare_training
    from sslscape.spec import parse_spec
    from sslscape.theory.predict import predict

    rows = []
    for i, (name, raw) in enumerate(specs()):
        spec = parse_spec(raw)
        pred = predict(spec)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            predict(spec)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        exact = predict(spec, "exact")
        exact_s = time.perf_counter() - t
        trained = None
        if i < args.train:
            res = compare_training(spec, seeds=1)
            trained = res.trained_ranks[0]
        from sslscape.diagnostics.rank import agreement

        cut = agreement(pred.spectrum, exact.rank).predicted_rank  # the closed form's spectrum, cut by the rule
        row = {"spec": name, "order": pred.order, "closed_rank": pred.rank, "closed_rank_rule": cut,
               "closed_ms": 1e3 * statistics.median(times), "exact_rank": exact.rank, "exact_s": exact_s,
               "trained_rank": trained, "closed_loss": pred.loss, "exact_loss": exact.loss}
        rows.append(row)
        print(json.dumps(row), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "population.json").write_text(json.dumps(rows, indent=1))
    agree_exact = sum(r["closed_rank_rule"] == r["exact_rank"] for r in rows)
    trained = [r for r in rows if r["trained_rank"] is not None]
    agree_train = sum(r["closed_rank_rule"] == r["trained_rank"] for r in trained)
    exact_train = sum(r["exact_rank"] == r["trained_rank"] for r in trained)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M')} on {platform.machine()} ({os.cpu_count()} cores, load "
             f"{load:.2f}), {sys.version.split()[0]}.", "",
             f"closed form = exact: {agree_exact}/{len(rows)}; closed form = trained: {agree_train}/{len(trained)}; "
             f"exact = trained: {exact_train}/{len(trained)}; closed form median "
             f"{statistics.median(r['closed_ms'] for r in rows):.1f} ms, exact median "
             f"{statistics.median(r['exact_s'] for r in rows):.1f} s.", "",
             "| spec | closed rank | exact rank | trained rank | closed ms | exact s |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['spec']} | {r['closed_rank_rule']} | {r['exact_rank']} | "
                     f"{'—' if r['trained_rank'] is None else r['trained_rank']} | {r['closed_ms']:.1f} | "
                     f"{r['exact_s']:.1f} |")
    (args.out / "population.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
