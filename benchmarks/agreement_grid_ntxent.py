"""NT-Xent (SimCLR's loss, issue 20): the default `predict` order vs the rank sslscape's trainer reaches.

For each NT-Xent spec (Gaussian data N(0, C), additive Gaussian noise N(0, S), dot or cosine similarity):

* default — `predict(spec)` (order auto: the rows 'learned_point_ntxent' / 'learned_point_ntxent_cosine', or
            whatever the table falls back to, with its note), timed by agreement_grid.py's rule (median of warm
            calls; the first call in the process reported apart),
* CLIP    — `predict` of the same spec as CLIP-form InfoNCE (objective infonce): the prediction a user would get
            by calling SimCLR's loss "infonce"; the specs where the two forms differ are named,
* trained — `sslscape.compare.compare_training(spec, seeds=2)`: the project's trainer on the exact NT-Xent loss
            (`sslscape.objectives.ntxent_loss` through the spec), compare's recipe (Adam, lr 1e-2 cosine, 3,000
            steps; a seed still moving is retrained with 2× and 4× the steps), and the project's
            one agreement rule (the predicted spectrum's collapse cut, or its range, vs each seed's collapse rank).

Specs: τ from 0.05 to 2, N ∈ {16, 64, 256, 1024}, dot and cosine; spectra with weak directions placed 30–60 % either
side of their NT-Xent threshold (designed with the learned point of the strong directions), factor-2 spectra,
noise-heavy augmentations, shaped noise, d < D, and directions placed between the CLIP form's threshold and
NT-Xent's ("between": the forms predict different ranks there).

Run:   nice -n 10 .venv/bin/python benchmarks/agreement_grid_ntxent.py [--only SUBSTRING] [--fresh]   (≈ 25 min)
       .venv/bin/python benchmarks/agreement_grid_ntxent.py --report   (the table from the stored rows)
       .venv/bin/python benchmarks/agreement_grid_ntxent.py --rescore  (this version's predictions and times against
                                                                        the stored trained ranks; nothing retrained)
Rows go to benchmarks/results/agreement_ntxent.jsonl as they finish (a rerun skips finished specs); the table to
benchmarks/results/agreement_ntxent.md. Expected: default = trained on ≥ 95 % of the seed runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np
import torch

from agreement_grid import RESULTS, _atomic_write, _collapse_rank, _machine, _time_default  # noqa: I001
from sslscape.compare import compare_training
from sslscape.moments import moments_of
from sslscape.spec import Spec, parse_spec
from sslscape.theory import predict
from sslscape.theory.finite_batch import learned_point_solution

C_DIAG = [4.0, 2.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125]   # factor 2 (agreement_grid.py's)
C8 = [4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1]                 # the compare sweep's
SHAPED = [0.1, 0.3, 0.5, 0.8, 1.2, 1.0, 0.5, 0.3]


def _raw(similarity: str, cov: list[float], noise: list[float], tau: float, n: int, gamma: float,
         embed_dim: int | None = None) -> dict:
    raw = {"objective": "ntxent", "similarity": similarity, "data": {"cov": cov},
           "augmentation": {"noise_cov": noise}, "weight_decay": gamma, "temperature": tau, "batch_size": n,
           "seed": 0}
    if embed_dim is not None:
        raw["embed_dim"] = embed_dim
    return raw


def _threshold(objective: str, strong: list[float], ratio: float, tau: float, n: int, gamma: float) -> float:
    """The data variance at which a weak direction's learned-point growth (1 − p̄)c/τ − γ vanishes, p̄ that of the
    strong directions alone (its own gain is 0 at the threshold)."""
    raw = _raw("dot", strong, [ratio * c for c in strong], tau, n, gamma)
    lp = learned_point_solution(parse_spec({**raw, "objective": objective}))
    return gamma * tau / (1 - lp.positive_weight)


def _tail(strong: list[float], factors: tuple[float, ...], ratio: float, tau: float, n: int,
          gamma: float) -> dict:
    """Strong directions and weak ones at `factors` × their NT-Xent threshold; noise = ratio × cov."""
    c_star = _threshold("ntxent", strong, ratio, tau, n, gamma)
    cov = strong + [round(f * c_star, 5) for f in factors]
    return _raw("dot", cov, [round(ratio * c, 7) for c in cov], tau, n, gamma)


def _between(strong: list[float], ratio: float, tau: float, n: int, gamma: float) -> dict:
    """A weak direction at the geometric mean of the two forms' thresholds: NT-Xent keeps it, the CLIP form not."""
    lo = _threshold("ntxent", strong, ratio, tau, n, gamma)
    hi = _threshold("infonce", strong, ratio, tau, n, gamma)
    cov = strong + [round(float(np.sqrt(lo * hi)), 5), round(0.5 * lo, 5)]
    return _raw("dot", cov, [round(ratio * c, 7) for c in cov], tau, n, gamma)


def grid() -> list[tuple[str, dict]]:
    """(name, raw spec) of every NT-Xent setting (module docstring)."""
    ones = [1.0] * 14
    out: list[tuple[str, dict]] = [
        # dot: weak directions 30–60 % either side of their learned-point threshold (large p̄)
        ("dot-tail-N16-τ0.5", _tail(ones[:6], (0.6, 1.4), 0.05, 0.5, 16, 0.1)),
        ("dot-tail-N64-τ0.2", _tail([3.0, 2.5, 2.0, 2.0, 1.5, 1.5, 1.0, 1.0], (0.6, 1.5), 0.05, 0.2, 64, 0.6)),
        ("dot-tail-N256-τ1", _tail(ones[:10], (0.7, 1.4), 0.02, 1.0, 256, 0.025)),
        ("dot-tail-N1024-τ0.3", _tail(ones[:12], (0.7, 1.4), 0.01, 0.3, 1024, 0.083)),
        ("dot-tail-noisy-N64-τ1", _tail(ones[:6], (0.6, 1.5), 1.0, 1.0, 64, 0.05)),
        # dot: factor-2 spectra, isotropic and noise-heavy augmentation, small τ, d < D
        ("dot-geom-N16-τ1", _raw("dot", C_DIAG, [1.0] * 8, 1.0, 16, 0.35)),
        ("dot-geom-N64-τ0.5", _raw("dot", C_DIAG, [1.0] * 8, 0.5, 64, 0.35)),
        ("dot-geom-N256-τ2", _raw("dot", C_DIAG, [0.5] * 8, 2.0, 256, 0.18)),
        ("dot-noiseheavy-N64-τ0.5", _raw("dot", C_DIAG, [4.0] * 8, 0.5, 64, 0.3)),
        ("dot-noiseheavy-N256-τ1", _raw("dot", C_DIAG, [3.0] * 8, 1.0, 256, 0.18)),
        ("dot-geom-N1024-τ0.5", _raw("dot", C_DIAG, [1.0] * 8, 0.5, 1024, 0.35)),
        ("dot-geom-N64-τ0.1", _raw("dot", C_DIAG, [1.0] * 8, 0.1, 64, 1.5)),
        ("dot-geom-N256-τ0.05", _raw("dot", C_DIAG, [0.5] * 8, 0.05, 256, 3.0)),
        ("dot-geom-d4-N256-τ0.5", _raw("dot", C_DIAG, [1.0] * 8, 0.5, 256, 0.1, embed_dim=4)),
        # dot: a direction between the two forms' thresholds
        ("dot-between-N16-τ1", _between(ones[:8], 0.05, 1.0, 16, 0.05)),
        ("dot-between-N64-τ0.5", _between(ones[:10], 0.02, 0.5, 64, 0.05)),
        # cosine: the SNR level ρ_c; weight decay never acts
        ("cos-iso-N16-τ2", _raw("cosine", C8, [0.5] * 8, 2.0, 16, 0.01)),
        ("cos-iso-N64-τ0.5", _raw("cosine", C8, [0.5] * 8, 0.5, 64, 0.01)),
        ("cos-iso-N256-τ0.2", _raw("cosine", C8, [0.5] * 8, 0.2, 256, 0.01)),
        ("cos-iso-N1024-τ2", _raw("cosine", C8, [0.5] * 8, 2.0, 1024, 0.01)),
        ("cos-shaped-N64-τ0.5", _raw("cosine", C8, SHAPED, 0.5, 64, 0.01)),
        ("cos-shaped-N256-τ1", _raw("cosine", C8, SHAPED, 1.0, 256, 0.01)),
        ("cos-noiseheavy-N256-τ0.5", _raw("cosine", C8, [2.0] * 8, 0.5, 256, 0.01)),
        ("cos-noiseheavy-N1024-τ0.2", _raw("cosine", C8, [2.0] * 8, 0.2, 1024, 0.01)),
        ("cos-near-N64-τ1", _raw("cosine", [4.0, 3.0, 2.0, 1.5, 1.0, 0.56, 0.42, 0.1], [0.5] * 8, 1.0, 64, 0.01)),
        ("cos-iso-N256-τ0.05", _raw("cosine", C8, [0.5] * 8, 0.05, 256, 0.01)),
        ("cos-iso-d3-N64-τ0.5", _raw("cosine", C8, [0.5] * 8, 0.5, 64, 0.01, embed_dim=3)),
        # small N at small τ: the reduced solver declines (a few negatives dominate); the exact solver answers
        ("cos-iso-N16-τ0.1", _raw("cosine", C8, [0.5] * 8, 0.1, 16, 0.01)),
    ]
    return out


@dataclass
class Row:
    name: str
    spec: dict
    order: str
    solver: str
    rank: int
    rank_range: list[int]
    positive_weight: float | None
    ms: float                    # median warm wall time of predict(spec)
    cpu_ms: float
    first_ms: float
    clip_rank: int
    clip_range: list[int]
    clip_solver: str
    clip_positive_weight: float | None
    trained_ranks: list[int]
    trained_steps: list[int]
    settled: list[bool]
    agree_seeds: list[bool]
    notes: list[str] = field(default_factory=list)
    predicted_spectrum: list[float] = field(default_factory=list)
    trained_spectra: list[list[float]] = field(default_factory=list)
    seconds: float = 0.0
    alive: int = -1              # the theory's own count of surviving directions (the range's upper end, mostly)
    alive_max: int = -1
    clip_alive: int = -1


def run(name: str, raw: dict) -> Row:
    torch.set_num_threads(1)
    t0 = time.time()
    spec = Spec.model_validate(raw)
    pred, ms, cpu_ms, first_ms = _time_default(spec)
    clip = predict(spec.with_updates(objective="infonce"))
    res = compare_training(spec, seeds=2)
    lo, hi = pred.rank_range
    return Row(name, raw, pred.order, pred.solver, pred.rank, list(pred.rank_range), pred.positive_weight, ms, cpu_ms,
               first_ms, clip.rank, list(clip.rank_range), clip.solver, clip.positive_weight, list(res.trained_ranks),
               list(res.trained_steps), list(res.settled), [lo <= r <= hi for r in res.trained_ranks],
               list(pred.notes), list(pred.spectrum), [list(s) for s in res.trained_spectra], time.time() - t0,
               pred.alive, pred.alive_max, clip.alive)


def rescore(row: Row) -> Row:
    """`row` with this version's predictions and timing, and its stored trained spectra cut again by this version's
    collapse rule (the trainer's: the population spectrum, data scale as reference) — nothing retrained."""
    spec = Spec.model_validate(row.spec)
    pred, ms, cpu_ms, first_ms = _time_default(spec)
    clip = predict(spec.with_updates(objective="infonce"))
    lo, hi = pred.rank_range
    cov = moments_of(spec).cov
    trained = [_collapse_rank(np.asarray(ev), cov) for ev in row.trained_spectra]
    return replace(row, order=pred.order, solver=pred.solver, rank=pred.rank, rank_range=list(pred.rank_range),
                   alive=pred.alive, alive_max=pred.alive_max, clip_alive=clip.alive,
                   positive_weight=pred.positive_weight, ms=ms, cpu_ms=cpu_ms, first_ms=first_ms, clip_rank=clip.rank,
                   clip_range=list(clip.rank_range), clip_solver=clip.solver,
                   clip_positive_weight=clip.positive_weight, trained_ranks=trained,
                   agree_seeds=[lo <= r <= hi for r in trained],
                   notes=list(pred.notes), predicted_spectrum=list(pred.spectrum))


def _rng(r: list[int]) -> str:
    return str(r[0]) if r[0] == r[1] else f"{r[0]}–{r[1]}"


def report(rows: list[Row]) -> str:
    seeds = [a for r in rows for a in r.agree_seeds]
    specs_ok = sum(all(r.agree_seeds) for r in rows)
    fast = [r for r in rows if r.ms <= 50.0]
    fast_cpu = [r for r in rows if r.cpu_ms <= 50.0]
    differ = [r for r in rows if r.clip_range != r.rank_range or r.clip_alive != r.alive]
    exact_alive = [r.alive == t for r in rows for t in r.trained_ranks]
    lines = ["# NT-Xent: default `predict` order vs trained rank (`benchmarks/agreement_grid_ntxent.py`)", "",
             f"Run {date.today().isoformat()} on {_machine()}, 2-core CPU container, no GPU; "
             f"{sum(r.seconds for r in rows) / 60:.0f} min, one thread, niced, machine shared with other jobs.", "",
             f"**Default order = trained rank: {sum(seeds)}/{len(seeds)} seed runs "
             f"({100 * sum(seeds) / len(seeds):.0f} %), {specs_ok}/{len(rows)} specs with every seed.** Default order "
             f"answered {len(fast)}/{len(rows)} specs in ≤ 50 ms wall, {len(fast_cpu)}/{len(rows)} in ≤ 50 ms CPU "
             f"(median warm {np.median([r.ms for r in rows]):.1f} ms wall, "
             f"{np.median([r.cpu_ms for r in rows]):.1f} ms CPU; first call in the process median "
             f"{np.median([r.first_ms for r in rows]):.0f} ms). The CLIP form (objective infonce) predicts a different "
             f"rank or count on {len(differ)} spec(s): {', '.join(r.name for r in differ) or 'none'}. The theory's own "
             f"count of surviving directions (`alive`) equals the trained collapse rank on {sum(exact_alive)}/"
             f"{len(exact_alive)} seed runs.", "",
             "| spec | solver (default) | NT-Xent prediction (alive) | p̄ | trained (seeds) | agree | CLIP-form "
             "prediction (alive; p̄) | ms wall / CPU |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pb = "—" if r.positive_weight is None else f"{r.positive_weight:.3f}"
        cpb = "—" if r.clip_positive_weight is None else f"{r.clip_positive_weight:.3f}"
        mark = "" if r.clip_range == r.rank_range and r.clip_alive == r.alive else " **≠**"
        steps = "" if all(s == 3000 for s in r.trained_steps) else f" ({'/'.join(map(str, r.trained_steps))} steps)"
        lines.append(f"| {r.name} | {r.solver} | {_rng(r.rank_range)} ({r.alive}) | {pb} | "
                     f"{', '.join(map(str, r.trained_ranks))}{steps} | "
                     f"{'yes' if all(r.agree_seeds) else '**no**'} | "
                     f"{_rng(r.clip_range)} ({r.clip_alive}; {cpb}){mark} | {r.ms:.1f} / {r.cpu_ms:.1f} |")
    misses = [r for r in rows if not all(r.agree_seeds)]
    lines += ["", "## Misses", ""]
    for r in misses:
        pred = ", ".join(f"{v / r.predicted_spectrum[0]:.1e}" for v in r.predicted_spectrum[:10])
        lines.append(f"- **{r.name}**: predicted {_rng(r.rank_range)} ({r.solver}; spectrum / top: {pred}), trained "
                     f"{r.trained_ranks} (settled {r.settled})")
        for ok, ev in zip(r.agree_seeds, r.trained_spectra, strict=True):
            if not ok:
                shares = ", ".join(f"{v / ev[0]:.1e}" for v in ev[:10])
                lines.append(f"  - missed seed, trained spectrum / top: {shares}")
    if not misses:
        lines.append("None.")
    slow = [r for r in rows if r.cpu_ms > 50.0]
    lines += ["", "## Over 50 ms CPU", ""]
    lines += [f"- **{r.name}**: {r.cpu_ms:.0f} ms CPU ({r.solver}): "
              f"{'; '.join(n for n in r.notes if 'declin' in n or 'exact' in n)[:300]}" for r in slow] or ["None."]
    return "\n".join(lines) + "\n"


def _load(path: Path) -> dict[str, Row]:
    if not path.exists():
        return {}
    return {(r := Row(**json.loads(line))).name: r for line in path.read_text().splitlines() if line.strip()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help="substring filter on spec names")
    ap.add_argument("--fresh", action="store_true", help="ignore finished rows")
    ap.add_argument("--report", action="store_true", help="only rewrite the table from the stored rows")
    ap.add_argument("--rescore", action="store_true", help="re-predict and re-time the stored rows (no training)")
    ap.add_argument("--out", type=Path, default=RESULTS / "agreement_ntxent.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    jsonl = args.out.with_suffix(".jsonl")
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    if args.fresh and jsonl.exists():
        jsonl.unlink()
    done = _load(jsonl)
    settings = grid()
    if args.rescore:
        done = {name: rescore(row) if args.only in name else row for name, row in done.items()}
        _atomic_write(jsonl, "".join(json.dumps(asdict(r)) + "\n" for r in done.values()))
    elif not args.report:
        for i, (name, raw) in enumerate(settings, 1):
            if args.only not in name or name in done:
                continue
            row = run(name, raw)
            done[name] = row
            with jsonl.open("a") as fh:
                fh.write(json.dumps(asdict(row)) + "\n")
            print(f"[{i}/{len(settings)}] {name:<28} {row.solver:<28} {_rng(row.rank_range)} trained "
                  f"{row.trained_ranks} {'ok' if all(row.agree_seeds) else 'MISS'} clip {_rng(row.clip_range)} "
                  f"({row.ms:.1f} ms, {row.seconds:.0f} s)", flush=True)
    rows = [done[n] for n, _ in settings if n in done]
    _atomic_write(args.out, report(rows))
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
