"""Collapse can help: removing high-variance nuisance directions raises downstream accuracy; removing a
class-relevant direction lowers it. The theory says beforehand which directions die.

Paper: Ziyin, Lubana, Ueda & Tanaka (ICLR 2023, arXiv:2210.00638), beneficial collapse.

Setting. Four classes at (±0.7, ±0.7) in the first two coordinates (class-relevant, total variance 0.74 each,
within-class 0.25) and four class-irrelevant nuisance coordinates of variance 4. The theory sees the mixture's
total covariance C = within + between (second moments are all a rank statement needs).
  * baseline: InfoNCE-euclidean, clean negatives, no augmentation, γ = 0.05 → all six directions survive;
  * augment nuisance: noise of variance 10 on the nuisance axes (10 > 2·4) → they collapse → kNN accuracy rises;
  * augment class axes: noise of variance 3 on the class axes (3 > 2·0.74) → they collapse → accuracy drops;
  * weight decay (spectral, γ = 2.5): 2c = 1.48 < 2.5 for the class axes, 8 > 2.5 for the nuisance → the class axes
    die first → accuracy drops (weight decay removes the low-variance directions, whatever their use).
Downstream: kNN (k = 20, cosine) on embeddings of held-out mixture samples, for the trained W and for the theory's
minimiser W* alike. A point agrees when the rank agrees (the one rule) and the surviving axes are the theory's.

Command:  sslscape reproduce beneficial_collapse [--quick] --out out/reproduce
Expected: trained surviving axes = theory's at every setting; accuracy vs baseline: up for 'augment nuisance',
down for the other two, in theory and training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..moments import moments_of
from ..report import figures as F
from ..spec import parse_spec
from ..theory import landscape, minimum
from ._plots import legend_below
from ._theory import alive_axes, theory_point
from ._training import knn_accuracy_np, train_spec
from .runner import Context, declare, size

NAME = "beneficial_collapse"
CLAIM = ("Collapsing high-variance nuisance directions (by augmenting them) raises downstream kNN accuracy; "
         "collapsing class-relevant directions (by augmenting them, or by weight decay, which removes low-variance "
         "directions first) lowers it — and the theory predicts which directions die.")
EXPECTED = ("Trained surviving axes equal the theory's at every setting; accuracy vs baseline rises for 'augment "
            "nuisance' and drops for the other two, in theory and training.")
DIRECTIONS = True  # a point agrees when its rank agrees and its surviving input axes are the theory's
A = 0.7
WITHIN = (0.25, 0.25, 4.0, 4.0, 4.0, 4.0)
MEANS = [[sx * A, sy * A, 0, 0, 0, 0] for sx in (-1, 1) for sy in (-1, 1)]
TOTAL = tuple(w + (A * A if i < 2 else 0.0) for i, w in enumerate(WITHIN))
INFONCE = dict(objective="infonce", similarity="euclidean", protocol="clean_negatives", weight_decay=0.05)
SETTINGS = {
    "baseline": dict(INFONCE, noise=(0, 0, 0, 0, 0, 0)),
    "augment nuisance": dict(INFONCE, noise=(0, 0, 10, 10, 10, 10)),
    "augment class axes": dict(INFONCE, noise=(3, 3, 0, 0, 0, 0)),
    "weight decay": dict(objective="spectral", weight_decay=2.5, noise=(0.5,) * 6),
}
SIZES = {"tiny": size(200, 1, 0.1, setups=("baseline", "augment nuisance"), n_eval=400),
         "quick": size(1000, 1, 0.1, setups=tuple(SETTINGS), n_eval=2000),
         "full": size(3000, 3, 0.05, setups=tuple(SETTINGS), n_eval=4000)}


def make_spec(setting: str, cov: tuple[float, ...] = TOTAL):
    fields = dict(SETTINGS[setting])
    noise = fields.pop("noise")
    return parse_spec({**fields, "data": {"cov": list(cov)}, "augmentation": {"noise_cov": list(map(float, noise))},
                       "temperature": 1.0, "embed_dim": len(WITHIN), "batch_size": 256})


def mixture_samples(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(MEANS), n)
    x = np.asarray(MEANS)[y] + rng.standard_normal((n, len(WITHIN))) * np.sqrt(WITHIN)
    return x, y


def downstream(weight: np.ndarray, n_eval: int, seed: int) -> float:
    """kNN accuracy (k = 20) of the embeddings x Wᵀ: bank and test drawn from the mixture with fixed seeds."""
    xb, yb = mixture_samples(n_eval, 10_000 + seed)
    xt, yt = mixture_samples(n_eval // 2, 20_000 + seed)
    return knn_accuracy_np(xb @ weight.T, yb, xt @ weight.T, yt)


def grid(ctx: Context) -> list[dict]:
    return [{"setting": s, "steps": ctx.size.steps, "lr": ctx.size.lr, "n_eval": ctx.size.n_eval}
            for s in ctx.size.setups]


def train_point(params: dict, seed: int) -> dict:
    spec = make_spec(params["setting"], WITHIN)  # the trainer adds the class means to the within-class Gaussian
    data = {"source": "mixture", "class_means": MEANS, "class_weights": [1.0] * len(MEANS)}
    t = train_spec(spec, steps=params["steps"], seed=seed, lr=params["lr"], data=data)
    return {**t.summary(), "alive_axes": alive_axes(t.weight, np.diag(TOTAL)),
            "knn": downstream(t.weight, params["n_eval"], seed)}


def theory(params: dict, ctx: Context) -> dict:
    spec = make_spec(params["setting"])
    w_star = minimum(landscape(spec, moments_of(spec))).weights
    return {**theory_point(spec), "knn": downstream(w_star, params["n_eval"], 0)}


def label(params: dict) -> str:
    return params["setting"]


def describe(point: dict, ctx: Context) -> dict:
    return {"trained_knn": float(np.mean([r["knn"] for r in point["trained"]]))}


def _effects(points: list[dict]) -> dict:
    base = next((p for p in points if p["params"]["setting"] == "baseline"), None)
    if base is None:
        return {}
    return {p["params"]["setting"]: {"theory_delta_knn": round(p["theory"]["knn"] - base["theory"]["knn"], 4),
                                     "trained_delta_knn": round(p["trained_knn"] - base["trained_knn"], 4)}
            for p in points if p is not base}


def notes(points: list[dict], ctx: Context) -> list[dict]:
    return [{"claim": f"{k} changes kNN accuracy in the predicted direction",
             "reason": f"theory Δ = {v['theory_delta_knn']:+.3f}, trained Δ = {v['trained_delta_knn']:+.3f}"}
            for k, v in _effects(points).items()
            if np.sign(v["theory_delta_knn"]) != np.sign(v["trained_delta_knn"])]


def extras(points: list[dict], ctx: Context) -> dict:
    return {"effects": _effects(points)}


def summary(points: list[dict], ctx: Context) -> str:
    return "kNN accuracy change vs baseline (theory / trained): " + "; ".join(
        f"{k}: {v['theory_delta_knn']:+.3f} / {v['trained_delta_knn']:+.3f}" for k, v in _effects(points).items()) + "."


def figure(points: list[dict], ctx: Context, path: Path) -> Path:
    fig, (ax, ax2) = F.figure(2, height=4.6)
    names = [p["params"]["setting"].replace(" ", "\n", 1) for p in points]  # two lines: no overlapping labels
    x = np.arange(len(points))
    ax.bar(x - 0.2, [p["theory"]["knn"] for p in points], 0.4, color=F.COLORS[0], alpha=0.55,
           label=r"theory: kNN accuracy of the predicted minimiser $W^*$")
    for r_i in range(len(points[0]["trained"])):
        F.trained_markers(ax, x + 0.2, [p["trained"][r_i]["knn"] for p in points], 1,
                          "trained: kNN accuracy" if r_i == 0 else None, agree=[p["agree"] for p in points])
    ax.axhline(0.25, color="gray", ls=":", lw=1, label="chance (4 classes)")
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylabel("kNN accuracy (k = 20, cosine), fraction correct")
    ax.set_ylim(0, 1.0)
    ax.set_title("downstream accuracy by setting", fontsize=9)
    legend_below(ax, any(p["agree"] is False for p in points), ncol=1)
    labels = ["class 1", "class 2", "nuis. 1", "nuis. 2", "nuis. 3", "nuis. 4"]
    for i, p in enumerate(points):
        th, tr = p["theory"]["alive_axes"], p["trained"][0]["alive_axes"]
        for j in range(len(labels)):
            ax2.scatter(j, i + 0.14, marker="s", s=80, color=F.COLORS[0] if th[j] else "white",
                        edgecolors=F.COLORS[0], clip_on=False)
            ax2.scatter(j, i - 0.14, marker="o", s=60, color=F.COLORS[1] if tr[j] else "white",
                        edgecolors=F.DISAGREE if tr[j] != th[j] else F.COLORS[1], linewidths=1.5, clip_on=False)
    ax2.scatter([], [], marker="s", color=F.COLORS[0], label="theory: alive (hollow: collapsed)")
    ax2.scatter([], [], marker="o", color=F.COLORS[1], label="trained, seed 0: alive (hollow: collapsed)")
    ax2.set_xticks(range(len(labels)), labels, fontsize=8)
    ax2.set_yticks(range(len(points)), names, fontsize=8)
    ax2.set_xlim(-0.5, len(labels) - 0.5)
    ax2.set_ylim(-0.6, len(points) - 0.4)
    ax2.set_xlabel("input direction")
    ax2.set_title("which directions survive", fontsize=9)
    legend_below(ax2, any(p["agree"] is False for p in points), ncol=1)
    return F.save(fig, path)


EXPERIMENT = declare(__name__)
run = EXPERIMENT.run
