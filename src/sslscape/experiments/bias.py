"""A bias (or a non-zero data mean) can take an embedding dimension away from the data.

Paper: Ziyin, Lubana, Ueda & Tanaka (ICLR 2023, arXiv:2210.00638), the effect of a bias.

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

from pathlib import Path

import numpy as np

from ..report import figures as F
from ._plots import any_disagree, legend_below, rank_axis, seed_markers
from ._theory import VARIANCES, gaussian_spec, predicted
from ._training import train_at
from .runner import Context, declare, size

NAME = "bias"
CLAIM = ("A bias takes an embedding dimension (rank d − 1 for every data mean); without a bias a large data mean "
         "takes it instead (the third eigenvalue of Cov(z) shrinks as the mean grows).")
EXPECTED = "Trained ranks equal the closed form's; the trained third eigenvalue follows the theory curve."
COV = VARIANCES
EMBED = 3
SIZES = {"tiny": size(200, 1, 0.2, means=(0.0,)),
         "quick": size(1500, 1, 0.05, means=(0.0, 1.0, 3.0)),
         "full": size(4000, 3, 0.03, means=(0.0, 0.5, 1.0, 2.0, 3.0, 5.0))}


def spec(params: dict):
    return gaussian_spec(COV, mean=params["mean"], objective="spectral", weight_decay=1.5, embed_dim=EMBED,
                         bias=params["bias"])


def grid(ctx: Context) -> list[dict]:
    return [{"mean": m, "bias": b, "steps": ctx.size.steps, "lr": ctx.size.lr}
            for b in (False, True) for m in ctx.size.means]


def train_point(params: dict, seed: int) -> dict:
    t = train_at(spec(params), params, seed)
    return {**t.summary(), "bias_norm": None if t.bias is None else float(np.linalg.norm(t.bias))}


def label(params: dict) -> str:
    return f"mean {params['mean']:g}, bias {'on' if params['bias'] else 'off'}"


def describe(point: dict, ctx: Context) -> dict:
    return {"theory_third_eigenvalue": point["theory"]["spectrum"][EMBED - 1],
            "trained_third_eigenvalue": float(np.mean([r["spectrum"][EMBED - 1] for r in point["trained"]]))}


def summary(points: list[dict], ctx: Context) -> str:
    on = [p["trained_rank"] for p in points if p["params"]["bias"]]
    off = [round(p["trained_third_eigenvalue"], 4) for p in points if not p["params"]["bias"]]
    return (f"Bias on: trained ranks {on} (d = {EMBED}). Bias off: trained third eigenvalue {off} over means "
            f"{list(ctx.size.means)}.")


def figure(points: list[dict], ctx: Context, path: Path) -> Path:
    fig, (ax, ax2) = F.figure(2, height=4.6)
    hi = max(ctx.size.means) * 1.08 + 0.25
    fine = np.linspace(0.0, hi, 25)
    for i, bias in enumerate((False, True)):
        name = "bias on" if bias else "bias off"
        curve = [predicted(spec({"mean": float(m), "bias": bias})) for m in fine]
        F.theory_line(ax, fine, [spec[EMBED - 1] for _, spec in curve], i, f"{name}: theory")
        F.theory_line(ax2, fine, [r for r, _ in curve], i, f"{name}: theory", step=True)
        pts = [p for p in points if p["params"]["bias"] == bias]
        seed_markers(ax, pts, lambda p: p["params"]["mean"], i, f"{name}: trained",
                     y=lambda p, r: r["spectrum"][EMBED - 1])
        seed_markers(ax2, pts, lambda p: p["params"]["mean"], i, f"{name}: trained", offset=0.03 * hi * (i - 0.5))
    for a in (ax, ax2):
        a.set_xlim(0, hi)
        a.set_xlabel(r"data mean $m$ ($\mu = m\cdot\mathbf{1}$)")
    ax.set_ylabel(r"3rd eigenvalue of Cov$(z)$ (embedding variance)")
    ax.set_ylim(bottom=-0.01)
    ax.set_title(f"the embedding dimension at stake (d = {EMBED})", fontsize=9)
    legend_below(ax, any_disagree(points))
    rank_axis(ax2, EMBED)
    ax2.set_title("rank: the bias spends one dimension on a constant", fontsize=9)
    legend_below(ax2, any_disagree(points))
    return F.save(fig, path)


EXPERIMENT = declare(__name__)
run = EXPERIMENT.run
