"""Phase diagram over augmentation strength × weight decay: theory boundaries drawn over trained ranks.

Paper: Ziyin, Lubana, Ueda & Tanaka (ICLR 2023, arXiv:2210.00638), the phase diagram.

Claim. InfoNCE with euclidean similarity and clean negatives (τ = 1, N = 256, c = (4, 3, 2, 1.5, 1, 0.5),
S = s·I): direction i survives iff (1 − 1/N)(2c_i − s)/(2τ) > γ, so the boundaries are the straight lines
γ = (1 − 1/N)(c_i − s/2); the plane splits into a no-collapse corner (small s, γ), dimensional-collapse bands
and a complete-collapse region (γ > c_1 − s/2). `sslscape.theory.phase.phase_diagram` computes the grid.

Command:  sslscape reproduce phase_diagram [--quick] --out out/reproduce
Expected: every trained point (markers, coloured by trained rank) lies in the theory cell of the same rank; the
grid points sit at least 0.25 (in γ) away from every boundary.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..report import figures as F
from ..theory.phase import Axis, phase_diagram
from ._theory import VARIANCES, gaussian_spec
from .runner import Context, declare, size

NAME = "phase_diagram"
CLAIM = ("Augmentation and weight decay together set the phase (none / dimensional / complete): for InfoNCE-"
         "euclidean with clean negatives the boundaries are the lines γ = (1 − 1/N)(c_i − s/2).")
EXPECTED = "Every trained point lies in the theory cell of its rank (points ≥ 0.25 in γ from every boundary)."
COV = VARIANCES
SIZES = {"tiny": size(200, 1, 0.2, gammas=(0.25, 2.25), scales=(0.0,)),
         "quick": size(1000, 1, 0.1, gammas=(0.25, 0.75, 1.25, 2.25), scales=(0.0, 1.0, 3.0, 5.0)),
         "full": size(3000, 2, 0.05, gammas=(0.25, 0.75, 1.25, 1.75, 2.25, 3.25),
                      scales=(0.0, 1.0, 2.0, 3.0, 5.0, 7.0))}


def spec(params: dict):
    return gaussian_spec(COV, objective="infonce", similarity="euclidean", protocol="clean_negatives",
                         weight_decay=params["weight_decay"], noise_scale=params["noise_scale"])


def grid(ctx: Context) -> list[dict]:
    return [{"weight_decay": g, "noise_scale": s, "steps": ctx.size.steps, "lr": ctx.size.lr}
            for g in ctx.size.gammas for s in ctx.size.scales]


def label(params: dict) -> str:
    return f"γ = {params['weight_decay']:g}, s = {params['noise_scale']:g}"


def summary(points: list[dict], ctx: Context) -> str:
    phases = sorted({p["theory"]["phase"] for p in points})
    return f"Grid points cover the phases {phases}; trained rank equals the theory cell's rank where agree."


def _diagram(ctx: Context):
    return _diagram_over(tuple(ctx.size.gammas), tuple(ctx.size.scales))


@lru_cache(maxsize=4)
def _diagram_over(gammas: tuple[float, ...], scales: tuple[float, ...]):
    x_hi = max(gammas) * 1.15 + 0.1
    y_hi = max(scales) * 1.15 + 0.5 if max(scales) > 0 else 2.0
    base = spec({"weight_decay": 0.0, "noise_scale": 1.0})
    # the figure's background is the quartic order's vectorised diagram (160 × 160 cells, the W = 0 thresholds);
    # the scored points are the default order's answers (`theory_point`, the learned point at this finite batch)
    return phase_diagram(base, Axis("weight_decay", 0.0, x_hi, 160), Axis("noise_scale", 0.0, y_hi, 160),
                         order="quartic")


def extras(points: list[dict], ctx: Context) -> dict:
    return {"theory_grid": {"x": "weight_decay", "y": "noise_scale", "method": _diagram(ctx).method}}


def figure(points: list[dict], ctx: Context, path: Path) -> Path:
    from matplotlib import colormaps

    from ..report.phase_plot import draw_phase_diagram

    diagram = _diagram(ctx)
    fig, (ax,) = F.figure(1, width=6.6, height=5.8)
    top = diagram.capacity
    cmap = colormaps["viridis"].resampled(top + 1)
    # the base spec's own point (γ = 0, s = 1) is no setting of this experiment: not marked
    mesh = draw_phase_diagram(ax, diagram, mark_point=False, alpha=0.85)
    fig.colorbar(mesh, ax=ax, ticks=F.integer_ticks()).set_label("rank (theory: colour; training: marker fill)")
    for p in points:
        x, y, r = p["params"]["weight_decay"], p["params"]["noise_scale"], p["trained_rank"]
        ax.scatter(x, y, s=170, marker="o", color=cmap(r), edgecolors="white" if p["agree"] else F.DISAGREE,
                   linewidths=1.2 if p["agree"] else 2.5, zorder=3, clip_on=False)
        ax.annotate(str(r), (x, y), ha="center", va="center", fontsize=7.5, color="white" if r < 4 else "black",
                    zorder=4, annotation_clip=False)
    ax.scatter([], [], s=80, color="gray", edgecolors="white", label="trained rank (marker fill and number)")
    if any(p["agree"] is False for p in points):
        ax.scatter([], [], s=80, color="gray", edgecolors=F.DISAGREE, linewidths=2.5, label="trained ≠ theory")
    ax.set_xlabel(r"weight decay $\gamma$ (coefficient of $\gamma\|W\|^2$)")
    ax.set_ylabel(r"augmentation strength $s$ (noise variance per axis)")
    ax.set_title(r"InfoNCE, euclidean, clean negatives ($\tau = 1$, $N = 256$)", fontsize=9)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=7.5, facecolor="0.75")
    return F.save(fig, path)


EXPERIMENT = declare(__name__)
run = EXPERIMENT.run
