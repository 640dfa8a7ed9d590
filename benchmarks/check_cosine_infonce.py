"""Cosine InfoNCE: the reduced learned-point solver (`predict`'s default, docs/theory.md §14) vs the exact order.

    .venv/bin/python benchmarks/check_cosine_infonce.py [--no-exact]

22 specs (τ 0.1–2, batch 64–1,024 and none, both protocols, weak / strong / shaped noise, d < D, D = 8–12). For each:
the default prediction's point rank and range (the threshold band ±0.02 around ρ_c), ρ_c, p̄, its time (median of
7 warm calls, wall: `agreement_grid._time_default`), the exact order's rank (`predict(spec, order="exact")`) and
whether the range holds it (the one agreement rule). Writes benchmarks/results/cosine_infonce.md. Run it on a
quiet machine: the times are wall.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from sslscape.diagnostics.rank import agreement
from sslscape.spec import parse_spec
from sslscape.theory.predict import predict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agreement_grid import _time_default  # noqa: E402  (one timing rule for every theory benchmark)

C8 = [4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1]
SHAPED = [0.5, 0.5, 5.0, 0.5, 3.0, 0.5, 0.1, 0.5]
OUT = Path(__file__).resolve().parent / "results" / "cosine_infonce.md"


def _spec(**kw: object) -> dict:
    cov = kw.pop("cov", C8)
    raw = {"objective": "infonce", "similarity": "cosine", "weight_decay": 0.01, "data": {"cov": cov},
           "augmentation": {"noise_cov": kw.pop("noise", [0.5] * len(cov))}}
    raw.update(kw)
    return raw


SPECS: list[tuple[str, dict]] = [
    ("sweep γ=0.01 τ=0.5", _spec(temperature=0.5)), ("sweep γ=0.05 τ=0.5", _spec(temperature=0.5, weight_decay=0.05)),
    ("τ=0.1", _spec(temperature=0.1)), ("τ=0.2", _spec(temperature=0.2)), ("τ=1", _spec(temperature=1.0)),
    ("τ=2", _spec(temperature=2.0)), ("τ=0.5 N=64", _spec(temperature=0.5, batch_size=64)),
    ("τ=0.5 N=1024", _spec(temperature=0.5, batch_size=1024)), ("τ=0.2 N=64", _spec(temperature=0.2, batch_size=64)),
    ("τ=0.1 N=256", _spec(temperature=0.1, batch_size=256)),
    ("τ=0.5 clean", _spec(temperature=0.5, protocol="clean_negatives")),
    ("τ=1 clean", _spec(temperature=1.0, protocol="clean_negatives")),
    ("τ=0.2 clean N=128", _spec(temperature=0.2, protocol="clean_negatives", batch_size=128)),
    ("τ=0.5 noise 2", _spec(temperature=0.5, noise=[2.0] * 8)),
    ("τ=0.5 noise 0.1", _spec(temperature=0.5, noise=[0.1] * 8)),
    ("τ=0.5 noise shaped", _spec(temperature=0.5, noise=SHAPED)),
    ("τ=0.5 d=3", _spec(temperature=0.5, embed_dim=3)), ("τ=0.2 d=5", _spec(temperature=0.2, embed_dim=5)),
    ("τ=0.5 flat C12", _spec(temperature=0.5, cov=[4.0] * 11 + [0.12], noise=[0.01] * 12, batch_size=512)),
    ("τ=0.3 geometric D=10", _spec(temperature=0.3, cov=[2.0 * 0.6**i for i in range(10)], noise=[0.3] * 10,
                                   batch_size=256)),
    ("τ=1.5 clean shaped", _spec(temperature=1.5, protocol="clean_negatives", noise=SHAPED)),
    ("τ=0.7 N=128 noise 1", _spec(temperature=0.7, batch_size=128, noise=[1.0] * 8)),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-exact", action="store_true", help="skip the exact order (seconds per spec)")
    args = ap.parse_args()
    lines = ["| spec | default: point (range) | ρ_c | p̄ | ms (median warm) | exact order | range holds it |",
             "|---|---|---|---|---|---|---|"]
    ok, times = 0, []
    load0 = os.getloadavg()[0]
    for name, raw in SPECS:
        spec = parse_spec(raw)
        pred, ms, _, _ = _time_default(spec)  # median of warm calls, wall ms
        times.append(ms)
        rho_c = next((n.split("ρ_c = ")[1].split(",")[0] for n in pred.notes if "ρ_c = " in n), "—")
        exact = "—" if args.no_exact else predict(spec, order="exact").rank
        holds = "—" if args.no_exact else agreement(pred.spectrum, exact, predicted_rank_max=pred.rank_max).agree
        ok += holds is True
        band = f"{pred.rank}" + (f" ({pred.rank}–{pred.rank_max})" if pred.rank_max > pred.rank else "")
        lines.append(f"| {name} | {band} | {rho_c} | {pred.positive_weight:.4f} | {ms:.1f} | {exact} | "
                     f"{'yes' if holds is True else holds if holds == '—' else '**no**'} |")
        print(lines[-1], flush=True)
    lines.append(f"\nRange holds the exact order's rank: {ok}/{len(SPECS)}. Default order per spec: median "
                 f"{statistics.median(times):.1f} ms, max {max(times):.1f} ms (wall, warm). Load average "
                 f"{load0:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; {time.strftime('%Y-%m-%d %H:%M')}.")
    OUT.write_text("\n".join(lines) + "\n")
    print(lines[-1])


if __name__ == "__main__":
    main()
