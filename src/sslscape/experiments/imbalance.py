"""Data imbalance: the minority class's direction is the first to die, and non-contrastive Barlow loses it first.

Setting. Three classes with means 2·e_1, 2·e_2, 2·e_3 in R⁴ (within-class variance 0.2 on every axis); the
third class has weight w and the others share 1 − w. The theory takes the mixture's mean and total covariance
C = Σ_k w_k μ_k μ_kᵀ − μ̄μ̄ᵀ + 0.2·I: the minority direction carries variance ≈ 4w(1 − w) + 0.2, which falls with w.
  * spectral (contrastive, γ = 1): a direction survives iff its eigenvalue of A = 2(C + μ̄μ̄ᵀ) exceeds γ; the
    minority direction dies once w is small enough;
  * Barlow Twins on raw embeddings (non-contrastive, λ = 0.005): the rows stack onto the top directions
    (rank far below the count of eigenvalues above γ/2) — the minority direction is lost at a milder imbalance
    (w = 0.1 here) than with the spectral loss.
Downstream: kNN accuracy on the minority class (balanced test set, bank drawn from the imbalanced data), for the
trained W and for the theory's minimiser W*.

Command:  sslscape reproduce imbalance [--quick] --out out/reproduce
Expected: trained ranks equal the theory's; minority-class accuracy collapses where its direction dies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..moments import moments_of
from ..report import figures as F
from ..theory import landscape, minimum
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
from ._training import knn_accuracy_np, train_spec

NAME = "imbalance"
CLAIM = ("As class imbalance grows the minority class's direction collapses first (contrastive spectral loss: "
         "once its variance falls below γ/2); raw Barlow Twins (non-contrastive, λ < 1) loses it at a milder "
         "imbalance; minority-class accuracy follows the surviving directions.")
SEP, WITHIN, DIM = 2.0, 0.2, 4
MEANS = [[SEP if j == k else 0.0 for j in range(DIM)] for k in range(3)]
CASES = {"spectral": dict(objective="spectral", weight_decay=1.0),
         "barlow-raw": dict(objective="barlow", normalization="none", barlow_lambda=0.005, weight_decay=1.0)}


@dataclass(frozen=True)
class Size:
    minority: tuple[float, ...]
    cases: tuple[str, ...]
    steps: int
    n_seeds: int
    lr: float = 0.05


QUICK = Size((1 / 3, 0.1, 0.03), tuple(CASES), 1500, 1)
FULL = Size((1 / 3, 0.2, 0.1, 0.05, 0.03, 0.01), tuple(CASES), 4000, 3, 0.03)
TINY = Size((1 / 3,), ("spectral",), 100, 1)


def class_weights(w: float) -> list[float]:
    return [(1 - w) / 2, (1 - w) / 2, w]


def mixture_moments(w: float) -> tuple[np.ndarray, np.ndarray]:
    p, m = np.asarray(class_weights(w)), np.asarray(MEANS)
    mean = p @ m
    cov = (m.T * p) @ m - np.outer(mean, mean) + WITHIN * np.eye(DIM)
    return mean, cov


def make_spec(case: str, w: float | None = None):
    if w is None:  # within-class Gaussian for the trainer's mixture source
        data = {"cov": [WITHIN] * DIM}
    else:
        mean, cov = mixture_moments(w)
        data = {"cov": cov.tolist(), "mean": mean.tolist()}
    return spec_of(**CASES[case], data=data, augmentation={"noise_cov": [0.2] * DIM}, embed_dim=DIM,
                   batch_size=256)


def samples(n: int, weights: list[float], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=np.asarray(weights) / np.sum(weights))
    return np.asarray(MEANS)[y] + np.sqrt(WITHIN) * rng.standard_normal((n, DIM)), y


def minority_accuracy(weight: np.ndarray, w: float, seed: int) -> float:
    xb, yb = samples(3000, class_weights(w), 10_000 + seed)
    xt, yt = samples(900, [1, 1, 1], 20_000 + seed)
    keep = yt == 2
    return knn_accuracy_np(xb @ weight.T, yb, xt[keep] @ weight.T, yt[keep])


def train_point(params: dict, seed: int) -> dict:
    data = {"source": "mixture", "class_means": MEANS, "class_weights": class_weights(params["minority"])}
    t = train_spec(make_spec(params["case"]), steps=params["steps"], seed=seed, lr=params["lr"], data=data)
    return {**t.summary(), "minority_knn": minority_accuracy(t.weight, params["minority"], seed)}


def run(out_dir: str | Path, quick: bool = True, seeds: list[int] | None = None, workers: int = 2,
        use_ray: bool = False, size: Size | None = None) -> ExperimentResult:
    t0, size, seeds_, out = start(NAME, out_dir, quick, seeds, size or (QUICK if quick else FULL))
    grid = [{"case": c, "minority": round(w, 6), "steps": size.steps, "lr": size.lr}
            for c in size.cases for w in size.minority]
    records = sweep_grid(train_point, grid, seeds_, out, workers, use_ray, NAME)
    trained = trained_by_params(records)
    points = []
    for p in grid:
        spec = make_spec(p["case"], p["minority"])
        th = theory_point(spec)
        w_star = minimum(landscape(spec, moments_of(spec))).weights
        runs = trained[params_key(p)]
        rank = majority([r["rank"] for r in runs])
        points.append({"params": p, "theory": {"rank": th["rank"], "spectrum": th["spectrum"],
                                               "minority_knn": minority_accuracy(w_star, p["minority"], 0)},
                       "trained": runs, "trained_rank": rank,
                       "trained_minority_knn": float(np.mean([r["minority_knn"] for r in runs])),
                       "agree": agrees(th, rank)})
    fig = _figure(points, size, out / f"{NAME}.png")
    unsupported = [{"claim": f"{p['params']['case']} at minority weight {p['params']['minority']:.3g}: trained rank "
                             f"{p['trained_rank']} vs predicted {p['theory']['rank']}",
                    "reason": "training did not reach the predicted rank within the step budget"}
                   for p in points if not p["agree"]]
    summary = "Minority-class kNN accuracy (theory / trained): " + "; ".join(
        f"{p['params']['case']} w={p['params']['minority']:.2g}: {p['theory']['minority_knn']:.2f} / "
        f"{p['trained_minority_knn']:.2f}" for p in points) + "."
    return finish(out, NAME, CLAIM, quick, seeds_, points, unsupported, [fig], t0, summary)


def _figure(points: list[dict], size: Size, path: Path) -> Path:
    fig, (ax, ax2) = F.figure(2)
    for i, case in enumerate(size.cases):
        pts = [p for p in points if p["params"]["case"] == case]
        xs = [p["params"]["minority"] for p in pts]
        F.theory_line(ax, xs, [p["theory"]["rank"] for p in pts], i, f"{case}: theory", marker="")
        F.trained_markers(ax, xs, [p["trained_rank"] for p in pts], i, f"{case}: trained",
                          agree=[p["agree"] for p in pts])
        F.theory_line(ax2, xs, [p["theory"]["minority_knn"] for p in pts], i, f"{case}: theory (W*)", marker="")
        F.trained_markers(ax2, xs, [p["trained_minority_knn"] for p in pts], i, f"{case}: trained",
                          agree=[p["agree"] for p in pts])
    for a in (ax, ax2):
        a.set_xscale("log")
        a.set_xlabel("minority class weight w (log scale)")
    ax.set_ylabel("rank of the embedding covariance")
    ax.set_ylim(-0.2, DIM + 0.5)
    ax.set_title("surviving directions vs imbalance", fontsize=9)
    F.legend(ax, fontsize=7, loc="lower right")
    ax2.set_ylabel("minority-class kNN accuracy (fraction correct)")
    ax2.set_ylim(-0.05, 1.05)
    ax2.set_title("minority-class accuracy vs imbalance", fontsize=9)
    F.legend(ax2, fontsize=7, loc="lower right")
    return F.save(fig, path)
