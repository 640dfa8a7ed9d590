"""Depth makes the collapse transition discontinuous and lets augmentation move the critical weight decay.

Paper: Ziyin, Lubana, Ueda & Tanaka (ICLR 2023, arXiv:2210.00638), deeper encoders.

Claim. Spectral loss, deep linear encoder W = W_L⋯W_1 with γ Σ_l ‖W_l‖², c = (4, 2, 1), S = s·I. Per direction
k (closed form, `sslscape.theory.solve`): f_k(p) = −a_k p + β_k² p² + γ L p^{1/L}, and direction k survives iff
γ < γ*_k = a_k u^{(L−1)/L}/(2L − 1), u = a_k(L − 1)/(β_k²(2L − 1)). Hence
  * L = 1: the embedding variance goes to 0 continuously at γ* = 2c_k, and γ* does not depend on s;
  * L ≥ 2: the variance jumps from a finite value to 0 at γ* (first-order transition), γ* shrinks with L and
    depends on the augmentation through β_k (stronger augmentation → smaller γ*).

Command:  sslscape reproduce depth [--quick] --out out/reproduce
Expected: at γ = 0.4γ*_1 and 0.9γ*_1 the top direction survives with the predicted (finite) variance; at 1.5γ*_1
theory predicts complete collapse — for L ≥ 2 W = 0 is then the global minimum but the trained run may stay in
the non-zero local minimum (metastability of a first-order transition). The theory bounds this too: a direction
has a locally stable non-zero state only below its spinodal γ_sp = 2Lβ²p_c^{(2L−1)/L}/(L − 1) (reported as
`metastable_rank`); such points are reported, not hidden.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..report import figures as F
from ._plots import any_disagree, legend_below, log_ticks, seed_markers
from ._theory import gaussian_spec, predicted, theory_point
from .runner import Context, declare, size

NAME = "depth"
CLAIM = ("Depth L ≥ 2 makes the collapse transition discontinuous (the surviving variance jumps to 0 at γ*) and "
         "makes γ* depend on the augmentation; at L = 1 the transition is continuous and γ* = 2c is "
         "augmentation-free.")
EXPECTED = ("Below γ*_1 the top direction survives with the predicted variance; above it theory predicts complete "
            "collapse, and for L ≥ 2 runs kept in the metastable state are reported with the reason.")
COV = (4.0, 2.0, 1.0)
# factors: γ = factor × γ*_1(L, s), per depth L (the tiny ones sit ≥ 18 % from every γ*_k and far above the spinodal)
SIZES = {"tiny": size(200, 1, 0.2, scales=(0.5,), factors={1: (0.2, 2.0), 2: (0.75, 2.0)}),
         "quick": size(1500, 1, 0.05, scales=(0.5, 2.0), factors={L: (0.4, 0.9, 1.5) for L in (1, 2, 3, 4)}),
         "full": size(4000, 3, 0.03, scales=(0.5, 1.0, 2.0),
                      factors={L: (0.3, 0.6, 0.9, 1.1, 1.5, 2.0) for L in (1, 2, 3, 4)})}


def spec(params: dict):
    return gaussian_spec(COV, objective="spectral", noise_scale=params["noise_scale"],
                         weight_decay=params["weight_decay"], depth=params["depth"])


def critical_top(depth: int, scale: float) -> float:
    """γ*_1(L, s): the theory's critical weight decay of the top direction."""
    problem = spec({"depth": depth, "noise_scale": scale, "weight_decay": 0.0})
    return float(theory_point(problem)["thresholds"]["critical_weight_decay"][0])


def grid(ctx: Context) -> list[dict]:
    crit = {(L, s): critical_top(L, s) for L in ctx.size.factors for s in ctx.size.scales}
    return [{"depth": L, "noise_scale": s, "factor": f, "weight_decay": round(f * crit[L, s], 6),
             "steps": ctx.size.steps, "lr": ctx.size.lr}
            for L, factors in ctx.size.factors.items() for s in ctx.size.scales for f in factors]


def theory(params: dict, ctx: Context) -> dict:
    """theory_point, plus the metastable rank (directions with a locally stable non-zero state, γ < γ_sp: the
    most a run can keep for L ≥ 2) and γ*_1 of the point's (L, s)."""
    th = theory_point(spec(params))
    meta = th["thresholds"].get("metastable_weight_decay") or th["thresholds"]["critical_weight_decay"]
    return {**th, "top_variance": th["spectrum"][0],
            "metastable_rank": min(sum(g > params["weight_decay"] for g in meta), len(COV)),
            "critical_weight_decay_top": critical_top(params["depth"], params["noise_scale"])}


def label(params: dict) -> str:
    return f"L = {params['depth']}, s = {params['noise_scale']:g}, γ = {params['factor']:g}·γ*"


def describe(point: dict, ctx: Context) -> dict:
    return {"trained_top_variance": float(np.mean([r["spectrum"][0] for r in point["trained"]]))}


def reason(point: dict) -> str:
    """Why a point disagrees: metastable (kept a locally stable state above γ*), trapped (lost a direction to the
    W_k = 0 local minimum that exists for L ≥ 2) or not converged."""
    p, th, rank = point["params"], point["theory"], point["trained_rank"]
    if p["depth"] >= 2 and th["rank"] < rank <= th["metastable_rank"] and p["factor"] > 1:
        return ("metastable: above γ* the global minimum is W = 0 but, for L ≥ 2, the non-zero local minimum "
                f"persists up to the spinodal γ_sp (theory: {th['metastable_rank']} direction(s) locally stable "
                "here) and training started at unit gain stays there")
    if p["depth"] >= 2 and rank < th["rank"]:
        return ("trapped: for L ≥ 2 every direction's W_k = 0 is a local minimum; the run fell into it for a "
                "direction whose global minimum is non-zero")
    return "training did not reach the predicted rank within the step budget"


def _critical(points: list[dict], ctx: Context) -> dict:
    return {(p["params"]["depth"], p["params"]["noise_scale"]): p["theory"]["critical_weight_decay_top"]
            for p in points}


def extras(points: list[dict], ctx: Context) -> dict:
    crit = _critical(points, ctx)
    return {"critical_weight_decay_top": {f"L={L}": {f"s={s}": round(crit[L, s], 4) for s in ctx.size.scales}
                                          for L in ctx.size.factors}}


def summary(points: list[dict], ctx: Context) -> str:
    return f"Theory γ*_1 by depth and augmentation: {extras(points, ctx)['critical_weight_decay_top']}."


def figure(points: list[dict], ctx: Context, path: Path) -> Path:
    fig, (ax, ax2) = F.figure(2, height=4.8)
    crit = _critical(points, ctx)
    s0 = ctx.size.scales[0]
    top = max(max(f) for f in ctx.size.factors.values()) * 1.1
    # both sides of the jump at γ/γ*_1 = 1 are sampled, so a first-order jump is drawn as a vertical drop
    fine = np.r_[np.linspace(0.02, 1 - 1e-4, 20), np.linspace(1 + 1e-4, top, 8)]
    for i, L in enumerate(ctx.size.factors):
        variance = [predicted(spec({"depth": L, "noise_scale": s0, "weight_decay": float(f * crit[L, s0])}))[1][0]
                    for f in fine]
        F.theory_line(ax, fine, variance, i, f"L = {L}: theory")
        pts = [p for p in points if p["params"]["depth"] == L and p["params"]["noise_scale"] == s0]
        seed_markers(ax, pts, lambda p: p["params"]["factor"], i, f"L = {L}: trained",
                     y=lambda p, r: r["spectrum"][0])
    ax.axvline(1.0, color="gray", ls=":", lw=1)
    ax.set_xlim(0, top)
    ax.set_ylim(bottom=-0.02)
    ax.set_xlabel(r"weight decay relative to the critical value, $\gamma/\gamma^*_1(L)$")
    ax.set_ylabel(r"top eigenvalue of Cov$(z)$ (embedding variance)")
    ax.set_title(f"transition at $\\gamma^*_1$ ($s$ = {s0:g}): continuous at L = 1, a jump for L ≥ 2", fontsize=9)
    legend_below(ax, any_disagree(points), ncol=2)
    depths = np.asarray(list(ctx.size.factors))
    for j, s in enumerate(ctx.size.scales):
        ax2.scatter(depths, [crit[L, s] for L in depths], marker="_", s=500, linewidths=2.2,
                    color=F.COLORS[j], zorder=3, clip_on=False, label=rf"$s$ = {s:g}: theory $\gamma^*_1$")
        brackets, bounds = [], []  # [last γ alive, first γ dead]; alive at every γ tried: only a lower bound
        for L in depths:
            pts = [p for p in points if p["params"]["depth"] == L and p["params"]["noise_scale"] == s]
            alive = [p["params"]["weight_decay"] for p in pts if p["trained_rank"] > 0]
            dead = [p["params"]["weight_decay"] for p in pts if p["trained_rank"] == 0]
            if alive and dead:
                brackets.append((L, max(alive), min(dead)))
            elif alive:
                bounds.append((L, max(alive)))
        x = 0.1 * (j + 1)
        if brackets:
            Ls, lo, hi = (np.asarray(v, float) for v in zip(*brackets, strict=True))
            mid = np.sqrt(lo * hi)
            ax2.errorbar(Ls + x, mid, yerr=[mid - lo, hi - mid], fmt=F.MARKERS[j], color=F.COLORS[j], capsize=3,
                         ms=5, clip_on=False, label=rf"$s$ = {s:g}: trained bracket (last $\gamma$ alive … first dead)")
        if bounds:
            Ls, lo = (np.asarray(v, float) for v in zip(*bounds, strict=True))
            ax2.scatter(Ls + x, lo, marker="^", s=45, facecolors="none", edgecolors=F.COLORS[j], linewidths=1.5,
                        clip_on=False, label=rf"$s$ = {s:g}: trained alive at every $\gamma$ tried (lower bound)")
    ax2.set_xticks(depths)
    ax2.set_xlim(depths.min() - 0.5, depths.max() + 0.5)
    ax2.set_yscale("log")
    log_ticks(ax2, "y")
    ax2.set_xlabel(r"depth $L$ (number of linear layers)")
    ax2.set_ylabel(r"critical weight decay $\gamma^*_1$ of the top direction")
    ax2.set_title(r"$\gamma^*_1$ vs depth and augmentation", fontsize=9)
    legend_below(ax2, ncol=1)
    return F.save(fig, path)


EXPERIMENT = declare(__name__)
run = EXPERIMENT.run
