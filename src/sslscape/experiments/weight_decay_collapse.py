"""Weight decay drives dimensional collapse, then complete collapse; the critical values are per direction.

Paper: Ziyin, Lubana, Ueda & Tanaka (ICLR 2023, arXiv:2210.00638), weight-decay collapse.

Claim. With data variances c = (4, 3, 2, 1.5, 1, 0.5) and mild augmentation (S = I):
  * spectral loss: direction i dies at γ*_i = 2c_i = (8, 6, 4, 3, 2, 1) — exactly (the population loss is quartic);
  * InfoNCE, dot similarity (τ = 1, N = 256): γ*_i = (1 − p̄)c_i/τ ≈ c_i = (4, 3, 2, 1.5, 1, 0.5) at quartic order.
As γ grows the rank falls one direction at a time (dimensional collapse) until every direction is gone
(complete collapse) above γ*_1.

Command:  sslscape reproduce weight_decay_collapse [--quick] --out out/reproduce
Expected: trained ranks match the predicted staircase at every γ (grid points kept away from the γ*_i); the
figure shows the rank staircases with the critical values as dotted lines and the complete-collapse band.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..report import figures as F
from ..theory.predict import phase_of
from ._plots import any_disagree, legend_below, rank_axis, seed_markers, theory_steps
from ._theory import VARIANCES, gaussian_spec
from .runner import Context, declare, size

NAME = "weight_decay_collapse"
CLAIM = ("Weight decay causes dimensional collapse (the rank falls one direction at a time, at critical values "
         "γ*_i = 2c_i for the spectral loss and ≈ c_i/τ for InfoNCE-dot) and complete collapse above the largest.")
EXPECTED = "Trained ranks follow the predicted staircase at every γ (grid points away from the γ*_i)."
COV = VARIANCES
CASES = {
    "spectral": dict(objective="spectral"),
    "infonce-dot": dict(objective="infonce", similarity="dot", protocol="augmented_negatives"),
}
SIZES = {
    "tiny": size(200, 1, 0.2, gammas={"spectral": (2.5, 12.0)}),
    "quick": size(1000, 1, 0.1, gammas={"spectral": (0.5, 1.5, 2.5, 5.0, 7.0, 9.0),
                                        "infonce-dot": (0.25, 0.75, 1.25, 2.5, 3.5, 4.5)}),
    "full": size(3000, 3, 0.05, gammas={"spectral": (0.25, 0.5, 1.5, 2.5, 3.5, 5.0, 7.0, 9.0, 10.0),
                                        "infonce-dot": (0.1, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 4.5, 5.0)}),
}
TINY = SIZES["tiny"]  # the sweep tests resume this one


def spec(params: dict):
    return gaussian_spec(COV, **CASES[params["case"]], weight_decay=params["weight_decay"])


def grid(ctx: Context) -> list[dict]:
    return [{"case": c, "weight_decay": g, "steps": ctx.size.steps, "lr": ctx.size.lr}
            for c, gs in ctx.size.gammas.items() for g in gs]


def label(params: dict) -> str:
    return f"{params['case']} at γ = {params['weight_decay']:g}"


def critical_from_training(gammas: list[float], ranks: list[int], k: int) -> float | None:
    """Midpoint between the last γ where rank ≥ k and the next γ (where it is < k); None if not bracketed."""
    for g0, g1, r0, r1 in zip(gammas, gammas[1:], ranks, ranks[1:], strict=False):
        if r0 >= k > r1:
            return 0.5 * (g0 + g1)
    return None


def _by_case(points: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for p in points:
        out.setdefault(p["params"]["case"], []).append(p)
    return out


def describe(point: dict, ctx: Context) -> dict:
    return {"trained_phase": phase_of(point["trained_rank"], len(COV))}


def extras(points: list[dict], ctx: Context) -> dict:
    critical = {}
    for case, pts in _by_case(points).items():
        gs, rs = [p["params"]["weight_decay"] for p in pts], [p["trained_rank"] for p in pts]
        critical[case] = {"theory": pts[0]["theory"]["thresholds"]["critical_weight_decay"],
                          "trained_bracket_midpoint": [critical_from_training(gs, rs, k)
                                                       for k in range(1, len(COV) + 1)]}
    return {"critical_weight_decay": critical}


def summary(points: list[dict], ctx: Context) -> str:
    return "Trained phases as γ grows: " + "; ".join(
        f"{case}: {' → '.join(dict.fromkeys(p['trained_phase'] for p in pts))}"
        for case, pts in _by_case(points).items()) + "."


def figure(points: list[dict], ctx: Context, path: Path) -> Path:
    cases = _by_case(points)
    fig, axes = F.figure(len(cases), height=4.4)
    for i, ((case, pts), ax) in enumerate(zip(cases.items(), axes, strict=True)):
        crit = np.asarray(pts[0]["theory"]["thresholds"]["critical_weight_decay"], float)
        hi = max(max(p["params"]["weight_decay"] for p in pts), crit.max()) * 1.12
        theory_steps(ax, 0.0, hi, int(np.sum(crit > 0)), crit, i, "theory rank (closed form)")
        for k, g in enumerate(crit[crit > 0]):
            ax.axvline(g, color="gray", ls=":", lw=0.8, label=r"critical values $\gamma^*_i$" if k == 0 else None)
        ax.axvspan(crit.max(), hi, color="0.9", zorder=0, label="complete collapse (theory)")
        seed_markers(ax, pts, lambda p: p["params"]["weight_decay"], i, "trained (Adam + L2)")
        ax.set_xlim(0, hi)
        rank_axis(ax, len(COV))
        ax.set_xlabel(r"weight decay $\gamma$ (coefficient of $\gamma\|W\|^2$)")
        ax.set_title(f"{case}: the rank falls one direction at each $\\gamma^*_i$", fontsize=9)
        legend_below(ax, any_disagree(pts))
    return F.save(fig, path)


EXPERIMENT = declare(__name__)
run = EXPERIMENT.run
