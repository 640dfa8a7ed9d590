"""Collapse can help: removing high-variance nuisance directions raises downstream accuracy; removing a
class-relevant direction lowers it. The theory says beforehand which directions die.

Setting. Four classes at (±0.7, ±0.7) in the first two coordinates (class-relevant, total variance 0.74 each,
within-class 0.25) and four class-irrelevant nuisance coordinates of variance 4. The theory sees the mixture's
total covariance C = within + between (second moments are all a rank statement needs).
  * baseline: InfoNCE-euclidean, clean negatives, no augmentation, γ = 0.05 → all six directions survive;
  * augment nuisance: noise of variance 10 on the nuisance axes (10 > 2·4) → they collapse → kNN accuracy rises;
  * augment class axes: noise of variance 3 on the class axes (3 > 2·0.74) → they collapse → accuracy drops;
  * weight decay (spectral, γ = 2.5): 2c = 1.48 < 2.5 for the class axes, 8 > 2.5 for the nuisance → the class axes
    die first → accuracy drops (weight decay removes the low-variance directions, whatever their use).
Downstream: kNN (k = 20, cosine) on embeddings of held-out mixture samples, for the trained W and for the theory's
minimiser W* alike.

Command:  sslscape reproduce beneficial_collapse [--quick] --out out/reproduce
Expected: trained surviving axes = theory's at every setting; accuracy vs baseline: up for 'augment nuisance',
down for the other two, in theory and training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..moments import moments_of
from ..report import figures as F
from ..theory import landscape, minimum
from ._common import ExperimentResult, finish, params_key, spec_of, start, sweep_grid, trained_by_params
from ._theory import alive_axes, theory_point
from ._training import knn_accuracy_np, train_spec

NAME = "beneficial_collapse"
CLAIM = ("Collapsing high-variance nuisance directions (by augmenting them) raises downstream kNN accuracy; "
         "collapsing class-relevant directions (by augmenting them, or by weight decay, which removes low-variance "
         "directions first) lowers it — and the theory predicts which directions die.")
A = 0.7
WITHIN = (0.25, 0.25, 4.0, 4.0, 4.0, 4.0)
MEANS = [[sx * A, sy * A, 0, 0, 0, 0] for sx in (-1, 1) for sy in (-1, 1)]
TOTAL = tuple(w + (A * A if i < 2 else 0.0) for i, w in enumerate(WITHIN))
SETTINGS = {
    "baseline": dict(objective="infonce", similarity="euclidean", protocol="clean_negatives", weight_decay=0.05,
                     noise=(0, 0, 0, 0, 0, 0)),
    "augment nuisance": dict(objective="infonce", similarity="euclidean", protocol="clean_negatives",
                             weight_decay=0.05, noise=(0, 0, 10, 10, 10, 10)),
    "augment class axes": dict(objective="infonce", similarity="euclidean", protocol="clean_negatives",
                               weight_decay=0.05, noise=(3, 3, 0, 0, 0, 0)),
    "weight decay": dict(objective="spectral", weight_decay=2.5, noise=(0.5,) * 6),
}


@dataclass(frozen=True)
class Size:
    settings: tuple[str, ...]
    steps: int
    n_seeds: int
    n_eval: int
    lr: float = 0.1


QUICK = Size(tuple(SETTINGS), 1000, 1, 2000)
FULL = Size(tuple(SETTINGS), 3000, 3, 4000, 0.05)
TINY = Size(("baseline", "augment nuisance"), 100, 1, 400)


def make_spec(setting: str, cov=TOTAL):
    fields = dict(SETTINGS[setting])
    noise = fields.pop("noise")
    return spec_of(**fields, data={"cov": list(cov)}, augmentation={"noise_cov": list(map(float, noise))},
                   temperature=1.0, embed_dim=len(WITHIN), batch_size=256)


def mixture_samples(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(MEANS), n)
    x = np.asarray(MEANS)[y] + rng.standard_normal((n, len(WITHIN))) * np.sqrt(WITHIN)
    return x, y


def downstream(weight: np.ndarray, n_eval: int, seed: int) -> float:
    xb, yb = mixture_samples(n_eval, 10_000 + seed)
    xt, yt = mixture_samples(n_eval // 2, 20_000 + seed)
    return knn_accuracy_np(xb @ weight.T, yb, xt @ weight.T, yt)


def train_point(params: dict, seed: int) -> dict:
    spec = make_spec(params["setting"], WITHIN)  # the trainer adds the class means to the within-class Gaussian
    data = {"source": "mixture", "class_means": MEANS, "class_weights": [1.0] * len(MEANS)}
    t = train_spec(spec, steps=params["steps"], seed=seed, lr=params["lr"], data=data)
    return {**t.summary(), "alive_axes": alive_axes(t.weight, np.diag(TOTAL)),
            "knn": downstream(t.weight, params["n_eval"], seed)}


def run(out_dir: str | Path, quick: bool = True, seeds: list[int] | None = None, workers: int = 2,
        use_ray: bool = False, size: Size | None = None) -> ExperimentResult:
    t0, size, seeds_, out = start(NAME, out_dir, quick, seeds, size or (QUICK if quick else FULL))
    grid = [{"setting": s, "steps": size.steps, "lr": size.lr, "n_eval": size.n_eval} for s in size.settings]
    records = sweep_grid(train_point, grid, seeds_, out, workers, use_ray, NAME)
    trained = trained_by_params(records)
    points = []
    for p in grid:
        spec = make_spec(p["setting"])
        th = theory_point(spec)
        w_star = minimum(landscape(spec, moments_of(spec))).weights
        runs = trained[params_key(p)]
        dirs = [r["alive_axes"] == th["alive_axes"] for r in runs]
        points.append({"params": p, "theory": {"rank": th["rank"], "alive_axes": th["alive_axes"],
                                               "knn": downstream(w_star, size.n_eval, 0)},
                       "trained": runs, "trained_knn": float(np.mean([r["knn"] for r in runs])),
                       "directions_agree": sum(dirs) / len(dirs), "agree": all(dirs)})
    base = next((p for p in points if p["params"]["setting"] == "baseline"), None)
    unsupported = [{"claim": f"{p['params']['setting']}: trained surviving axes {p['trained'][0]['alive_axes']} "
                             f"vs theory {p['theory']['alive_axes']}", "reason": "training and theory disagree"}
                   for p in points if not p["agree"]]
    effects = {}
    if base is not None:
        for p in points:
            if p is base:
                continue
            d_th = p["theory"]["knn"] - base["theory"]["knn"]
            d_tr = p["trained_knn"] - base["trained_knn"]
            effects[p["params"]["setting"]] = {"theory_delta_knn": round(d_th, 4), "trained_delta_knn": round(d_tr, 4)}
            if np.sign(d_th) != np.sign(d_tr):
                unsupported.append({"claim": f"{p['params']['setting']} changes kNN accuracy in the predicted "
                                             "direction", "reason": f"theory Δ = {d_th:+.3f}, trained Δ = {d_tr:+.3f}"})
    fig = _figure(points, out / f"{NAME}.png")
    summary = "kNN accuracy change vs baseline (theory / trained): " + "; ".join(
        f"{k}: {v['theory_delta_knn']:+.3f} / {v['trained_delta_knn']:+.3f}" for k, v in effects.items()) + "."
    return finish(out, NAME, CLAIM, quick, seeds_, points, unsupported, [fig], t0, summary, {"effects": effects})


def _figure(points: list[dict], path: Path) -> Path:
    fig, (ax, ax2) = F.figure(2)
    names = [p["params"]["setting"] for p in points]
    x = np.arange(len(points))
    ax.bar(x - 0.2, [p["theory"]["knn"] for p in points], 0.4, color=F.COLORS[0], alpha=0.55,
           label="theory: kNN accuracy of the predicted minimiser W*")
    for r_i in range(len(points[0]["trained"])):
        F.trained_markers(ax, x + 0.2, [p["trained"][r_i]["knn"] for p in points], 1,
                          "trained: kNN accuracy" if r_i == 0 else None, agree=[p["agree"] for p in points])
    ax.axhline(0.25, color="gray", ls=":", lw=1, label="chance (4 classes)")
    ax.set_xticks(x, names, fontsize=8, rotation=12)
    ax.set_ylabel("kNN accuracy (k = 20, cosine), fraction correct")
    ax.set_ylim(0, 1.05)
    ax.set_title("downstream accuracy by setting", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    labels = ["class 1", "class 2", "nuis. 1", "nuis. 2", "nuis. 3", "nuis. 4"]
    for i, p in enumerate(points):
        th, tr = p["theory"]["alive_axes"], p["trained"][0]["alive_axes"]
        for j in range(len(labels)):
            ax2.scatter(j, i + 0.12, marker="s", s=80, color=F.COLORS[0] if th[j] else "white",
                        edgecolors=F.COLORS[0])
            ax2.scatter(j, i - 0.12, marker="o", s=60, color=F.COLORS[1] if tr[j] else "white",
                        edgecolors=F.DISAGREE if tr[j] != th[j] else F.COLORS[1], linewidths=1.5)
    ax2.scatter([], [], marker="s", color=F.COLORS[0], label="theory: alive (hollow: collapsed)")
    ax2.scatter([], [], marker="o", color=F.COLORS[1], label="trained: alive (hollow: collapsed)")
    ax2.set_xticks(range(len(labels)), labels, fontsize=8)
    ax2.set_yticks(range(len(points)), names, fontsize=8)
    ax2.set_ylim(-0.6, len(points) - 0.2)
    ax2.set_xlabel("input direction")
    ax2.set_title("which directions survive", fontsize=9)
    ax2.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    return F.save(fig, path)
