"""Issue 22, deliverable 3: three kinds of spec the earlier default order got wrong, against training.

    .venv/bin/python benchmarks/check_issue22_kinds.py [--kind a|b|c|all] [--seeds 3] [--only SUBSTRING]

(a) cosine InfoNCE at low temperature with zero-signal input directions (c_k = 0, s_k > 0): the reduced solver now
    considers them (docs/theory.md §14.6). Per spec: the predicted rank of W C Wᵀ (what compare measures) and the
    predicted number of *used* input directions (the rank of WᵀW, zero-signal ones included; the earlier solver's
    count is the signal count), against each trained seed's collapse rank and used inputs, and the share of Tr WᵀW
    on the zero-signal directions. Both rotation-invariant (the zero-signal directions are degenerate: training may
    spread one row of noise over all of them): the collapse rank of WᵀW's spectrum, Tr G₀/Tr G.
(b) deep linear encoders (depth 2–3, spectral and dot InfoNCE, weight decay) from init scales 0.05–2
    (`spec.init_scale`): the rank reached from the trainer's start with its seed range (§6.1, solver deep_start)
    against training; the earlier answer (order quartic: [global minimum, locally stable]) beside it.
(c) finite-batch InfoNCE, euclidean similarity, clean negatives, equal strong directions and a weak one (N 64–1024):
    the euclidean learned point (§5.1) against training; the earlier default (order quartic) beside it.

Training is `sslscape.compare.compare_training` (the project's trainer and compare's recipe: Adam, cosine schedule,
3,000 steps, seeds retrained with 2× and 4× the steps while their rank still moves) for (b) and (c), and the same
recipe through `sslscape.training.train` for (a) (to read W). Agreement is the one rule
(`sslscape.diagnostics.rank.agreement` through compare: the measured rank inside the predicted range).
Prediction times: `agreement_grid._time_default` (median of 7 warm calls, wall and CPU ms).
Writes benchmarks/results/issue22_kinds.md (a table per kind) and prints it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from sslscape.spec import Spec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agreement_grid import _time_default  # noqa: E402  (one timing rule for every theory benchmark)

OUT = Path(__file__).resolve().parent / "results" / "issue22_kinds.md"
C8 = [4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1]


def _cosine(cov: list[float], noise: list[float], tau: float, n: int, **kw: Any) -> dict:
    return {"objective": "infonce", "similarity": "cosine", "data": {"cov": cov},
            "augmentation": {"noise_cov": noise}, "weight_decay": 1e-3, "temperature": tau, "batch_size": n, **kw}


KIND_A: list[tuple[str, dict]] = [
    ("C5+3 zero τ=0.1 N=256", _cosine([4, 3, 2, 1, 0.5, 0, 0, 0], [1.0] * 8, 0.1, 256)),
    ("C5+3 zero τ=0.2 N=256", _cosine([4, 3, 2, 1, 0.5, 0, 0, 0], [1.0] * 8, 0.2, 256)),
    ("C5+3 zero τ=0.5 N=256", _cosine([4, 3, 2, 1, 0.5, 0, 0, 0], [1.0] * 8, 0.5, 256)),
    ("C4+2 zero loud τ=0.08 N=512", _cosine([4, 2, 1, 0.5, 0, 0], [0.5, 0.5, 0.5, 0.5, 2.0, 2.0], 0.08, 512)),
    ("C3+5 zero τ=0.1 N=1024", _cosine([3, 3, 1, 0, 0, 0, 0, 0], [0.5] * 8, 0.1, 1024)),
    ("C5+3 zero τ=0.1 d=6", _cosine([4, 3, 2, 1, 0.5, 0, 0, 0], [1.0] * 8, 0.1, 256, embed_dim=6)),
    ("C5+3 zero τ=0.15 weak-noise", _cosine([4, 3, 2, 1, 0.5, 0, 0, 0], [1, 1, 1, 1, 1, 0.2, 0.2, 0.2], 0.15, 512)),
    ("C5+3 zero τ=0.1 clean", _cosine([4, 3, 2, 1, 0.5, 0, 0, 0], [1.0] * 8, 0.1, 256, protocol="clean_negatives")),
]


def _deep(objective: str, depth: int, gamma: float, scale: float, **kw: Any) -> dict:
    return {"objective": objective, "data": {"cov": C8}, "augmentation": {"noise_cov": [0.5] * 8},
            "weight_decay": gamma, "depth": depth, "init_scale": scale, **kw}


KIND_B: list[tuple[str, dict]] = (
    [(f"spectral L=2 γ=0.5 s={s:g}", _deep("spectral", 2, 0.5, s)) for s in (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)]
    + [(f"spectral L=3 γ=0.2 s={s:g}", _deep("spectral", 3, 0.2, s)) for s in (0.05, 0.1, 0.3, 1.0, 2.0)]
    + [(f"infonce L=2 γ=0.3 τ=0.5 s={s:g}", _deep("infonce", 2, 0.3, s, temperature=0.5)) for s in (0.1, 0.3, 1.0)]
    + [(f"infonce L=3 γ=0.15 τ=0.5 s={s:g}", _deep("infonce", 3, 0.15, s, temperature=0.5))
       for s in (0.1, 0.5, 1.0)]
    # the pattern: a small start stays at W = 0 where the global minimum keeps 2–5
    + [("spectral L=3 γ=0.4 s=0.1 (W=0)", _deep("spectral", 3, 0.4, 0.1)),
       ("infonce L=3 γ=0.2 τ=0.5 s=0.05 (W=0)", _deep("infonce", 3, 0.2, 0.05, temperature=0.5)),
       ("infonce L=3 γ=0.2 τ=0.5 s=1 (W=0)", _deep("infonce", 3, 0.2, 1.0, temperature=0.5))]
)


def _euclid(strong: float, k: int, weak: list[float], noise: float, tau: float, gamma: float, n: int) -> dict:
    cov = [strong] * k + weak
    return {"objective": "infonce", "similarity": "euclidean", "protocol": "clean_negatives", "data": {"cov": cov},
            "augmentation": {"noise_cov": [noise] * len(cov)}, "weight_decay": gamma, "temperature": tau,
            "batch_size": n}


KIND_C: list[tuple[str, dict]] = [
    ("5×4 + 0.42, N=512 (issue 22)", _euclid(4.0, 5, [0.42], 0.5, 1.0, 0.1, 512)),
    ("5×4 + 0.42, N=64", _euclid(4.0, 5, [0.42], 0.5, 1.0, 0.1, 64)),
    ("5×4 + 0.45, N=1024", _euclid(4.0, 5, [0.45], 0.5, 1.0, 0.1, 1024)),
    ("5×4 + 0.38, N=512", _euclid(4.0, 5, [0.38], 0.5, 1.0, 0.1, 512)),
    ("5×4 + 1.0, N=512", _euclid(4.0, 5, [1.0], 0.5, 1.0, 0.1, 512)),
    ("3×2 + 0.3, τ=0.5 N=256", _euclid(2.0, 3, [0.3], 0.3, 0.5, 0.1, 256)),
    ("3×4 + 2×2 + 0.45, N=512", _euclid(4.0, 3, [2.0, 2.0, 0.45], 0.5, 1.0, 0.1, 512)),
]


def _fmt_range(lo: int, hi: int) -> str:
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def kind_a(seeds: int, only: str) -> list[str]:
    from sslscape.compare import compare_config
    from sslscape.diagnostics.rank import agreement, collapse_rank
    from sslscape.moments import moments_of
    from sslscape.theory.cosine_infonce import cosine_infonce_prediction
    from sslscape.training.loop import train

    lines = ["| spec | predicted rank (W C Wᵀ) | trained ranks | agree | predicted used inputs (earlier: signal "
             "count) | trained used inputs | noise share Tr G₀/Tr G: predicted, trained | ms (wall / CPU) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, raw in KIND_A:
        if only not in name:
            continue
        spec = Spec.model_validate(raw)
        pred, wall, cpu, _ = _time_default(spec)
        sol = cosine_infonce_prediction(spec, moments_of(spec))
        assert sol is not None
        pred_noise = float(sol.gains[sol.c <= 0].sum() / sol.gains.sum())
        ranks, used, noise = [], [], []
        for seed in range(seeds):
            res = train(compare_config(spec, spec.seed + seed), None)
            w = res.model.effective_weight().detach().double().numpy()
            gram = w.T @ w                      # G = WᵀW; the data covariance is diagonal: coordinates = directions
            ranks.append(res.rank)
            used.append(collapse_rank(np.linalg.eigvalsh(gram)[::-1]))  # rank of G (rotation-invariant)
            zero = np.asarray(raw["data"]["cov"]) <= 0
            noise.append(float(np.trace(gram[np.ix_(zero, zero)]) / np.trace(gram)))  # the zero-signal share
        agree = all(agreement(pred.spectrum, r, predicted_rank_max=pred.alive_max,
                              predicted_rank_min=pred.alive_min).agree for r in ranks)
        earlier = min(int((sol.c > 0).sum()), spec.embed_dim or sol.c.size)  # the signal count
        lines.append(f"| {name} | {_fmt_range(*pred.rank_range)} | {', '.join(map(str, ranks))} | "
                     f"{'yes' if agree else 'NO'} | {_fmt_range(sol.used, sol.used_max)} ({earlier}) "
                     f"| {', '.join(map(str, used))} | {pred_noise:.2f}; {', '.join(f'{v:.2f}' for v in noise)} | "
                     f"{wall:.0f} / {cpu:.0f} |")
        print(lines[-1], flush=True)
    return lines


def _compare_rows(specs: list[tuple[str, dict]], seeds: int, only: str, earlier: str) -> list[str]:
    from sslscape.compare import compare_training
    from sslscape.diagnostics.rank import agreement
    from sslscape.theory.predict import predict

    lines = ["| spec | predicted (range) | solver | trained ranks (steps) | agree | earlier: " + earlier
             + " range, agree | ms (wall / CPU) |", "|---|---|---|---|---|---|---|"]
    for name, raw in specs:
        if only not in name:
            continue
        spec = Spec.model_validate(raw)
        pred, wall, cpu, _ = _time_default(spec)
        old = predict(spec, "quartic")
        res = compare_training(spec, seeds=seeds)
        old_agree = all(agreement(old.spectrum, r, predicted_rank_max=old.alive_max,
                                  predicted_rank_min=old.alive_min).agree for r in res.trained_ranks)
        steps = "" if len(set(res.trained_steps)) <= 1 else f" ({', '.join(map(str, res.trained_steps))})"
        lines.append(f"| {name} | {pred.rank} ({_fmt_range(*pred.rank_range)}) | {pred.solver} | "
                     f"{', '.join(map(str, res.trained_ranks))}{steps} | {'yes' if res.agree else 'NO'} | "
                     f"{_fmt_range(*old.rank_range)}, {'yes' if old_agree else 'no'} | {wall:.0f} / {cpu:.0f} |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", default="all", choices=["a", "b", "c", "all"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    os.environ.setdefault("SSLSCAPE_THREADS", "1")
    t0 = time.time()
    out = [f"# Issue 22: three kinds — {time.strftime('%Y-%m-%d %H:%M')}, {args.seeds} seeds", ""]
    if args.kind in ("a", "all"):
        out += ["## (a) cosine InfoNCE, zero-signal directions (§14.6)", "", *kind_a(args.seeds, args.only), ""]
    if args.kind in ("b", "all"):
        out += ["## (b) depth 2–3 from the trainer's start (§6.1)", "",
                *_compare_rows(KIND_B, args.seeds, args.only, "quartic [global, locally stable]"), ""]
    if args.kind in ("c", "all"):
        out += ["## (c) euclidean InfoNCE, clean negatives, finite batch (§5.1)", "",
                *_compare_rows(KIND_C, args.seeds, args.only, "quartic"), ""]
    out.append(f"wall {time.time() - t0:.0f} s")
    OUT.parent.mkdir(exist_ok=True)
    suffix = "" if args.kind == "all" and not args.only else f"_{args.kind}"
    target = OUT.with_name(OUT.stem + suffix + OUT.suffix)
    target.write_text("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
