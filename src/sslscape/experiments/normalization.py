"""Normalization changes how weight decay collapses a representation: cosine vs dot, standardised vs raw Barlow.

Paper: Ziyin, Lubana, Ueda & Tanaka (ICLR 2023, arXiv:2210.00638), the effect of normalization.

Claim. With c = (4, 3, 2, 1.5, 1, 0.5), S = I:
  * InfoNCE with dot similarity loses directions as γ grows (γ*_i ≈ c_i), but with cosine similarity the loss
    is scale-invariant: weight decay only shrinks ‖W‖ and cannot change which directions are learned, so the
    rank is the same at every γ.
  * Barlow Twins on raw embeddings (λ = 1) loses direction i once γ > 2c_i; with batch standardisation (the
    standard Barlow Twins) the loss is scale-invariant and the rank does not depend on γ.
Theory: the exact solver (`sslscape.theory.exact.exact_solution`, the engine of `predict(spec, 'exact')`; here on
a smaller Monte-Carlo sample in --quick) for every point, next to the quartic closed form where one exists. A
scale-invariant loss is solved once per case (at γ = 0: on the sphere γ is a constant).

Command:  sslscape reproduce normalization [--quick] --out out/reproduce
Expected: dot / raw: the rank falls with γ in theory and training alike; cosine / standardised: flat.
"""

from __future__ import annotations

from pathlib import Path

from ..moments import moments_of
from ..report import figures as F
from ..theory.exact import exact_solution, is_scale_invariant
from ._plots import any_disagree, legend_below, rank_axis, seed_markers, theory_steps
from ._theory import VARIANCES, gaussian_spec, theory_point
from .runner import Context, declare, size

NAME = "normalization"
CLAIM = ("Normalization removes weight-decay collapse: InfoNCE-dot and raw Barlow lose directions as γ grows, "
         "InfoNCE-cosine and batch-standardised Barlow keep the same rank at every γ (scale-invariant losses).")
EXPECTED = "Dot / raw: the rank falls with γ in theory and training alike; cosine / standardised: flat."
COV = VARIANCES
CASES = {
    "infonce-dot": dict(objective="infonce", similarity="dot"),
    "infonce-cosine": dict(objective="infonce", similarity="cosine"),
    "barlow-raw": dict(objective="barlow", normalization="none", barlow_lambda=1.0),
    "barlow-standardised": dict(objective="barlow", normalization="batch", barlow_lambda=1.0),
}
PAIRS = (("infonce-dot", "infonce-cosine"), ("barlow-raw", "barlow-standardised"))
# γ per case: for the unnormalised losses chosen between the critical values (c_i resp. 2c_i)
GAMMAS = {"infonce-dot": (0.25, 1.25, 3.5), "infonce-cosine": (0.25, 1.25, 3.5),
          "barlow-raw": (0.5, 2.5, 7.0), "barlow-standardised": (0.5, 2.5, 7.0)}
SIZES = {"tiny": size(200, 1, 0.2, gammas={"infonce-dot": (3.5,), "infonce-cosine": (3.5,)}, exact_pairs=256,
                      exact_starts=1),
         "quick": size(1000, 1, 0.05, gammas=GAMMAS, exact_pairs=1024, exact_starts=2),
         "full": size(3000, 3, 0.03, gammas=GAMMAS, exact_pairs=4096, exact_starts=3)}


def spec(params: dict):
    return gaussian_spec(COV, **CASES[params["case"]], weight_decay=params["weight_decay"])


def grid(ctx: Context) -> list[dict]:
    return [{"case": c, "weight_decay": g, "kind": "train", "steps": ctx.size.steps, "lr": ctx.size.lr}
            for c, gs in ctx.size.gammas.items() for g in gs]


def solve_params(params: dict, ctx: Context) -> dict:
    """The exact-solver job of a point: γ = 0 for a scale-invariant loss (one solve per case)."""
    invariant = is_scale_invariant(spec({**params, "weight_decay": 0.0}))
    return {"case": params["case"], "kind": "exact", "weight_decay": 0.0 if invariant else params["weight_decay"],
            "pairs": ctx.size.exact_pairs, "starts": ctx.size.exact_starts}


def solve_point(params: dict, seed: int) -> dict:
    problem = spec(params)
    sol = exact_solution(problem, moments_of(problem), n_pairs=params["pairs"], n_starts=params["starts"],
                         max_iter=100)
    return {"rank": sol.rank, "spectrum": [float(v) for v in sol.spectrum], "method": sol.method}


def theory(params: dict, ctx: Context) -> dict:
    """The exact solver's rank and spectrum (what is scored), with the quartic closed form beside it."""
    problem = spec(params)
    quartic = None if is_scale_invariant(problem) else theory_point(problem)
    return {**ctx.solution(params), "order": "exact", "quartic_rank": None if quartic is None else quartic["rank"],
            "quartic_thresholds": None if quartic is None else quartic["thresholds"]["critical_weight_decay"]}


def label(params: dict) -> str:
    return f"{params['case']} at γ = {params['weight_decay']:g}"


def reason(point: dict) -> str:
    return "training and the exact solver disagree"


def notes(points: list[dict], ctx: Context) -> list[dict]:
    return [{"claim": f"{p['label']}: quartic rank {p['theory']['quartic_rank']} vs exact rank {p['theory']['rank']}",
             "reason": "the quartic closed form and the exact solver disagree (beyond-quartic effect)"}
            for p in points if p["theory"]["quartic_rank"] not in (None, p["theory"]["rank"])]


def summary(points: list[dict], ctx: Context) -> str:
    ranks = {c: [p["trained_rank"] for p in points if p["params"]["case"] == c] for c in ctx.size.gammas}
    return "Trained ranks over γ: " + "; ".join(f"{c}: {v}" for c, v in ranks.items()) + "."


def figure(points: list[dict], ctx: Context, path: Path) -> Path:
    pairs = [[c for c in pair if c in ctx.size.gammas] for pair in PAIRS]
    pairs = [pair for pair in pairs if pair]
    fig, axes = F.figure(len(pairs), width=5.6, height=4.8)
    gammas = [p["params"]["weight_decay"] for p in points]
    hi = max(gammas) * 1.12
    for ax, pair in zip(axes, pairs, strict=True):
        for i, case in enumerate(pair):
            pts = [p for p in points if p["params"]["case"] == case]
            xs = [p["params"]["weight_decay"] for p in pts]
            crit = pts[0]["theory"]["quartic_thresholds"]
            if crit is not None:
                theory_steps(ax, 0.0, hi, sum(c > 0 for c in crit), crit, i, f"{case}: theory (quartic)")
            else:  # scale-invariant: one exact solve holds for every γ
                theory_steps(ax, 0.0, hi, pts[0]["theory"]["rank"], (), i, f"{case}: theory (exact, any γ)", ls="--")
            ax.scatter(xs, [p["theory"]["rank"] for p in pts], s=150, facecolors="none", edgecolors=F.COLORS[i],
                       linewidths=1.5, zorder=2, clip_on=False, label=f"{case}: exact solver")
            seed_markers(ax, pts, lambda p: p["params"]["weight_decay"], i, f"{case}: trained")
        ax.set_xlim(0, hi)
        ax.set_xlabel(r"weight decay $\gamma$ (coefficient of $\gamma\|W\|^2$)")
        rank_axis(ax, len(COV))
        ax.set_title(" vs ".join(pair), fontsize=9)
        legend_below(ax, any_disagree(points), ncol=2)
    return F.save(fig, path)


EXPERIMENT = declare(__name__)
run = EXPERIMENT.run
