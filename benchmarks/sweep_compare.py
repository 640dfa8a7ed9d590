"""Theory vs training over a grid of specs: `compare_training` (sslscape.compare) on each, one table at the end.

    .venv/bin/python benchmarks/sweep_compare.py [--seeds 2] [--steps 2000] [--batch 512] [--workers 1]

The theory is `predict`'s default order ('auto': the learned point for finite-batch dot InfoNCE, the per-direction
closed form for SimSiam/BYOL, the quartic closed form elsewhere); each row records that order and its time per
spec (median of warm calls).

Every spec shares one data covariance (D = 8, C = diag(4, 3, 2, 1.5, 1, 0.5, 0.25, 0.1)) and varies the
objective (all six), similarity (dot / cosine / euclidean), protocol, weight decay γ, noise, τ, depth 1–3, bias
and embedding size. Values of γτ (InfoNCE) and γ/2 (spectral, Barlow λ = 1) sit in the middle of the gaps
between data variances, so that a miss is a real disagreement rather than a threshold case; a few cases sit near
a threshold on purpose. Writes sweep.md (markdown table) and sweep.json to --out (default out/sweep_compare).
The sweep trains with 2,000 steps at batch 512 (compare's own default is 3,000 at 1,024): InfoNCE and the
spectral loss cost O(N²) per step, and this keeps 51 specs × 2 seeds near 15 minutes on an idle 2-core CPU.
Added for issue 11 (trained with compare's own 3,000 steps at the spec's batch size): the 17 finite-batch InfoNCE
specs with large p̄ and the SimSiam/BYOL cases of `agreement_grid.py` (`finite_batch_specs`, `predictive_specs`).
A seed whose rank is still moving at the end of its run is trained again with 2× and then 4× the steps
(`compare_training`'s rule, `sslscape.compare.still_moving`; never for SimSiam/BYOL, whose theory integrates the
recipe's own schedule); the table names the steps of every extended seed.
Rows are appended to sweep.jsonl in --out as they finish (a rerun skips them; --fresh starts over);
`--rescore SUBSTRING` re-predicts finished rows with the current theory and re-applies the agreement rule to
their trained ranks (training depends on the spec and seed only, so nothing is retrained).
Timings and the last table: benchmarks/results/sweep.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agreement_grid import _time_default, finite_batch_specs, predictive_specs  # noqa: E402

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
    # no quartic expansion at W = 0
    add("infonce cosine γ=0.01 τ=0.5", objective="infonce", similarity="cosine", weight_decay=0.01,
        temperature=0.5)
    add("infonce cosine γ=0.05 τ=0.5", objective="infonce", similarity="cosine", weight_decay=0.05,
        temperature=0.5)
    # cosine InfoNCE beyond the two above (issue 11, the reduced solver of docs/theory.md §14): τ moves ρ_c
    for tau in (1.0, 2.0):
        add(f"infonce cosine γ=0.01 τ={tau}", objective="infonce", similarity="cosine", weight_decay=0.01,
            temperature=tau)
    add("infonce cosine τ=0.5 shaped noise", objective="infonce", similarity="cosine", weight_decay=0.01,
        temperature=0.5, noise=[0.5, 0.5, 5.0, 0.5, 3.0, 0.5, 0.1, 0.5])
    add("infonce cosine τ=0.5 clean", objective="infonce", similarity="cosine", weight_decay=0.01,
        temperature=0.5, protocol="clean_negatives")
    add("barlow standardised γ=0.3", objective="barlow", normalization="batch", weight_decay=0.3)
    add("vicreg γ=0.05", objective="vicreg", weight_decay=0.05)
    add("vicreg γ=0.5", objective="vicreg", weight_decay=0.5)
    add("simsiam cosine γ=0.01", objective="simsiam", similarity="cosine", weight_decay=0.01)
    add("simsiam cosine γ=0.05", objective="simsiam", similarity="cosine", weight_decay=0.05)
    add("byol cosine γ=0.01", objective="byol", similarity="cosine", weight_decay=0.01)
    add("byol cosine γ=0.05", objective="byol", similarity="cosine", weight_decay=0.05)
    # issue 11: finite-batch InfoNCE with large p̄ and SimSiam/BYOL at several γ and EMA rates (own data)
    out += [(n, r) for n, r in finite_batch_specs()]
    out += [(f"pd {n}", r) for n, r in predictive_specs()]
    return out


OWN_RECIPE = 3000  # steps for the issue-11 cases: compare's default, the recipe their checks used


def _default_time(spec: object, repeats: int = 7) -> tuple[object, dict]:
    """The default order's prediction and its time per spec: the first call and the median of warm calls (wall
    and CPU, ms)."""
    pred, wall_ms, cpu_ms, first_ms = _time_default(spec, repeats)  # first: the process's first call
    return pred, {"default_order": pred.order, "default_method": pred.method,
                  "positive_weight": pred.positive_weight, "default_ms": wall_ms, "default_cpu_ms": cpu_ms,
                  "default_first_ms": first_ms}


def _run(job: tuple[str, dict, int, int, int]) -> dict:
    import torch

    torch.set_num_threads(1)  # one process per core beats two threads on tiny matmuls
    from sslscape.compare import compare_training
    from sslscape.spec import parse_spec

    name, raw, seeds, steps, batch = job
    t0 = time.perf_counter()
    try:
        spec = parse_spec(raw)
        _, timing = _default_time(spec)
        own = name.startswith(("fb-", "pd "))
        res = compare_training(spec, seeds=seeds, steps=OWN_RECIPE if own else steps, order="auto",
                               batch_size=None if spec.batch_size is not None or own else batch)
    except Exception as exc:  # report, keep sweeping
        return {"name": name, "spec": raw, "error": f"{type(exc).__name__}: {exc}"}
    return {"name": name, "spec": raw, **res.to_dict(), **timing, "wall_s": time.perf_counter() - t0}


def _rescore(row: dict) -> dict:
    """The row with this version's default prediction, its timing and the agreement of its trained ranks."""
    from sslscape.diagnostics.rank import agreement
    from sslscape.spec import parse_spec

    spec = parse_spec(row["spec"])
    pred, timing = _default_time(spec)
    lo, hi = pred.rank_range
    rules = [agreement(pred.spectrum, r, predicted_rank_min=lo, predicted_rank_max=hi) for r in row["trained_ranks"]]
    return {**row, **timing, "predicted_rank": pred.rank, "predicted_range": [lo, hi], "alive": pred.alive,
            "order": pred.order, "solver": pred.solver, "predicted_spectrum": list(pred.spectrum),
            "agree": all(r.agree for r in rules), "rescored": time.strftime("%Y-%m-%d %H:%M")}


def _rows_from_table(path: Path, steps: int) -> dict[str, dict]:
    """Finished rows rebuilt from a stored sweep table (benchmarks/results/sweep.md): each spec's trained ranks and
    steps, for `--rescore` without the run's sweep.jsonl (training depends on the spec and seed only)."""
    raw = dict(specs())
    rows = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 7 or cells[0] not in raw:
            continue
        own = cells[0].startswith(("fb-", "pd "))
        base = OWN_RECIPE if own else steps
        ranks, used = [], []
        for part in cells[4].split(", "):
            value, _, more = part.partition(" (")
            ranks.append(int(value))
            used.append(int(more.split(" ")[0].replace(",", "")) if more else base)
        rows[cells[0]] = {"name": cells[0], "spec": raw[cells[0]], "trained_ranks": ranks, "trained_steps": used,
                          "steps": base, "wall_s": 0.0}
    return rows


def main() -> None:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=512, help="training batch size (specs without batch_size)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", default="", help="substring filter on spec names")
    ap.add_argument("--out", type=Path, default=Path("out/sweep_compare"))
    ap.add_argument("--fresh", action="store_true", help="ignore finished rows in sweep.jsonl")
    ap.add_argument("--report", action="store_true", help="only rewrite the table from sweep.jsonl")
    ap.add_argument("--from-table", type=Path, default=None, metavar="SWEEP_MD",
                    help="with --rescore: take the trained ranks from a stored table (benchmarks/results/sweep.md) "
                         "instead of sweep.jsonl")
    ap.add_argument("--rescore", default=None, metavar="SUBSTRING",
                    help="re-predict the finished rows whose name contains SUBSTRING ('' = all) with this version's "
                         "theory and re-apply the agreement rule to their trained ranks (no retraining: a run "
                         "depends on the spec and seed only)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    jsonl = args.out / "sweep.jsonl"
    if args.fresh and jsonl.exists():
        jsonl.unlink()
    done = {}
    if jsonl.exists():
        done = {r["name"]: r for r in map(json.loads, filter(str.strip, jsonl.read_text().splitlines()))}
    if args.from_table is not None:
        done = _rows_from_table(args.from_table, args.steps)
    names = [n for n, _ in specs() if args.only in n]
    jobs = [(n, r, args.seeds, args.steps, args.batch) for n, r in specs() if args.only in n and n not in done]
    t0 = time.perf_counter()
    if not args.report:
        print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)

    def record(row: dict) -> None:
        done[row["name"]] = row
        with jsonl.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        lo, hi = row.get("predicted_range") or (row.get("predicted_rank"), row.get("predicted_rank"))
        status = row.get("error") or (f"{row.get('solver', row['default_order'])} {row['predicted_rank']} ({lo}–{hi}) "
                                      f"trained {row['trained_ranks']} {'ok' if row['agree'] else 'MISS'} "
                                      f"({row['default_ms']:.1f} ms, {row['wall_s']:.0f} s)")
        print(f"[{len(done):2d}/{len(names)}] {row['name']:<34} {status}", flush=True)

    if args.rescore is not None:
        for name in names:
            if name in done and args.rescore in name and "error" not in done[name]:
                record(_rescore(done[name]))
    elif args.report:
        pass
    elif args.workers <= 1:
        for job in jobs:
            record(_run(job))
    else:
        with get_context("spawn").Pool(args.workers) as pool:
            for row in pool.imap(_run, jobs):
                record(row)
    wall = time.perf_counter() - t0
    rows = [done[n] for n in names if n in done]
    ok = [r for r in rows if "error" not in r]
    agree = sum(r["agree"] for r in ok)
    lines = ["| spec | objective | solver (default order) | predicted rank | trained ranks | agree | default ms |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['name']} | {r['spec']['objective']} | — | error | {r['error']} | no | — |")
        else:
            lo, hi = r["predicted_range"]
            band = f"{r['predicted_rank']}" + ("" if lo == hi else f" ({lo}–{hi})")
            if r["alive"] != r["predicted_rank"]:
                band += f" [{r['alive']}]"
            steps = r.get("trained_steps") or [r["steps"]] * len(r["trained_ranks"])
            trained = ", ".join(f"{k}" if n <= r["steps"] else f"{k} ({n:,} steps)"
                                for k, n in zip(r["trained_ranks"], steps, strict=True))
            lines.append(f"| {r['name']} | {r['spec']['objective']} | {r.get('solver', r['default_order'])} | {band} | "
                         f"{trained} | {'yes' if r['agree'] else '**no**'} | {r['default_ms']:.1f} |")
    ms = [r["default_ms"] for r in ok]
    extended = sum(n > r["steps"] for r in ok for n in r.get("trained_steps", ()))
    unsettled = sum(not x for r in ok for x in r.get("settled", ()))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines.append(f"\n{agree}/{len(rows)} specs agree ({100 * agree / max(1, len(rows)):.0f} %); default order "
                 f"{np.median(ms):.1f} ms per spec (median of warm calls, wall), slowest {max(ms):.1f} ms; "
                 f"{wall / 60:.1f} min with {args.workers} worker(s), load average {load:.1f} at the end. "
                 f"{extended} seed run(s) still moving at their end were trained longer (compare's rule, "
                 f"`still_moving`), {unsettled} still moving at 4× the steps. "
                 "[k]: the theory's own count where it differs from the cut of its spectrum (dot SimSiam/BYOL: "
                 "escaping directions). (range): the predicted range — the depth ≥ 2 metastable band, the "
                 "SimSiam/BYOL seed band, the cosine InfoNCE threshold band (docs/theory.md §6, §7, §14).")
    (args.out / "sweep.md").write_text("\n".join(lines) + "\n")
    (args.out / "sweep.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
