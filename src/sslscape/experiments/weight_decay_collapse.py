"""Weight decay drives dimensional collapse, then complete collapse; the critical values are per direction.

Claim. With data variances c = (4, 3, 2, 1.5, 1, 0.5) and mild augmentation (S = I):
  * spectral loss: direction i dies at γ*_i = 2c_i = (8, 6, 4, 3, 2, 1) — exactly (the population loss is quartic);
  * InfoNCE, dot similarity (τ = 1, N = 256): γ*_i = (1 − p̄)c_i/τ ≈ c_i = (4, 3, 2, 1.5, 1, 0.5) at quartic order.
As γ grows the rank falls one direction at a time (dimensional collapse) until every direction is gone
(complete collapse) above γ*_1.

Command:  sslscape reproduce weight_decay_collapse [--quick] --out out/reproduce
Expected: trained ranks match the predicted staircase at every γ (grid points kept away from the γ*_i); the
figure shows the rank staircases with the critical values as dotted lines and the phase bands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..report import figures as F
from ._common import (
    ExperimentResult,
    finish,
    majority,
    params_key,
    spec_of,
    start,
    sweep_grid,
    trained_by_params,
)
from ._theory import agrees, theory_point
from ._training import train_spec

NAME = "weight_decay_collapse"
CLAIM = ("Weight decay causes dimensional collapse (the rank falls one direction at a time, at critical values "
         "γ*_i = 2c_i for the spectral loss and ≈ c_i/τ for InfoNCE-dot) and complete collapse above the largest.")
COV = (4.0, 3.0, 2.0, 1.5, 1.0, 0.5)
CASES = {
    "spectral": dict(objective="spectral"),
    "infonce-dot": dict(objective="infonce", similarity="dot", protocol="augmented_negatives"),
}
GAMMAS = {"spectral": (0.5, 1.5, 2.5, 5.0, 7.0, 9.0), "infonce-dot": (0.25, 0.75, 1.25, 2.5, 3.5, 4.5)}
GAMMAS_FULL = {"spectral": (0.25, 0.5, 1.5, 2.5, 3.5, 5.0, 7.0, 9.0, 10.0),
               "infonce-dot": (0.1, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 4.5, 5.0)}


@dataclass(frozen=True)
class Size:
    gammas: dict
    steps: int
    n_seeds: int
    lr: float = 0.1


QUICK = Size(GAMMAS, 1000, 1)
FULL = Size(GAMMAS_FULL, 3000, 3, 0.05)
TINY = Size({"spectral": (0.5, 9.0)}, 150, 1)


def make_spec(case: str, gamma: float):
    return spec_of(**CASES[case], data={"cov": list(COV)}, augmentation={"noise_cov": [1.0] * len(COV)},
                   weight_decay=gamma, temperature=1.0, embed_dim=len(COV), batch_size=256)


def train_point(params: dict, seed: int) -> dict:
    t = train_spec(make_spec(params["case"], params["weight_decay"]), steps=params["steps"], seed=seed,
                   lr=params["lr"])
    return t.summary()


def _critical_from_training(gammas: list[float], ranks: list[int], k: int) -> float | None:
    """Midpoint between the last γ where rank ≥ k and the next γ (where it is < k); None if not bracketed."""
    for g0, g1, r0, r1 in zip(gammas, gammas[1:], ranks, ranks[1:], strict=False):
        if r0 >= k > r1:
            return 0.5 * (g0 + g1)
    return None


def run(out_dir: str | Path, quick: bool = True, seeds: list[int] | None = None, workers: int = 2,
        use_ray: bool = False, size: Size | None = None) -> ExperimentResult:
    t0, size, seeds_, out = start(NAME, out_dir, quick, seeds, size or (QUICK if quick else FULL))
    grid = [{"case": c, "weight_decay": g, "steps": size.steps, "lr": size.lr}
            for c, gs in size.gammas.items() for g in gs]
    records = sweep_grid(train_point, grid, seeds_, out, workers, use_ray, NAME)
    trained = trained_by_params(records)
    points = []
    for p in grid:
        th = theory_point(make_spec(p["case"], p["weight_decay"]))
        runs = trained[params_key(p)]
        rank = majority([r["rank"] for r in runs])
        points.append({"params": p, "theory": {k: th[k] for k in ("rank", "phase", "spectrum")},
                       "critical_weight_decay": th["thresholds"]["weight_decay"], "trained": runs,
                       "trained_rank": rank, "trained_phase": _phase(rank), "agree": agrees(th, rank)})
    critical = {}
    for case in size.gammas:
        pts = [p for p in points if p["params"]["case"] == case]
        gs, rs = [p["params"]["weight_decay"] for p in pts], [p["trained_rank"] for p in pts]
        critical[case] = {"theory": pts[0]["critical_weight_decay"],
                          "trained_bracket_midpoint": [_critical_from_training(gs, rs, k)
                                                       for k in range(1, len(COV) + 1)]}
    fig = _figure(points, size, critical, out / f"{NAME}.png")
    unsupported = [{"claim": f"{p['params']['case']} at γ = {p['params']['weight_decay']}: trained rank "
                             f"{p['trained_rank']} vs predicted {p['theory']['rank']}",
                    "reason": "training did not reach the predicted rank"} for p in points if not p["agree"]]
    phases = {c: [p["trained_phase"] for p in points if p["params"]["case"] == c] for c in size.gammas}
    summary = ("Trained phases as γ grows: " + "; ".join(f"{c}: {' → '.join(dict.fromkeys(v))}"
                                                          for c, v in phases.items()) + ".")
    return finish(out, NAME, CLAIM, quick, seeds_, points, unsupported, [fig], t0, summary,
                  {"critical_weight_decay": critical})


def _phase(rank: int) -> str:
    return "complete" if rank == 0 else ("none" if rank >= len(COV) else "dimensional")


def _figure(points: list[dict], size: Size, critical: dict, path: Path) -> Path:
    fig, axes = F.figure(len(size.gammas))
    for i, (case, ax) in enumerate(zip(size.gammas, axes, strict=True)):
        pts = [p for p in points if p["params"]["case"] == case]
        crit = np.asarray(critical[case]["theory"], float)
        hi = max(max(p["params"]["weight_decay"] for p in pts), crit.max()) * 1.1
        fine = np.linspace(0, hi, 400)
        F.theory_line(ax, fine, [int(np.sum(crit > g)) for g in fine], i, "theory rank (closed form)")
        for g in crit:
            ax.axvline(g, color="gray", ls=":", lw=0.8)
        for r_i in range(len(pts[0]["trained"])):
            F.trained_markers(ax, [p["params"]["weight_decay"] for p in pts], [p["trained"][r_i]["rank"] for p in pts],
                              i, "trained (Adam + L2)" if r_i == 0 else None,
                              agree=[p["trained"][r_i]["rank"] == p["theory"]["rank"] for p in pts])
        ax.axvspan(crit.max(), hi, color="0.9", zorder=0, label="complete collapse (theory)")
        ax.set_xlim(0, hi)
        ax.set_ylim(-0.3, len(COV) + 0.5)
        ax.set_xlabel("weight decay γ (coefficient of γ‖W‖²)")
        ax.set_ylabel("rank of the embedding covariance")
        ax.set_title(f"{case}: dotted lines = critical γ*_i", fontsize=9)
        F.legend(ax, loc="upper right", fontsize=7)
    return F.save(fig, path)
