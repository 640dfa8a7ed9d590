"""A bias (or a non-zero data mean) can take an embedding dimension away from the data.

Claim. Spectral loss, c = (4, 3, 2, 1.5, 1, 0.5), S = I, γ = 1.5 (five directions would survive), embedding
dimension d = 3 (the bottleneck), data mean μ = m·(1, …, 1):
  * bias on: the constant input coordinate has second moment 1 and is not decayed, so the bias always grows and
    spends one of the d = 3 embedding dimensions on a constant: the rank of Cov(z) is 2 for every m;
  * bias off: the mean direction enters A = 2E[x xᵀ] = 2(C + μμᵀ) and, as m grows, takes over the third
    embedding dimension: its variance along the data (3rd eigenvalue of Cov(z)) shrinks towards 0 (rank 3 with
    a vanishing third eigenvalue).

Command:  sslscape reproduce bias [--quick] --out out/reproduce
Expected: trained ranks equal the closed form's; the trained third eigenvalue follows the theory curve.
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

NAME = "bias"
CLAIM = ("A bias takes an embedding dimension (rank d − 1 for every data mean); without a bias a large data mean "
         "takes it instead (the third eigenvalue of Cov(z) shrinks as the mean grows).")
COV = (4.0, 3.0, 2.0, 1.5, 1.0, 0.5)
EMBED = 3


@dataclass(frozen=True)
class Size:
    means: tuple[float, ...]
    steps: int
    n_seeds: int
    lr: float = 0.05


QUICK = Size((0.0, 1.0, 3.0), 1500, 1)
FULL = Size((0.0, 0.5, 1.0, 2.0, 3.0, 5.0), 4000, 3, 0.03)
TINY = Size((0.0,), 100, 1)


def make_spec(mean: float, bias: bool):
    return spec_of(objective="spectral", data={"cov": list(COV), "mean": [mean] * len(COV)},
                   augmentation={"noise_cov": [1.0] * len(COV)}, weight_decay=1.5, embed_dim=EMBED, bias=bias,
                   batch_size=256)


def train_point(params: dict, seed: int) -> dict:
    t = train_spec(make_spec(params["mean"], params["bias"]), steps=params["steps"], seed=seed, lr=params["lr"])
    return {**t.summary(), "bias_norm": None if t.bias is None else float(np.linalg.norm(t.bias))}


def run(out_dir: str | Path, quick: bool = True, seeds: list[int] | None = None, workers: int = 2,
        use_ray: bool = False, size: Size | None = None) -> ExperimentResult:
    t0, size, seeds_, out = start(NAME, out_dir, quick, seeds, size or (QUICK if quick else FULL))
    grid = [{"mean": m, "bias": b, "steps": size.steps, "lr": size.lr} for b in (False, True) for m in size.means]
    records = sweep_grid(train_point, grid, seeds_, out, workers, use_ray, NAME)
    trained = trained_by_params(records)
    points = []
    for p in grid:
        th = theory_point(make_spec(p["mean"], p["bias"]))
        runs = trained[params_key(p)]
        rank = majority([r["rank"] for r in runs])
        third = float(np.mean([r["spectrum"][EMBED - 1] for r in runs]))
        points.append({"params": p, "theory": {"rank": th["rank"], "spectrum": th["spectrum"],
                                               "third_eigenvalue": th["spectrum"][EMBED - 1]},
                       "trained": runs, "trained_rank": rank, "trained_third_eigenvalue": third,
                       "agree": agrees(th, rank)})
    fig = _figure(points, size, out / f"{NAME}.png")
    unsupported = [{"claim": f"mean {p['params']['mean']}, bias {p['params']['bias']}: trained rank "
                             f"{p['trained_rank']} vs predicted {p['theory']['rank']}",
                    "reason": "training did not reach the predicted rank"} for p in points if not p["agree"]]
    on = [p["trained_rank"] for p in points if p["params"]["bias"]]
    off = [round(p["trained_third_eigenvalue"], 4) for p in points if not p["params"]["bias"]]
    summary = (f"Bias on: trained ranks {on} (d = {EMBED}). Bias off: trained third eigenvalue {off} over means "
               f"{list(size.means)}.")
    return finish(out, NAME, CLAIM, quick, seeds_, points, unsupported, [fig], t0, summary)


def _figure(points: list[dict], size: Size, path: Path) -> Path:
    fig, (ax, ax2) = F.figure(2)
    fine = np.linspace(0, max(size.means) * 1.05 + 0.1, 40)
    for i, bias in enumerate((False, True)):
        label = "bias on" if bias else "bias off"
        th = [theory_point(make_spec(float(m), bias))["spectrum"][EMBED - 1] for m in fine]
        F.theory_line(ax, fine, th, i, f"{label}: theory")
        pts = [p for p in points if p["params"]["bias"] == bias]
        xs = [p["params"]["mean"] for p in pts]
        for r_i in range(len(pts[0]["trained"])):
            F.trained_markers(ax, xs, [p["trained"][r_i]["spectrum"][EMBED - 1] for p in pts], i,
                              f"{label}: trained" if r_i == 0 else None, agree=[p["agree"] for p in pts])
            F.trained_markers(ax2, xs, [p["trained"][r_i]["rank"] for p in pts], i,
                              f"{label}: trained" if r_i == 0 else None, agree=[p["agree"] for p in pts],
                              offset=0.04 * (i - 0.5))
        F.theory_line(ax2, xs, [p["theory"]["rank"] for p in pts], i, f"{label}: theory", step=True)
    ax.set_xlabel("data mean m (μ = m·1)")
    ax.set_ylabel("3rd eigenvalue of Cov(z) (embedding variance)")
    ax.set_title(f"the embedding dimension at stake (d = {EMBED})", fontsize=9)
    F.legend(ax, fontsize=7)
    ax2.set_xlabel("data mean m (μ = m·1)")
    ax2.set_ylabel("rank of the embedding covariance")
    ax2.set_ylim(-0.2, EMBED + 0.5)
    ax2.set_title("rank: the bias spends one dimension on a constant", fontsize=9)
    F.legend(ax2, loc="lower left", fontsize=7)
    return F.save(fig, path)
