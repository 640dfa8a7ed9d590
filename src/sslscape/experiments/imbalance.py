"""Data imbalance: the minority class's direction is the first to die, and non-contrastive Barlow loses it first.

Paper: Ziyin, Lubana, Ueda & Tanaka (ICLR 2023, arXiv:2210.00638), robustness to data imbalance.

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

from pathlib import Path

import numpy as np

from ..moments import moments_of
from ..report import figures as F
from ..spec import parse_spec
from ..theory import landscape, minimum
from ._plots import any_disagree, legend_below, log_ticks, rank_axis, seed_markers
from ._theory import predicted, theory_point
from ._training import knn_accuracy_np, train_spec
from .runner import Context, declare, size

NAME = "imbalance"
CLAIM = ("As class imbalance grows the minority class's direction collapses first (contrastive spectral loss: "
         "once its variance falls below γ/2); raw Barlow Twins (non-contrastive, λ < 1) loses it at a milder "
         "imbalance; minority-class accuracy follows the surviving directions.")
EXPECTED = "Trained ranks equal the theory's; minority-class accuracy collapses where its direction dies."
SEP, WITHIN, DIM = 2.0, 0.2, 4
MEANS = [[SEP if j == k else 0.0 for j in range(DIM)] for k in range(3)]
CASES = {"spectral": dict(objective="spectral", weight_decay=1.0),
         "barlow-raw": dict(objective="barlow", normalization="none", barlow_lambda=0.005, weight_decay=1.0)}
SIZES = {"tiny": size(200, 1, 0.2, minority={"spectral": (1 / 3, 0.03)}),
         "quick": size(1500, 1, 0.05, minority={c: (1 / 3, 0.1, 0.03) for c in CASES}),
         "full": size(4000, 3, 0.03, minority={c: (1 / 3, 0.2, 0.1, 0.05, 0.03, 0.01) for c in CASES})}


def class_weights(w: float) -> list[float]:
    return [(1 - w) / 2, (1 - w) / 2, w]


def mixture_moments(w: float) -> tuple[np.ndarray, np.ndarray]:
    p, m = np.asarray(class_weights(w)), np.asarray(MEANS)
    mean = p @ m
    cov = (m.T * p) @ m - np.outer(mean, mean) + WITHIN * np.eye(DIM)
    return mean, cov


def make_spec(case: str, w: float | None = None):
    """The theory's spec at minority weight w (the mixture's mean and total covariance); w = None: the
    within-class Gaussian the trainer's mixture source adds the class means to."""
    if w is None:
        data = {"cov": [WITHIN] * DIM}
    else:
        mean, cov = mixture_moments(w)
        data = {"cov": cov.tolist(), "mean": mean.tolist()}
    return parse_spec({**CASES[case], "data": data, "augmentation": {"noise_cov": [0.2] * DIM}, "embed_dim": DIM,
                       "batch_size": 256})


def samples(n: int, weights: list[float], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=np.asarray(weights) / np.sum(weights))
    return np.asarray(MEANS)[y] + np.sqrt(WITHIN) * rng.standard_normal((n, DIM)), y


def minority_accuracy(weight: np.ndarray, w: float, seed: int) -> float:
    """kNN accuracy on the minority class: bank from the imbalanced mixture, a balanced test set."""
    xb, yb = samples(3000, class_weights(w), 10_000 + seed)
    xt, yt = samples(900, [1, 1, 1], 20_000 + seed)
    keep = yt == 2
    return knn_accuracy_np(xb @ weight.T, yb, xt[keep] @ weight.T, yt[keep])


def grid(ctx: Context) -> list[dict]:
    return [{"case": c, "minority": round(w, 6), "steps": ctx.size.steps, "lr": ctx.size.lr}
            for c, ws in ctx.size.minority.items() for w in ws]


def train_point(params: dict, seed: int) -> dict:
    data = {"source": "mixture", "class_means": MEANS, "class_weights": class_weights(params["minority"])}
    t = train_spec(make_spec(params["case"]), steps=params["steps"], seed=seed, lr=params["lr"], data=data)
    return {**t.summary(), "minority_knn": minority_accuracy(t.weight, params["minority"], seed)}


def theory(params: dict, ctx: Context) -> dict:
    spec = make_spec(params["case"], params["minority"])
    w_star = minimum(landscape(spec, moments_of(spec))).weights
    return {**theory_point(spec), "minority_knn": minority_accuracy(w_star, params["minority"], 0)}


def label(params: dict) -> str:
    return f"{params['case']} at minority weight {params['minority']:.3g}"


def describe(point: dict, ctx: Context) -> dict:
    return {"trained_minority_knn": float(np.mean([r["minority_knn"] for r in point["trained"]]))}


def summary(points: list[dict], ctx: Context) -> str:
    return "Minority-class kNN accuracy (theory / trained): " + "; ".join(
        f"{p['params']['case']} w={p['params']['minority']:.2g}: {p['theory']['minority_knn']:.2f} / "
        f"{p['trained_minority_knn']:.2f}" for p in points) + "."


def figure(points: list[dict], ctx: Context, path: Path) -> Path:
    fig, (ax, ax2) = F.figure(2, height=4.6)
    ws = [p["params"]["minority"] for p in points]
    lo, hi = min(ws) / 1.4, max(ws) * 1.15
    fine = np.geomspace(min(ws) / 1.4, max(ws), 30)  # the theory over the data's range only (w ≤ 1/3: a minority)
    for i, case in enumerate(ctx.size.minority):
        pts = [p for p in points if p["params"]["case"] == case]
        shift = 1.05 ** (i - 0.5)  # cases side by side (a factor: the axis is logarithmic)
        F.theory_line(ax, fine, [predicted(make_spec(case, float(w)))[0] for w in fine], i, f"{case}: theory",
                      step=True)
        seed_markers(ax, pts, lambda p, f=shift: p["params"]["minority"] * f, i, f"{case}: trained")
        ax2.scatter([p["params"]["minority"] * shift for p in pts], [p["theory"]["minority_knn"] for p in pts],
                    s=140, facecolors="none", edgecolors=F.COLORS[i], linewidths=1.5, clip_on=False,
                    label=rf"{case}: theory ($W^*$)")
        seed_markers(ax2, pts, lambda p, f=shift: p["params"]["minority"] * f, i, f"{case}: trained",
                     y=lambda p, r: r["minority_knn"])
    for a in (ax, ax2):
        a.set_xlim(lo, hi)
        log_ticks(a)
        a.set_xlabel(r"minority class weight $w$ (log scale)")
    rank_axis(ax, DIM)
    ax.set_title("surviving directions vs imbalance", fontsize=9)
    legend_below(ax, any_disagree(points))
    ax2.set_ylabel("minority-class kNN accuracy (fraction correct)")
    ax2.set_ylim(0, 1.0)
    ax2.set_title("minority-class accuracy vs imbalance", fontsize=9)
    legend_below(ax2, any_disagree(points))
    return F.save(fig, path)


EXPERIMENT = declare(__name__)
run = EXPERIMENT.run
