"""Real images: the theory, fed the data's own moments, predicts a linear encoder's rank; an MLP is shown beside it.

Paper: Ziyin, Lubana, Ueda & Tanaka (ICLR 2023, arXiv:2210.00638), real data.

Setting. --quick: scikit-learn digits (8×8 = 64 pixels in [0, 1]); full: Fashion-MNIST downsampled to 14×14
(10,000 images) when the Debian package `dataset-fashion-mnist` is installed, else digits again (said in the
result). Views: additive pixel noise of variance σ². Spectral loss, embedding dimension 16.
  * linear encoder: the theory, from the training split's own mean and covariance (not a population estimate —
    a finite fit follows the sample's eigenvalues), predicts rank = #{eigenvalues of 2(C + μμᵀ) > γ} ∧ d, and
    that the noise σ² does not change it. γ is placed between consecutive eigenvalues to target ranks 2, 6, 12.
  * MLP (Linear-BN-ReLU 256, then a linear head): effective rank and kNN accuracy vs σ² and γ, next to the linear
    theory's rank. The theory is not claimed for the MLP: its points are shown, not scored.
The trainer splits the data by its seed; the theory uses the first seed's training split (and records the rank
each seed's split gives).

Command:  sslscape reproduce real_data [--quick] --out out/reproduce
Expected: linear-encoder ranks equal the predicted ones; the MLP's effective rank falls with γ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UserError
from ..io import atomic_save_npy
from ..report import figures as F
from ..spec import parse_spec
from ..training.data import load_named_dataset, split_train_test
from ._plots import any_disagree, legend_below, log_ticks, rank_axis, seed_markers, theory_steps
from ._theory import theory_point
from ._training import train_spec
from .runner import Context, Size, declare, size

NAME = "real_data"
CLAIM = ("On real images a linear encoder's learned rank is predicted by the theory from the data's own moments "
         "(#eigenvalues of 2(C + μμᵀ) above γ, independent of the noise strength); an MLP is shown beside it.")
EXPECTED = "Linear-encoder ranks equal the predicted ones; the MLP's effective rank falls with γ."
EMBED = 16
SIZES = {"tiny": size(500, 1, 0.05, dataset="digits", limit=600, downsample=1, target_ranks=(1, 4),
                      noises=(0.01,), mlp_gammas=(), mlp_steps=50),
         "quick": size(1500, 1, 0.02, dataset="digits", limit=None, downsample=1, target_ranks=(2, 6, 12),
                       noises=(0.01, 0.1), mlp_gammas=(1e-4, 3e-2), mlp_steps=400),
         "full": size(4000, 2, 0.02, dataset="fashion-mnist", limit=10_000, downsample=2, target_ranks=(2, 4, 8, 12),
                      noises=(0.01, 0.05, 0.1), mlp_gammas=(1e-4, 1e-3, 1e-2, 3e-2), mlp_steps=2000)}


def make_spec(mean: np.ndarray, cov: np.ndarray, gamma: float, noise: float):
    return parse_spec({"objective": "spectral", "data": {"cov": cov.tolist(), "mean": mean.tolist()},
                       "augmentation": {"noise_cov": [noise] * len(mean)}, "weight_decay": gamma,
                       "embed_dim": EMBED, "batch_size": 256})


def prepare(chosen: Size, seeds: tuple[int, ...], folder: Path) -> dict:
    """The dataset as .npy files in the folder (Fashion-MNIST missing: digits, said in `notes`), each seed's
    training-split moments, the eigenvalues of 2(C + μμᵀ) and the weight decays that target the ranks."""
    notes, name = [], chosen.dataset
    try:
        x, y, _ = load_named_dataset(name, chosen.limit, chosen.downsample)
    except UserError as exc:
        notes.append(f"{name} unavailable ({exc}); fell back to scikit-learn digits")
        name = "digits"
        x, y, _ = load_named_dataset(name, None, 1)
    xp, yp = folder / f"{name}_{len(x)}_x.npy", folder / f"{name}_{len(x)}_y.npy"
    if not xp.is_file():
        atomic_save_npy(yp, np.asarray(y))
        atomic_save_npy(xp, np.asarray(x, np.float32))
    x = np.load(xp).astype(np.float64)
    moments = {}
    for s in seeds:
        tx, _, _, _ = split_train_test(x, y, s)
        moments[s] = (tx.mean(0), np.cov(tx, rowvar=False, bias=True))
    mean0, cov0 = moments[seeds[0]]
    eig = np.sort(np.linalg.eigvalsh(2 * (cov0 + np.outer(mean0, mean0))))[::-1]
    gammas = [float(np.sqrt(eig[k - 1] * eig[k])) for k in chosen.target_ranks]
    return {"x": str(xp), "y": str(yp), "dataset": name, "notes": notes, "moments": moments, "eig": eig,
            "gammas": gammas}


def grid(ctx: Context) -> list[dict]:
    sz, gammas = ctx.size, ctx.data["gammas"]
    lin = [{"model": "linear", "weight_decay": round(g, 8), "noise": sz.noises[0]} for g in gammas]
    lin += [{"model": "linear", "weight_decay": round(gammas[len(gammas) // 2], 8), "noise": n} for n in sz.noises[1:]]
    mlp = [{"model": "mlp", "weight_decay": g, "noise": n} for g in sz.mlp_gammas
           for n in (sz.noises[0], sz.noises[len(sz.noises) // 2])]
    return [{**p, "x": ctx.data["x"], "y": ctx.data["y"], "lr": sz.lr,
             "steps": sz.steps if p["model"] == "linear" else sz.mlp_steps} for p in lin + mlp]


def train_point(params: dict, seed: int) -> dict:
    dim = int(np.load(params["x"], mmap_mode="r").shape[1])
    spec = parse_spec({"objective": "spectral", "data": {"cov": [1.0] * dim},
                       "augmentation": {"noise_cov": [params["noise"]] * dim},
                       "weight_decay": params["weight_decay"], "embed_dim": EMBED, "batch_size": 256})
    data = {"source": "file", "path": params["x"], "labels": params["y"], "augment": "noise"}
    model = {"kind": "mlp", "hidden": [256]} if params["model"] == "mlp" else {"kind": "linear"}
    return train_spec(spec, steps=params["steps"], seed=seed, lr=params["lr"], data=data, model=model,
                      knn=True).summary()


def theory(params: dict, ctx: Context) -> dict:
    per_seed = [theory_point(make_spec(*ctx.data["moments"][s], params["weight_decay"], params["noise"]))
                for s in ctx.seeds]
    return {**per_seed[0], "per_seed_rank": [t["rank"] for t in per_seed], "applies": params["model"] == "linear"}


def scored(params: dict) -> bool:
    return params["model"] == "linear"


def label(params: dict) -> str:
    return f"{params['model']} encoder at γ = {params['weight_decay']:.3g}, σ² = {params['noise']:g}"


def describe(point: dict, ctx: Context) -> dict:
    runs = point["trained"]
    knn = [r["knn"] for r in runs if r.get("knn") is not None]
    return {"trained_effective_rank": float(np.mean([r["effective_rank"] for r in runs])),
            "trained_knn": float(np.mean(knn)) if knn else None}


def notes(points: list[dict], ctx: Context) -> list[dict]:
    out = [{"claim": f"{ctx.size.dataset} data", "reason": n} for n in ctx.data["notes"]]
    if any(p["params"]["model"] == "mlp" for p in points):
        out.append({"claim": "the theory predicts the MLP's rank",
                    "reason": "the theory is for linear encoders; MLP points are shown next to it, not scored"})
    return out


def extras(points: list[dict], ctx: Context) -> dict:
    return {"dataset": ctx.data["dataset"], "weight_decays": ctx.data["gammas"],
            "eigenvalues_2A": ctx.data["eig"][:20].tolist()}


def summary(points: list[dict], ctx: Context) -> str:
    lin = ", ".join(f"{p['trained_rank']}/{p['theory']['rank']}" for p in points if p["params"]["model"] == "linear")
    mlp = ", ".join(f"{p['trained_effective_rank']:.1f}" for p in points if p["params"]["model"] == "mlp")
    return f"{ctx.data['dataset']}: linear ranks (trained / theory) {lin}" + (f"; MLP effective ranks {mlp}"
                                                                             if mlp else "") + "."


def figure(points: list[dict], ctx: Context, path: Path) -> Path:
    lin = [p for p in points if p["params"]["model"] == "linear"]
    mlp = [p for p in points if p["params"]["model"] == "mlp"]
    fig, axes = F.figure(3 if mlp else 1, width=5.0 if mlp else 6.0, height=4.8)
    ax = axes[0]
    gs = [p["params"]["weight_decay"] for p in lin]
    lo, hi = min(gs) / 1.6, max(gs) * 1.6
    eig = ctx.data["eig"]
    theory_steps(ax, lo, hi, int(np.sum(eig > lo)), eig, 0,
                 r"theory: #eig$(2(C + \mu\mu^\top)) > \gamma$, $\wedge\, d$ (any $\sigma^2$)", cap=EMBED)
    for i, n in enumerate(sorted({p["params"]["noise"] for p in lin})):
        pts = sorted((p for p in lin if p["params"]["noise"] == n), key=lambda p: p["params"]["weight_decay"])
        seed_markers(ax, pts, lambda p, f=1.04 ** i: p["params"]["weight_decay"] * f, i + 1,
                     rf"$\sigma^2$ = {n:g}: trained linear")
    ax.set_xlim(lo, hi)
    log_ticks(ax)
    ax.set_xlabel(r"weight decay $\gamma$ (log scale)")
    rank_axis(ax, EMBED)
    ax.set_title(f"{ctx.data['dataset']}, linear encoder (d = {EMBED})", fontsize=9)
    legend_below(ax, any_disagree(lin), ncol=1)
    if mlp:
        noises = sorted({p["params"]["noise"] for p in mlp})
        for ax_, key, ylabel in ((axes[1], "effective_rank", r"effective rank $\exp(H)$"),
                                 (axes[2], "knn", "kNN accuracy (fraction correct)")):
            for i, n in enumerate(noises):
                pts = sorted((p for p in mlp if p["params"]["noise"] == n), key=lambda p: p["params"]["weight_decay"])
                seed_markers(ax_, pts, lambda p, f=1.15 ** i: p["params"]["weight_decay"] * f, i,
                             rf"$\sigma^2$ = {n:g}: MLP", y=lambda p, r, key=key: r[key])
            log_ticks(ax_)
            ax_.set_xlabel(r"weight decay $\gamma$ (log scale)")
            ax_.set_ylabel(ylabel)
            legend_below(ax_, ncol=1)
        axes[1].set_ylim(0, EMBED + 0.5)
        axes[1].set_title("MLP effective rank (not scored: the theory is linear)", fontsize=9)
        axes[2].set_ylim(0, 1.0)
        axes[2].set_title("MLP kNN accuracy", fontsize=9)
    return F.save(fig, path)


EXPERIMENT = declare(__name__)
run = EXPERIMENT.run
