"""The collapse monitor on SimSiam, Fashion-MNIST: without a predictor (it collapses) and with one (it does not).

    .venv/bin/python benchmarks/monitor_demo.py [--out out/monitor_demo] [--steps 600]

A plain PyTorch loop — a user's own, not sslscape's trainer — with `sslscape.monitor.CollapseMonitor` every 50
steps (called at every step, with both views: LiDAR). Model: the built-in MLP backbone (784 → 512 → 512), a
projector Linear-BN-ReLU-Linear to d = 64 (`--head bn-out`: SimSiam's own projector as lightly's
`SimSiamProjectionHead` builds it — three Linear-BN layers, the last BatchNorm without affine parameters, so the
embeddings cannot become constant), and (second run) SimSiam's bottleneck predictor d → d/4 → d
(Linear-BN-ReLU-Linear); loss `simsiam_loss` (negative cosine, stop-gradient on the target); SGD lr 0.05, momentum
0.9, weight decay 1e-4 (Chen & He 2021); batch 256 of two SimCLR-style views (`ImageAugment`). Both runs share the
seed, data order and initialisation. `benchmarks/real_runs.py` reuses `run` for its SimSiam runs.
Writes OUT/<run>/monitor.jsonl, monitor.png (the live figure), messages.txt, and OUT/monitor_demo.md: the
monitor's messages, the last record and kNN@20 accuracies (10 classes, chance 10 %) of the embeddings z and of the
backbone features (5,000 training images as the bank, 2,000 test images).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date
from pathlib import Path

import torch
from torch import nn

from sslscape.augment import ImageAugment, ImageAugmentConfig
from sslscape.diagnostics.probe import knn_accuracy
from sslscape.io import atomic_write_text
from sslscape.monitor import CollapseMonitor
from sslscape.objectives import simsiam_loss
from sslscape.training.data import load_fashion_mnist
from sslscape.training.models import MLPBackbone, projector


def predictor(d: int = 64, bottleneck: int = 16) -> nn.Module:
    return nn.Sequential(nn.Linear(d, bottleneck, bias=False), nn.BatchNorm1d(bottleneck), nn.ReLU(inplace=True),
                         nn.Linear(bottleneck, d))


def bn_out_head(in_dim: int, hidden: int, d: int) -> nn.Module:
    """SimSiam's projector (Chen & He 2021 §3; lightly's `SimSiamProjectionHead`): Linear-BN-ReLU twice, then
    Linear-BN with no affine parameters — every output dimension keeps unit variance over the batch."""
    return nn.Sequential(nn.Linear(in_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, d, bias=False), nn.BatchNorm1d(d, affine=False))


def run(name: str, with_predictor: bool, args: argparse.Namespace, x: torch.Tensor, eval_sets: tuple) -> dict:
    """One SimSiam run with the monitor (args: out, steps, every, batch, dim, head ('sslscape' | 'bn-out'))."""
    out = args.out / name.lower().replace(" ", "_")
    out.mkdir(parents=True, exist_ok=True)
    (out / "monitor.jsonl").unlink(missing_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        backbone = MLPBackbone(784, [512, 512])
        dim = getattr(args, "dim", 64)
        head = bn_out_head(512, 512, dim) if getattr(args, "head", "sslscape") == "bn-out" else projector(512, 512,
                                                                                                         dim)
        pred = predictor(dim, max(dim // 4, 4)) if with_predictor else nn.Identity()
    params = [*backbone.parameters(), *head.parameters(), *pred.parameters()]
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-4)
    augment = ImageAugment(ImageAugmentConfig())
    gen = torch.Generator().manual_seed(0)
    messages: list[str] = []
    monitor = CollapseMonitor(out / "monitor.jsonl", every=args.every, objective="simsiam",
                              figure=out / "monitor.png", say=messages.append)
    t0 = time.perf_counter()
    for step in range(args.steps + 1):
        idx = torch.randint(len(x), (args.batch,), generator=gen)
        xb = x[idx]
        z1, z2 = head(backbone(augment(xb, gen))), head(backbone(augment(xb, gen)))
        loss = simsiam_loss(pred(z1), pred(z2), z1, z2, similarity="cosine")
        monitor(z1, step, loss=loss, z2=z2)
        if step == args.steps:
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    wall = time.perf_counter() - t0
    backbone.eval()
    head.eval()
    with torch.no_grad():
        (tx, ty), (vx, vy) = eval_sets
        knn = knn_accuracy(backbone(tx), ty, backbone(vx), vy)
        knn_z = knn_accuracy(head(backbone(tx)), ty, head(backbone(vx)), vy)
    atomic_write_text(out / "messages.txt", "\n".join(messages) + "\n")
    return {"name": name, "messages": messages, "last": monitor.records[-1], "knn": knn, "knn_z": knn_z,
            "wall_s": wall, "records": monitor.records}


def baseline(eval_sets: tuple) -> float:
    """kNN@20 of the backbone's features at its (shared) random initialisation."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        backbone = MLPBackbone(784, [512, 512]).eval()
    (tx, ty), (vx, vy) = eval_sets
    with torch.no_grad():
        return knn_accuracy(backbone(tx), ty, backbone(vx), vy)


def report(results: list[dict], header: str, knn0: float) -> str:
    lines = ["# Collapse monitor demo: SimSiam on Fashion-MNIST (`benchmarks/monitor_demo.py`)", "", header,
             f"kNN@20 of the backbone features at the shared random initialisation: {100 * knn0:.1f} %.", ""]
    for r in results:
        last = r["last"]
        lines += [f"## {r['name']}", "",
                  f"Last log (step {last['step']}): loss {last['loss']:.4f}, collapse rank {last['rank']} of "
                  f"{last['dim']}, effective rank {last['effective_rank']:.2f}, RankMe {last['rankme']:.2f}, std of "
                  f"L2-normalised z {last['normalized_std']:.4f} (healthy 1/√d = {last['dim'] ** -0.5:.4f}), "
                  f"verdict **{last['verdict']}**; kNN@20 of the embeddings z {100 * r['knn_z']:.1f} %, of the "
                  f"backbone features {100 * r['knn']:.1f} % ({r['wall_s']:.0f} s).", "", "Monitor messages:", ""]
        lines += [f"    {m}" for m in r["messages"]] if r["messages"] else ["    (none — no collapse signature)"]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("out/monitor_demo"))
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--head", choices=("sslscape", "bn-out"), default="sslscape")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tx, ty, vx, vy = load_fashion_mnist()
    x = torch.as_tensor(tx[:20000, None] / 255.0, dtype=torch.float32)
    f = lambda a: torch.as_tensor(a[:, None] / 255.0, dtype=torch.float32)  # noqa: E731
    eval_sets = ((f(tx[20000:25000]), torch.as_tensor(ty[20000:25000])), (f(vx[:2000]), torch.as_tensor(vy[:2000])))
    results = [run("SimSiam without predictor", False, args, x, eval_sets),
               run("SimSiam with predictor", True, args, x, eval_sets)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = (f"Run {date.today()} on {platform.machine()} ({os.cpu_count()} CPU cores, torch {torch.__version__}, "
              f"load average {load:.1f} — shared machine); {args.steps} steps, batch {args.batch}, monitor every "
              f"{args.every} steps.")
    text = report(results, header, baseline(eval_sets))
    atomic_write_text(args.out / "monitor_demo.md", text + "\n")
    print(text)


if __name__ == "__main__":
    main()
