"""Real-data run: SimCLR and VICReg on Fashion-MNIST with the MLP configs, kNN@20 accuracy and effective rank.

    .venv/bin/python benchmarks/bench_train_fmnist.py [--steps N] [--out out/bench_fmnist]

Runs configs/simclr_fmnist_mlp.yaml and configs/vicreg_fmnist_mlp.yaml (optionally with fewer steps), and
the kNN@20 accuracy of raw pixels as a reference point. Needs `dataset-fashion-mnist` (make fashion-mnist).
Prints one markdown row per run: method, steps, wall time, samples/s, kNN@20 on the 10,000 test images
(bank: 20,000 training images), effective rank and rank of the 128-d embedding.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from sslscape.training import knn_accuracy, load_config, load_fashion_mnist, train

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=None, help="override schedule.steps")
    ap.add_argument("--out", type=Path, default=Path("out/bench_fmnist"))
    args = ap.parse_args()
    tx, ty, vx, vy = load_fashion_mnist()
    bank = torch.from_numpy(tx[:20000].reshape(20000, -1)).float()
    raw = knn_accuracy(bank, torch.from_numpy(ty[:20000]).long(), torch.from_numpy(vx.reshape(10000, -1)).float(),
                       torch.from_numpy(vy).long())
    rows = [f"| raw pixels (reference) | – | – | – | {100 * raw:.1f} % | – | – |"]
    for name in ("simclr_fmnist_mlp", "vicreg_fmnist_mlp"):
        cfg = load_config(ROOT / "configs" / f"{name}.yaml")
        if args.steps:
            sched = cfg.schedule.model_copy(update={"steps": args.steps})
            cfg = cfg.model_copy(update={"schedule": sched})
        t0 = time.perf_counter()
        res = train(cfg, args.out / name)
        rows.append(f"| {name} | {res.steps} | {time.perf_counter() - t0:.0f} s | {res.samples_per_s:,.0f} | "
                    f"{100 * res.knn_accuracy:.1f} % | {res.effective_rank:.1f} | {res.rank} |")
        print(rows[-1], flush=True)
    print("| run | steps | wall (incl. eval) | samples/s | kNN@20 | effective rank | rank |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
