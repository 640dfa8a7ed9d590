"""Dimensional collapse caused by augmentation strength — per direction, and only where theory says so.

Paper: Ziyin, Lubana, Ueda & Tanaka (ICLR 2023, arXiv:2210.00638), augmentation-induced collapse.

Claim. With additive-noise augmentation S = s·I on data with variances c = (4, 3, 2, 1.5, 1, 0.5):
  * InfoNCE, euclidean similarity, clean negatives (γ = 0): direction i grows iff (1 − p̄)(2c_i − s)/(2τ) > γ, so
    augmentation alone kills every direction with s > 2c_i — the rank falls 6 → 0 as s grows (per direction, the
    weakest first).
  * InfoNCE, dot similarity, augmented negatives (γ = 0.75): the noise cancels from the quadratic term; the rank
    (5: c = 0.5 < γ dies) never depends on s.
  * Spectral (γ = 1.5): direction i survives iff 2c_i > γ, whatever s: rank 5 for every s.

Command:  sslscape reproduce augmentation_collapse [--quick] --out out/reproduce
Expected: trained ranks equal the predicted ones at every point (γ and s kept away from the thresholds); the
figure shows the euclidean rank stepping down at s = 2c_i while the dot and spectral ranks stay flat.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..report import figures as F
from ._plots import any_disagree, legend_below, rank_axis, seed_markers, theory_steps
from ._theory import VARIANCES, alive_axes, gaussian_spec
from ._training import train_at
from .runner import Context, declare, size

NAME = "augmentation_collapse"
CLAIM = ("Augmentation strength causes dimensional collapse direction by direction where the theory predicts it "
         "(InfoNCE, euclidean similarity, clean negatives: direction i dies once s > 2c_i) and not where it "
         "predicts none (InfoNCE dot, spectral: the rank does not depend on s).")
EXPECTED = ("Trained ranks equal the predicted ones; the euclidean rank steps down at s = 2c_i, the dot and "
            "spectral ranks stay flat.")
COV = VARIANCES
CASES = {
    "infonce-euclidean-clean": dict(objective="infonce", similarity="euclidean", protocol="clean_negatives",
                                    weight_decay=0.0),
    "infonce-dot-augmented": dict(objective="infonce", similarity="dot", protocol="augmented_negatives",
                                  weight_decay=0.75),
    "spectral": dict(objective="spectral", weight_decay=1.5),
}
EUCLID = "infonce-euclidean-clean"
SCALES = (0.0, 1.5, 2.5, 5.0, 10.0)
SCALES_FULL = (0.0, 0.5, 1.5, 2.5, 3.5, 5.0, 7.0, 10.0, 12.0)
SIZES = {"tiny": size(200, 1, 0.2, scales={EUCLID: (0.0, 10.0), "infonce-dot-augmented": (5.0,)}),
         "quick": size(1000, 1, 0.1, scales={c: SCALES for c in CASES}),
         "full": size(3000, 3, 0.05, scales={c: SCALES_FULL for c in CASES})}


def spec(params: dict):
    return gaussian_spec(COV, **CASES[params["case"]], noise_scale=params["noise_scale"])


def grid(ctx: Context) -> list[dict]:
    return [{"case": c, "noise_scale": s, "steps": ctx.size.steps, "lr": ctx.size.lr}
            for c, scales in ctx.size.scales.items() for s in scales]


def train_point(params: dict, seed: int) -> dict:
    t = train_at(spec(params), params, seed)
    return {**t.summary(), "alive_axes": alive_axes(t.weight, np.diag(COV))}


def label(params: dict) -> str:
    return f"{params['case']} at s = {params['noise_scale']:g}"


def summary(points: list[dict], ctx: Context) -> str:
    flat = {c: sorted({p["trained_rank"] for p in points if p["params"]["case"] == c}) for c in ctx.size.scales}
    return ("Trained ranks by case over s: " + "; ".join(f"{c}: {v}" for c, v in flat.items())
            + ". Augmentation changes the rank only in the euclidean/clean-negatives case.")


def figure(points: list[dict], ctx: Context, path: Path) -> Path:
    fig, (ax, ax2) = F.figure(2, height=4.6)
    s_hi = max(p["params"]["noise_scale"] for p in points) * 1.08 + 0.5
    for i, case in enumerate(ctx.size.scales):
        pts = [p for p in points if p["params"]["case"] == case]
        first = pts[0]
        crit = first["theory"]["thresholds"]["critical_noise_scale"] or []
        s0 = first["params"]["noise_scale"]
        rank0 = first["theory"]["rank"] + sum(0 < c <= s0 for c in crit)  # the theory's rank at s = 0
        # flat cases can share a rank: one line style per case keeps every line visible
        theory_steps(ax, 0.0, s_hi, rank0, crit, i, f"{case}: theory", ls=("-", "--", ":")[i % 3])
        seed_markers(ax, pts, lambda p: p["params"]["noise_scale"], i, f"{case}: trained", offset=0.2 * (i - 1))
    ax.set_xlim(0, s_hi)
    ax.set_xlabel(r"augmentation strength $s$ (noise variance per axis)")
    rank_axis(ax, len(COV))
    ax.set_title("rank vs augmentation strength", fontsize=9)
    legend_below(ax, any_disagree(points), ncol=2)
    # per direction (euclidean, clean negatives): direction i alive iff s < 2c_i
    fine = np.linspace(0, s_hi, 50)
    ax2.fill_between(fine, 0, fine / 2, color="0.88", zorder=0, label=r"theory: collapsed ($s > 2c_i$)")
    ax2.plot(fine, fine / 2, color="black", lw=1.2, label=r"theory boundary $s = 2c_i$")
    for p in (p for p in points if p["params"]["case"] == EUCLID):
        alive = p["trained"][0].get("alive_axes") or []
        for c, a in zip(COV, alive, strict=False):
            ax2.scatter(p["params"]["noise_scale"], c, marker="o", s=50, color=F.COLORS[0] if a else "white",
                        edgecolors=F.COLORS[0], zorder=3, clip_on=False, gid=F.TRAINED_GID)
    ax2.scatter([], [], marker="o", color=F.COLORS[0], label="trained (seed 0): direction alive")
    ax2.scatter([], [], marker="o", color="white", edgecolors=F.COLORS[0], label="trained: direction collapsed")
    ax2.set_xlim(0, s_hi)
    ax2.set_ylim(0, max(COV) + 0.4)
    ax2.set_yticks(COV)
    ax2.set_xlabel(r"augmentation strength $s$ (noise variance per axis)")
    ax2.set_ylabel(r"data variance $c_i$ of direction $i$")
    ax2.set_title("euclidean, clean negatives: which directions survive", fontsize=9)
    legend_below(ax2, ncol=2)
    return F.save(fig, path)


EXPERIMENT = declare(__name__)
run = EXPERIMENT.run
