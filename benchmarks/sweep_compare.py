"""Theory vs training over a grid of specs: `compare_training` (sslscape.compare) on each, one table at the end.

    .venv/bin/python benchmarks/sweep_compare.py [--seeds 2] [--steps 2000] [--batch 512] [--workers 2]

Every spec shares the data of DESIGN.md §2 (D = 8, C = diag(4, 3, 2, 1.5, 1, 0.5, 0.25, 0.1)) and varies the
objective (all six), similarity (dot / cosine / euclidean), protocol, weight decay γ, noise, τ, depth 1–3, bias
and embedding size. Values of γτ (InfoNCE) and γ/2 (spectral, Barlow λ = 1) sit in the middle of the gaps
between data variances, so that a miss is a real disagreement rather than a threshold case; a few cases sit near
a threshold on purpose. Writes sweep.md (markdown table) and sweep.json to --out (default out/sweep_compare).
The sweep trains with 2,000 steps at batch 512 (compare's own default is 3,000 at 1,024): InfoNCE and the
spectral loss cost O(N²) per step, and this keeps 51 specs × 2 seeds near 15 minutes on an idle 2-core CPU.
Timings and the last table: benchmarks/results/train.md.
"""

from __future__ import annotations

import argparse
import json
import time
from multiprocessing import get_context
from pathlib import Path

C8 = [4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1]
BASE = {"data": {"cov": C8}, "augmentation": {"noise_cov": [0.5] * 8}}


def specs() -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []

    def add(name: str, **fields: object) -> None:
        raw = json.loads(json.dumps(BASE))
        for key, value in fields.items():
            if key == "noise":
                raw["augmentation"]["noise_cov"] = value
            else:
                raw[key] = value
        out.append((name, raw))

    # spectral: direction i survives iff 2 c_i > γ (closed form)
    for g in (0.1, 0.35, 0.7, 1.5, 2.5, 3.5, 5.0, 9.0):
        add(f"spectral γ={g}", objective="spectral", weight_decay=g)
    add("spectral γ=1.5 noise 2", objective="spectral", weight_decay=1.5, noise=[2.0] * 8)
    add("spectral γ=1.5 bias", objective="spectral", weight_decay=1.5, bias=True)
    add("spectral γ=0.7 d=4", objective="spectral", weight_decay=0.7, embed_dim=4)
    add("spectral γ=1.5 clean", objective="spectral", weight_decay=1.5, protocol="clean_negatives")
    for depth in (2, 3):
        for g in (0.3, 1.5):
            add(f"spectral depth {depth} γ={g}", objective="spectral", weight_decay=g, depth=depth)
    # InfoNCE, dot: c_i > γτ at quartic order (the batch-size correction (1 − p̄) is small at N = 1024)
    for g, tau in ((0.16, 1.0), (0.35, 1.0), (0.7, 1.0), (1.22, 1.0), (2.45, 1.0), (0.35, 0.5), (1.4, 0.5),
                   (0.7, 2.0)):
        add(f"infonce dot γ={g} τ={tau}", objective="infonce", similarity="dot", weight_decay=g,
            temperature=tau)
    add("infonce dot γ=0.7 clean", objective="infonce", similarity="dot", weight_decay=0.7,
        protocol="clean_negatives")
    add("infonce dot γ=0.7 noise 3", objective="infonce", similarity="dot", weight_decay=0.7, noise=[3.0] * 8)
    add("infonce dot γ=0.7 bias", objective="infonce", similarity="dot", weight_decay=0.7, bias=True)
    add("infonce dot γ=0.7 symmetric", objective="infonce", similarity="dot", weight_decay=0.7, symmetric=True)
    add("infonce dot γ=0.7 d=3", objective="infonce", similarity="dot", weight_decay=0.7, embed_dim=3)
    for depth in (2, 3):
        add(f"infonce dot depth {depth} γ=0.2", objective="infonce", similarity="dot", weight_decay=0.2,
            depth=depth)
    # InfoNCE, euclidean, clean negatives: (2 c_i − s_i)/(2τ) > γ — augmentation alone can kill directions
    noise = [0.5, 0.5, 5.0, 0.5, 3.0, 0.5, 0.1, 0.5]
    for g in (0.0, 0.2, 0.6):
        add(f"infonce euclid clean γ={g}", objective="infonce", similarity="euclidean",
            protocol="clean_negatives", weight_decay=g, noise=noise)
    add("infonce euclid augmented γ=0.35", objective="infonce", similarity="euclidean", weight_decay=0.35)
    # Barlow without standardisation: λ = 1 → c_i > γ/2; λ < 1 stacks rows onto top directions
    for g in (0.3, 1.2, 3.5):
        add(f"barlow λ=1 γ={g}", objective="barlow", barlow_lambda=1.0, weight_decay=g)
    for lam in (0.1, 0.5):
        add(f"barlow λ={lam} γ=0.3", objective="barlow", barlow_lambda=lam, weight_decay=0.3)
    add("barlow λ=1 γ=1.2 bias", objective="barlow", barlow_lambda=1.0, weight_decay=1.2, bias=True)
    add("barlow λ=1 depth 2 γ=0.6", objective="barlow", barlow_lambda=1.0, weight_decay=0.6, depth=2)
    # no quartic expansion: the exact solver is the theory here
    add("infonce cosine γ=0.01 τ=0.5", objective="infonce", similarity="cosine", weight_decay=0.01,
        temperature=0.5)
    add("infonce cosine γ=0.05 τ=0.5", objective="infonce", similarity="cosine", weight_decay=0.05,
        temperature=0.5)
    add("barlow standardised γ=0.3", objective="barlow", normalization="batch", weight_decay=0.3)
    add("vicreg γ=0.05", objective="vicreg", weight_decay=0.05)
    add("vicreg γ=0.5", objective="vicreg", weight_decay=0.5)
    add("simsiam cosine γ=0.01", objective="simsiam", similarity="cosine", weight_decay=0.01)
    add("simsiam cosine γ=0.05", objective="simsiam", similarity="cosine", weight_decay=0.05)
    add("byol cosine γ=0.01", objective="byol", similarity="cosine", weight_decay=0.01)
    add("byol cosine γ=0.05", objective="byol", similarity="cosine", weight_decay=0.05)
    return out


def _run(job: tuple[str, dict, int, int, int]) -> dict:
    import torch

    torch.set_num_threads(1)  # one process per core beats two threads on tiny matmuls
    from sslscape.compare import compare_training
    from sslscape.spec import parse_spec

    name, raw, seeds, steps, batch = job
    t0 = time.perf_counter()
    try:
        res = compare_training(parse_spec(raw), seeds=seeds, steps=steps, batch_size=batch)
    except Exception as exc:  # report, keep sweeping
        return {"name": name, "spec": raw, "error": f"{type(exc).__name__}: {exc}"}
    return {"name": name, "spec": raw, **res.to_dict(), "wall_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=512, help="training batch size (specs without batch_size)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default="", help="substring filter on spec names")
    ap.add_argument("--out", type=Path, default=Path("out/sweep_compare"))
    args = ap.parse_args()
    jobs = [(n, r, args.seeds, args.steps, args.batch) for n, r in specs() if args.only in n]
    t0 = time.perf_counter()
    rows = []
    with get_context("spawn").Pool(args.workers) as pool:
        for row in pool.imap(_run, jobs):
            rows.append(row)
            status = row.get("error") or (f"predicted {row['predicted_rank']}–{row['predicted_rank_max']} "
                                          f"trained {row['trained_ranks']} "
                                          f"{'ok' if row['agree'] else 'MISS'} ({row['wall_s']:.0f} s)")
            print(f"[{len(rows):2d}/{len(jobs)}] {row['name']:<34} {status}", flush=True)
    wall = time.perf_counter() - t0
    ok = [r for r in rows if "error" not in r]
    agree = sum(r["agree"] for r in ok)
    lines = ["| spec | objective | predicted rank | trained ranks | agree |", "|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['name']} | {r['spec']['objective']} | error | {r['error']} | no |")
        else:
            band = (f"{r['predicted_rank']}" if r["predicted_rank_max"] == r["predicted_rank"]
                    else f"{r['predicted_rank']}–{r['predicted_rank_max']} (metastable)")
            lines.append(f"| {r['name']} | {r['spec']['objective']} | {band} | "
                         f"{', '.join(map(str, r['trained_ranks']))} | {'yes' if r['agree'] else '**no**'} |")
    lines.append(f"\n{agree}/{len(rows)} specs agree ({100 * agree / max(1, len(rows)):.0f} %), "
                 f"{wall / 60:.1f} min with {args.workers} workers.")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sweep.md").write_text("\n".join(lines) + "\n")
    (args.out / "sweep.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
