"""Phase diagram over augmentation strength × weight decay: theory boundaries drawn over trained ranks.

Claim. InfoNCE with euclidean similarity and clean negatives (τ = 1, N = 256, c = (4, 3, 2, 1.5, 1, 0.5),
S = s·I): direction i survives iff (1 − 1/N)(2c_i − s)/(2τ) > γ, so the boundaries are the straight lines
γ = (1 − 1/N)(c_i − s/2); the plane splits into a no-collapse corner (small s, γ), dimensional-collapse bands
and a complete-collapse region (γ > c_1 − s/2). `sslscape.theory.phase.phase_diagram` computes the grid.

Command:  sslscape reproduce phase_diagram [--quick] --out out/reproduce
Expected: every trained point (markers, coloured by trained rank) lies in the theory cell of the same rank; the
grid points sit at least 0.25 (in γ) away from every boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..report import figures as F
from ..theory.phase import Axis, phase_diagram
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

NAME = "phase_diagram"
CLAIM = ("Augmentation and weight decay together set the phase (none / dimensional / complete): for InfoNCE-"
         "euclidean with clean negatives the boundaries are the lines γ = (1 − 1/N)(c_i − s/2).")
COV = (4.0, 3.0, 2.0, 1.5, 1.0, 0.5)


@dataclass(frozen=True)
class Size:
    gammas: tuple[float, ...]
    scales: tuple[float, ...]
    steps: int
    n_seeds: int
    lr: float = 0.1


QUICK = Size((0.25, 0.75, 1.25, 2.25), (0.0, 1.0, 3.0, 5.0), 1000, 1)
FULL = Size((0.25, 0.75, 1.25, 1.75, 2.25, 3.25), (0.0, 1.0, 2.0, 3.0, 5.0, 7.0), 3000, 2, 0.05)
TINY = Size((0.25, 2.25), (0.0,), 150, 1)


def make_spec(gamma: float = 0.0, scale: float = 1.0):
    return spec_of(objective="infonce", similarity="euclidean", protocol="clean_negatives",
                   data={"cov": list(COV)}, augmentation={"noise_cov": [1.0] * len(COV), "noise_scale": scale},
                   weight_decay=gamma, temperature=1.0, embed_dim=len(COV), batch_size=256)


def train_point(params: dict, seed: int) -> dict:
    t = train_spec(make_spec(params["weight_decay"], params["noise_scale"]), steps=params["steps"], seed=seed,
                   lr=params["lr"])
    return t.summary()


def run(out_dir: str | Path, quick: bool = True, seeds: list[int] | None = None, workers: int = 2,
        use_ray: bool = False, size: Size | None = None) -> ExperimentResult:
    t0, size, seeds_, out = start(NAME, out_dir, quick, seeds, size or (QUICK if quick else FULL))
    grid = [{"weight_decay": g, "noise_scale": s, "steps": size.steps, "lr": size.lr}
            for g in size.gammas for s in size.scales]
    records = sweep_grid(train_point, grid, seeds_, out, workers, use_ray, NAME)
    trained = trained_by_params(records)
    points = []
    for p in grid:
        th = theory_point(make_spec(p["weight_decay"], p["noise_scale"]))
        runs = trained[params_key(p)]
        rank = majority([r["rank"] for r in runs])
        points.append({"params": p, "theory": {k: th[k] for k in ("rank", "phase")}, "trained": runs,
                       "trained_rank": rank, "agree": agrees(th, rank)})
    x_hi, y_hi = max(size.gammas) * 1.15 + 0.1, max(size.scales) * 1.15 + 0.5
    diagram = phase_diagram(make_spec(), Axis("weight_decay", 0.0, x_hi, 120), Axis("noise_scale", 0.0, y_hi, 120))
    fig = _figure(diagram, points, out / f"{NAME}.png")
    unsupported = [{"claim": f"γ = {p['params']['weight_decay']}, s = {p['params']['noise_scale']}: trained rank "
                             f"{p['trained_rank']} vs predicted {p['theory']['rank']}",
                    "reason": "training did not reach the predicted rank"} for p in points if not p["agree"]]
    phases = sorted({p["theory"]["phase"] for p in points})
    summary = f"Grid points cover the phases {phases}; trained rank equals the theory cell's rank where agree."
    return finish(out, NAME, CLAIM, quick, seeds_, points, unsupported, [fig], t0, summary,
                  {"theory_grid": {"x": "weight_decay", "y": "noise_scale", "method": diagram.method}})


def _figure(diagram, points: list[dict], path: Path) -> Path:
    from matplotlib import colormaps

    fig, (ax,) = F.figure(1, width=6.6, height=5.2)
    levels = np.arange(-0.5, diagram.max_rank + 1.5)
    cmap = colormaps["viridis"].resampled(diagram.max_rank + 1)
    mesh = ax.pcolormesh(diagram.x_values, diagram.y_values, diagram.rank, cmap=cmap, vmin=levels[0],
                         vmax=levels[-1], shading="nearest", alpha=0.85)
    bar = fig.colorbar(mesh, ax=ax, ticks=range(diagram.max_rank + 1))
    bar.set_label("rank (theory: colour field; training: marker fill)")
    for i, curve in enumerate(diagram.boundaries):
        ax.plot(curve["x"], curve["y"], color="white", lw=1.0, ls="--",
                label="theory: direction i dies (γ = γ*_i(s))" if i == 0 else None)
    if diagram.phase.min() != diagram.phase.max():
        ax.contour(diagram.x_values, diagram.y_values, diagram.phase, levels=[0.5, 1.5], colors="black",
                   linewidths=2.0)
    for p in points:
        agree = p["agree"]
        ax.scatter(p["params"]["weight_decay"], p["params"]["noise_scale"], s=150, marker="o",
                   color=cmap(p["trained_rank"]), edgecolors=F.DISAGREE if not agree else "white",
                   linewidths=2.5 if not agree else 1.2, zorder=3)
        ax.annotate(str(p["trained_rank"]), (p["params"]["weight_decay"], p["params"]["noise_scale"]),
                    ha="center", va="center", fontsize=7, color="white" if p["trained_rank"] < 4 else "black",
                    zorder=4)
    ax.scatter([], [], s=80, color="gray", edgecolors="white", label="trained rank (marker; number)")
    ax.scatter([], [], s=80, color="gray", edgecolors=F.DISAGREE, linewidths=2.5, label="trained ≠ theory")
    ax.set_xlim(diagram.x_values[0], diagram.x_values[-1])
    ax.set_ylim(diagram.y_values[0], diagram.y_values[-1])
    ax.set_xlabel("weight decay γ (coefficient of γ‖W‖²)")
    ax.set_ylabel("augmentation strength s (noise variance per axis)")
    ax.set_title("InfoNCE, euclidean, clean negatives (τ = 1, N = 256)\n"
                 "black: phase borders (complete | dimensional | none)", fontsize=9)
    ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
    return F.save(fig, path)
