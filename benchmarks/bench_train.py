"""Throughput of the training loop vs a plain hand-written torch loop doing the same math, same process.

    .venv/bin/python benchmarks/bench_train.py [--steps 300] [--dim 128] [--batch 1024] [--repeats 5]

Both loops: Gaussian batch x = ξ Lᵀ + μ drawn on the device, two additive-noise views, linear encoder
z = W x, InfoNCE (dot, τ = 1) from sslscape.objectives, + γ‖W‖² (γ = 0.01), Adam. `sslscape.training.train` adds
its bookkeeping: per-step lr from the schedule, the NaN check, the metrics window, a metrics line with
the spectrum every 100 steps. The two are interleaved (A B A B ...) and the best of `repeats` is reported, so
that a busy machine slows both alike. The hand loop runs twice: as written, and with subnormals flushed to
zero as train() does (InfoNCE's softmax weights of far negatives underflow into the subnormal range, which
is several times slower on CPU). Prints samples/s for each and the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from sslscape.objectives import infonce_loss
from sslscape.training import parse_config, train


def hand_loop(dim: int, batch: int, steps: int, seed: int = 0, flush_denormal: bool = False) -> float:
    torch.set_flush_denormal(flush_denormal)  # train() flushes subnormals (see loop.py); compare both ways
    torch.manual_seed(seed)
    cov = torch.linspace(4.0, 0.1, dim)
    factor, mean = torch.diag(cov.sqrt()), torch.zeros(dim)
    noise = torch.eye(dim) * 0.5**0.5
    w = torch.nn.Parameter(torch.randn(dim, dim) / dim**0.5)
    opt = torch.optim.Adam([w], lr=1e-2)
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for _ in range(steps):
        x = torch.randn(batch, dim, generator=g) @ factor.T + mean
        x1 = x + torch.randn(batch, dim, generator=g) @ noise.T
        x2 = x + torch.randn(batch, dim, generator=g) @ noise.T
        loss = infonce_loss(x1 @ w.T, x2 @ w.T, temperature=1.0) + 0.01 * w.pow(2).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    float(loss.detach())  # wait for the last step
    return steps * batch / (time.perf_counter() - t0)


def ours(dim: int, batch: int, steps: int, seed: int = 0) -> float:
    cfg = parse_config({
        "spec": {"objective": "infonce", "similarity": "dot", "temperature": 1.0, "weight_decay": 0.01,
                 "data": {"cov": torch.linspace(4.0, 0.1, dim).tolist()},
                 "augmentation": {"noise_cov": [0.5] * dim}},
        "optimizer": {"name": "adam"}, "data": {"eval_size": 16}, "seed": seed, "device": "cpu",
        "schedule": {"steps": steps, "batch_size": batch, "lr": 1e-2, "kind": "constant", "log_every": 100,
                     "checkpoint_every": 10**9}})
    return train(cfg, None, progress=False).samples_per_s  # the loop's rate, setup excluded as for hand_loop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ours(args.dim, args.batch, 20)  # warm-up: allocator, kernels, imports
    hand_loop(args.dim, args.batch, 20)
    a, f, b = [], [], []
    for _ in range(args.repeats):
        a.append(hand_loop(args.dim, args.batch, args.steps))
        f.append(hand_loop(args.dim, args.batch, args.steps, flush_denormal=True))
        b.append(ours(args.dim, args.batch, args.steps))
    torch.set_flush_denormal(False)
    best_a, best_f, best_b = max(a), max(f), max(b)
    print(f"linear encoder D=d={args.dim}, batch {args.batch}, InfoNCE dot, Adam, {args.steps} steps, "
          f"{args.threads} threads, best of {args.repeats}")
    print(f"hand-written torch loop : {best_a:10,.0f} samples/s   (all: {', '.join(f'{v:,.0f}' for v in a)})")
    print(f"hand-written + flush    : {best_f:10,.0f} samples/s   (all: {', '.join(f'{v:,.0f}' for v in f)})")
    print(f"sslscape.training.train    : {best_b:10,.0f} samples/s   (all: {', '.join(f'{v:,.0f}' for v in b)})")
    print(f"ratio ours / hand       : {best_b / best_a:.3f}")
    print(f"ratio ours / hand+flush : {best_b / best_f:.3f} (best), {statistics.median(b) / statistics.median(f):.3f} "
          f"(medians), {statistics.median(x / y for x, y in zip(b, f, strict=True)):.3f} (median of paired runs)")


if __name__ == "__main__":
    main()
