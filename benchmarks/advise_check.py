"""Does `advise` hold up in training? For each spec: ask advise for K directions by one knob, put the knob in the
middle of the advised interval (open-ended: the spec's own value when inside, else twice the lower end), train
(compare_training: the spec's linear / deep-linear model, several seeds) and check the trained rank against K
with compare's agreement rule (docs/metrics.md; depth ≥ 2 is scored on the predicted [global minimum,
metastable] range, since training from a small initialisation can stay in the metastable band) and whether
every seed trained to exactly K.

    .venv/bin/python benchmarks/advise_check.py [--seeds 2] [--steps 6000] [--out out/advise_check]

Specs span the objectives with closed-form critical values (spectral, dot and euclidean InfoNCE, Barlow Twins,
SimSiam) and the knobs weight decay, temperature, noise scale and batch size. VICReg and Barlow Twins with the
paper's λ = 0.005 have no closed form: advise scans them with the exact solver (about 20 s per point on 2 cores),
too slow for this check. Data: D = 8, C = diag(4, 3, 2, 1.5, 1, 0.5, 0.25, 0.1) as in sweep_compare.py.
Rows are appended to advise_check.jsonl in --out as they finish (a rerun skips them); the markdown table is
printed at the end and written to advise_check.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

C8 = [4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1]


def cases() -> list[tuple[str, dict, str, int]]:
    """(name, raw spec, knob, K)."""
    def spec(noise: list[float] | None = None, **fields: object) -> dict:
        return {"data": {"cov": C8}, "augmentation": {"noise_cov": noise or [0.5] * 8}, **fields}

    noise = [0.5, 0.5, 5.0, 0.5, 3.0, 0.5, 0.1, 0.5]
    return [
        ("spectral, keep 3 by weight decay", spec(objective="spectral", weight_decay=0.1), "weight_decay", 3),
        ("spectral, keep 6 by weight decay", spec(objective="spectral", weight_decay=5.0), "weight_decay", 6),
        ("spectral depth 2, keep 4 by weight decay", spec(objective="spectral", weight_decay=0.1, depth=2),
         "weight_decay", 4),
        ("InfoNCE dot, keep 5 by weight decay", spec(objective="infonce", similarity="dot", weight_decay=0.1),
         "weight_decay", 5),
        ("InfoNCE dot, keep 3 by temperature", spec(objective="infonce", similarity="dot", weight_decay=0.5),
         "temperature", 3),
        ("InfoNCE dot, keep 6 by temperature", spec(objective="infonce", similarity="dot", weight_decay=0.2,
                                                    temperature=3.0), "temperature", 6),
        ("InfoNCE euclidean clean, keep 4 by noise scale",
         spec(objective="infonce", similarity="euclidean", protocol="clean_negatives", weight_decay=0.2,
              noise=noise), "noise_scale", 4),
        ("InfoNCE euclidean clean, keep 5 by weight decay",
         spec(objective="infonce", similarity="euclidean", protocol="clean_negatives", weight_decay=0.0,
              noise=noise), "weight_decay", 5),
        ("InfoNCE dot, keep 4 by batch size", spec(objective="infonce", similarity="dot", weight_decay=1.1,
                                                   batch_size=64), "batch_size", 4),
        ("Barlow Twins λ=1, keep 4 by weight decay", spec(objective="barlow", barlow_lambda=1.0, weight_decay=0.1),
         "weight_decay", 4),
        ("Barlow Twins λ=1, keep 7 by weight decay", spec(objective="barlow", barlow_lambda=1.0, weight_decay=3.0),
         "weight_decay", 7),
        ("SimSiam dot, keep 3 by weight decay", spec(objective="simsiam", similarity="dot", weight_decay=0.01),
         "weight_decay", 3),
        ("SimSiam dot, keep 6 by weight decay", spec(objective="simsiam", similarity="dot", weight_decay=0.3),
         "weight_decay", 6),
    ]


def run_case(name: str, raw: dict, knob: str, keep: int, seeds: int, steps: int) -> dict:
    from sslscape.compare import compare_training
    from sslscape.knobs import KNOBS
    from sslscape.spec import parse_spec
    from sslscape.theory.advise import _midpoint, advise

    t0 = time.perf_counter()
    spec = parse_spec(raw)
    adv = advise(spec, keep, knob)
    row: dict = {"case": name, "knob": knob, "keep": keep, "order": adv.order, "method": adv.method,
                 "interval": list(adv.interval) if adv.interval else None, "reason": adv.reason}
    if adv.interval is None:
        row.update(value=None, predicted=None, predicted_max=None, trained=[], exact=False, agree=False,
                   wall_s=time.perf_counter() - t0)
        return row
    lo, hi = adv.interval
    if hi is None:  # open-ended: the spec's own value if it is inside, else twice the lower end (InfoNCE at a huge
        # batch would cost O(N²) per step for nothing)
        cur = adv.current_value
        value = cur if cur is not None and cur >= lo and cur > 0 else max(2 * lo, lo + 1)
    else:
        value = _midpoint(lo, hi, knob)
    advised = KNOBS[knob].at(spec, value)
    res = compare_training(advised, seeds=seeds, steps=steps, order="auto")
    # compare's rule: depth ≥ 2 is scored on the predicted [global minimum, metastable] range
    row.update(value=value, predicted=res.alive, predicted_max=res.predicted_range[1],
               trained=list(res.trained_ranks), exact=all(r == keep for r in res.trained_ranks),
               agree=bool(res.agree and res.alive == keep), wall_s=time.perf_counter() - t0)
    return row


def table(rows: list[dict]) -> str:
    lines = ["| case | knob | advised interval | value used | K | predicted (range) | trained (seeds) | agree "
             "(compare's rule) | trained = K |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        iv = r["interval"]
        interval = "none" if iv is None else f"[{iv[0]:.4g}, {'∞' if iv[1] is None else f'{iv[1]:.4g}'})"
        value = "—" if r["value"] is None else f"{r['value']:.4g}"
        rng = r["predicted"] if r.get("predicted_max") in (None, r["predicted"]) else \
            f"{r['predicted']} ({r['predicted']}–{r['predicted_max']})"
        lines.append(f"| {r['case']} | {r['knob']} | {interval} | {value} | {r['keep']} | {rng} | "
                     f"{', '.join(map(str, r['trained']))} | {'yes' if r['agree'] else '**no**'} | "
                     f"{'yes' if r.get('exact') else 'no'} |")
    ok = sum(r["agree"] for r in rows)
    exact = sum(bool(r.get("exact")) for r in rows)
    lines.append(f"\n{ok}/{len(rows)} advised specs agree with training by compare's rule; in {exact}/{len(rows)} "
                 "every seed trained to exactly K.")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6000,
                    help="Adam steps per run (compare's own 3,000 leave directions near a threshold still moving)")
    ap.add_argument("--out", type=Path, default=Path("out/advise_check"))
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "advise_check.jsonl"
    done = {}
    if log.exists():
        for line in log.read_text().splitlines():
            try:
                row = json.loads(line)
                done[row["case"]] = row
            except (json.JSONDecodeError, KeyError):
                pass
    todo = cases()
    rows = []
    for i, (name, raw, knob, keep) in enumerate(todo, 1):
        if name in done:
            rows.append(done[name])
            continue
        row = run_case(name, raw, knob, keep, args.seeds, args.steps)
        rows.append(row)
        with log.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"[{i}/{len(todo)}] {name}: interval {row['interval']} → predicted {row['predicted']}, "
              f"trained {row['trained']} ({row['wall_s']:.1f} s)", file=sys.stderr, flush=True)
    text = table(rows)
    (args.out / "advise_check.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
