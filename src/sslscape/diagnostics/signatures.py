"""Collapse signatures: patterns in a monitor's log that name a failure, its likely cause and the knob to turn.

Each detector reads the record just logged by `CollapseMonitor` (a dict: collapse rank, verdict, normalised std,
loss, VICReg terms, …) and the earlier records, and returns a `Signature` (what is seen, in words, with the
numbers) or None. The rules and their constants (docs/monitor.md):

constant_embeddings          `diagnose`'s verdict is complete collapse (spread ≤ 1e-3 of the mean ‖z‖², or no
                             direction above rounding): every input maps to one vector; or the embeddings'
                             total variance fell to ≤ VANISHED × the largest this run has logged (they shrink
                             to 0, as under a weight decay above every critical value)
negative_cosine_collapse     SimSiam/BYOL: the loss says the views agree perfectly — cos ≥ 1 − COSINE_GAP, read on
                             the loss's own scale: −cos (SimSiam; lightly's NegativeCosineSimilarity) or 2 − 2 cos
                             (BYOL's, sslscape's `byol_loss`: minimum 0) — while the std of L2-normalised
                             embeddings is ≤ NSTD_VANISHING × its healthy 1/√d: the trivial solution (Chen & He
                             2021, Fig. 2). An output BatchNorm keeps that std up: `dimensional_collapse` sees it
dimensional_collapse         the variance sits in a few directions: `diagnose` finds a knee (verdict dimensional
                             collapse) at DIMENSIONAL_LOGS logs in a row, or the effective rank fell to ≤
                             ERANK_FALL × the highest this run has logged since its first log (initialisation) and
                             RankMe with it; worded with the objective's cause and knob (the predictor for
                             SimSiam/BYOL; temperature, augmentation strength, weight decay for contrastive losses —
                             the theory's interval when there is a spec)
vicreg_variance_saturated    VICReg: the variance hinge mean_k relu(1 − std_k) ≥ VICREG_VARIANCE_SATURATED (of
                             its maximum 1: stds ≈ 0) and the covariance term ≤ VICREG_COVARIANCE_ZERO — both
                             computed from the embeddings with `sslscape.objectives.vicreg`'s own definitions
infonce_stuck                InfoNCE / NT-Xent: the loss within INFONCE_STUCK_RTOL·log K of log K (K candidates per
                             anchor — B for the CLIP form, 2B − 1 for NT-Xent, times the world size for a loss that
                             gathers across ranks: the value when every logit is equal) for INFONCE_STUCK_LOGS logs
                             in a row
rank_falling                 the collapse rank fell at each of the last RANK_FALL_LOGS logs, to ≤ RANK_FALL_RATIO
                             of where the fall began: directions dying one by one
weight_decay_above_critical  given a spec: γ above the critical value γ*_k of some direction k (predicted rank <
                             the maximum), with the predicted and measured ranks
nonfinite_embeddings         rows of NaN/Inf: the run diverged
The knob comes from the theory when the monitor has a spec (`Expectation.knob(keep)`: `sslscape.theory.advise`,
else the critical values); without one it is said in plain words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..objectives.registry import PREDICTIVE
from ..result import Result

COSINE_GAP = 0.01
NSTD_VANISHING = 0.1
VICREG_VARIANCE_SATURATED = 0.9
VICREG_COVARIANCE_ZERO = 1e-3
INFONCE_STUCK_RTOL = 0.01
INFONCE_STUCK_LOGS = 3
RANK_FALL_LOGS = 3
RANK_FALL_RATIO = 0.75
VANISHED = 1e-6  # the complete-collapse scale test of training (`rank.SCALE_COMPLETE`), against the run's own past
DIMENSIONAL_LOGS = 2  # a knee at 2 logs in a row (one log can catch a transient)
ERANK_FALL = 0.5  # … or the effective rank at ≤ half its highest since the first log (SimSiam without a predictor:
#                   0.32 of it after 300 steps, with one: 0.70 — benchmarks/RESULTS.md, issue 19)
CONTRASTIVE = ("infonce", "ntxent", "spectral")


@dataclass(frozen=True)
class Signature(Result):
    """One recognised failure: `name`, what is seen (`message`), the likely `cause`, the `knob` to turn, and the
    numbers behind it (`evidence`)."""

    name: str
    step: int
    message: str
    cause: str
    knob: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        return f"[step {self.step}] {self.name}: {self.message}. Likely cause: {self.cause}. Knob: {self.knob}."



@dataclass(frozen=True)
class Context:
    """What the detectors know besides the records: the objective ('simsiam', 'byol', 'vicreg', 'infonce',
    'spectral', 'barlow' or None), the number of candidates per InfoNCE anchor, the theory's expectation (or None)
    and `keep`, the number of directions the knob advice aims to keep (`user_keep`: the user's own choice)."""

    objective: str | None = None
    candidates: int | None = None
    expectation: Any = None
    keep: int = 1
    user_keep: int | None = None

    def knob(self, plain: str, keep: int | None = None) -> str:
        """The theory's knob when a spec is known, else the plain-words one."""
        if self.expectation is not None and self.expectation.knob is not None:
            return f"{self.expectation.knob(keep or self.keep)}; also: {plain}"
        return plain


Detector = Callable[[dict[str, Any], Sequence[dict[str, Any]], Context], Signature | None]


def _plain_decay_knob(objective: str | None) -> str:
    extra = "; for InfoNCE a lower temperature raises every critical value (γ*_k ∝ 1/τ)" if objective == "infonce" \
        else ""
    return ("lower the weight decay: a direction dies when γ exceeds its critical value (give the monitor a spec or "
            f"feature moments for the value){extra}")


def constant_embeddings(rec: dict[str, Any], history: Sequence[dict[str, Any]], ctx: Context) -> Signature | None:
    past = max((r.get("total_variance") or 0.0 for r in history), default=0.0)
    now = rec.get("total_variance")
    vanished = now is not None and past > 0 and now <= VANISHED * past
    if rec.get("verdict") != "complete collapse" and not vanished:
        return None
    if ctx.objective in PREDICTIVE:
        cause = (f"{ctx.objective} without an effective predictor or stop-gradient has the constant map as a "
                 "solution its dynamics fall into")
        plain = ("add a predictor head and a stop-gradient on the target branch (and an EMA target for BYOL); lower "
                 "the weight decay or the learning rate")
    elif ctx.objective == "vicreg":
        cause = "the variance term is too weak against invariance"
        plain = "raise VICReg's variance weight relative to invariance (defaults 25 / 25 / 1)"
    else:
        cause = "weight decay above the top direction's critical value, or a diverged/too-large learning rate"
        plain = _plain_decay_knob(ctx.objective)
    spread = rec.get("spread")
    cos = rec.get("mean_cosine")
    if rec.get("verdict") == "complete collapse":
        seen = (f"all {rec.get('n')} embeddings ≈ one vector (spread {spread:.1e} of the mean squared norm"
                + (f", mean pairwise cosine {cos:.4f}" if cos is not None else "") + ")")
    else:
        seen = (f"the embeddings' total variance fell to {now:.1e}, {now / past:.1e} of the largest this run logged "
                f"({past:.1e}): they are shrinking to a point")
    return Signature("constant_embeddings", rec["step"], seen, cause, ctx.knob(plain),
                     {"spread": spread, "mean_cosine": cos, "normalized_std": rec.get("normalized_std"),
                      "total_variance": now, "largest_total_variance": past})


def view_cosine(loss: float, objective: str | None, history: Sequence[dict[str, Any]]) -> float:
    """The mean cosine of the two views' prediction and target, read off a SimSiam/BYOL loss on its own scale:
    −cos, or for BYOL 2 − 2 cos (minimum 0) unless the run has logged a negative loss (a negative-cosine BYOL, as
    lightly's examples write it)."""
    negative_scale = objective != "byol" or loss < 0 or any((r.get("loss") or 0.0) < 0 for r in history)
    return -loss if negative_scale else 1.0 - loss / 2.0


def negative_cosine_collapse(rec: dict[str, Any], history: Sequence[dict[str, Any]],
                             ctx: Context) -> Signature | None:
    loss, nstd, dim = rec.get("loss"), rec.get("normalized_std"), rec.get("dim")
    if ctx.objective not in PREDICTIVE or loss is None or nstd is None or not dim:
        return None
    ratio = nstd * math.sqrt(dim)
    cos = view_cosine(loss, ctx.objective, history)
    if not (cos >= 1 - COSINE_GAP and ratio <= NSTD_VANISHING):
        return None
    scale = "2 − 2 cos" if cos != -loss else "−cos"
    return Signature(
        "negative_cosine_collapse", rec["step"],
        f"{ctx.objective} loss {loss:.4f} ({scale}: cos {cos:.4f} ≈ 1, the two views' embeddings agree perfectly) "
        f"while the std of L2-normalised embeddings is {nstd:.2e} = {ratio:.3f} × its healthy 1/√d",
        "the trivial solution: the network outputs (nearly) the same vector for every input, which agrees with "
        "itself; the predictor or stop-gradient that prevents it is missing or ineffective",
        ctx.knob("add a predictor (an MLP head on the online branch) and keep the stop-gradient on the target "
                 "(Chen & He 2021: without the predictor SimSiam collapses); for BYOL an EMA target with decay "
                 "0.99–0.996; lower the weight decay on the predictor"),
        {"loss": loss, "cosine": cos, "normalized_std": nstd, "normalized_std_over_healthy": ratio})


def _collapse_words(objective: str | None) -> tuple[str, str]:
    """(likely cause, knob in plain words) of a dimensional collapse, by objective."""
    if objective in PREDICTIVE:
        return (f"{objective} without an effective predictor: with a stop-gradient the predictor is what keeps the "
                "weak eigenmodes of the embedding alive (Tian, Chen & Ganguli 2021); without one, or with one that is "
                "too weak or decayed, all but a few directions die (Chen & He 2021, Fig. 2). An output BatchNorm "
                "keeps each dimension's variance up, but not the rank",
                "add or restore the predictor (SimSiam: an MLP d → d/4 → d, its learning rate kept constant — Chen & "
                "He 2021 §4.1) and keep the stop-gradient; for BYOL an EMA target with decay 0.99–0.996; lower the "
                "weight decay")
    if objective in CONTRASTIVE:
        return ("strong augmentation makes the directions it perturbs worthless to the loss, and a low temperature "
                "or a weight decay above their critical values removes them (Jing et al. 2022; Ziyin et al. 2023)",
                "raise the temperature (e.g. 0.1 → 0.2–0.5), weaken the augmentation of the directions you need "
                "(crop scale, colour jitter), lower the weight decay; measure the backbone's features as well — a "
                "projector lets the backbone keep what the embedding drops (Jing et al. 2022)")
    if objective in ("barlow", "vicreg"):
        return ("the redundancy / variance terms are too weak against invariance, or the weight decay removes the "
                "weak directions",
                "raise Barlow Twins' λ or VICReg's variance and covariance weights relative to invariance, and "
                "lower the weight decay")
    return ("a weight decay above the critical values of the lost directions, a temperature too low, an "
            "augmentation too strong, or (SimSiam/BYOL) no effective predictor",
            "name the objective (objective=) for specific advice; lower the weight decay")


def dimensional_collapse(rec: dict[str, Any], history: Sequence[dict[str, Any]], ctx: Context) -> Signature | None:
    def knee(r: dict[str, Any]) -> bool:
        return str(r.get("verdict", "")).startswith("dimensional collapse") and r.get("knee_decades") is not None

    if rec.get("verdict") == "complete collapse" or rec.get("effective_rank") is None:
        return None  # constant_embeddings says it
    recent = [*history[-(DIMENSIONAL_LOGS - 1):], rec] if DIMENSIONAL_LOGS > 1 else [rec]
    held = len(recent) >= DIMENSIONAL_LOGS and all(knee(r) for r in recent)
    was = bool(history) and any(s.get("name") == "dimensional_collapse" for s in history[-1].get("signatures", []))
    erank, rankme = rec.get("effective_rank"), rec.get("rankme")
    since_first = [r for r in history[1:] if r.get("effective_rank") is not None]  # the first log: initialisation
    top = max(since_first, key=lambda r: r["effective_rank"], default=None)
    fell = (erank is not None and top is not None and erank <= ERANK_FALL * top["effective_rank"]
            and rankme is not None and top.get("rankme") and rankme <= ERANK_FALL * top["rankme"])
    if not (held or fell or (was and knee(rec))):
        return None
    k, dim = rec.get("rank"), rec.get("dim")
    seen = []
    if knee(rec):
        kn = rec.get("knee") or {}
        seen.append(f"the top {k} of {dim} directions hold {rec.get('surviving_variance_share', 0.0):.1%} of the "
                    f"variance — the spectrum drops {rec['knee_decades']:.1f} decades after direction "
                    f"{kn.get('start', k)} (a knee)")
    if fell:
        seen.append(f"effective rank {erank:.1f} (RankMe {rankme:.1f}), down from {top['effective_rank']:.1f} at "
                    f"step {top['step']}")
    else:
        seen.append(f"effective rank {erank:.1f} (RankMe {rankme:.1f})")
    cause, plain = _collapse_words(ctx.objective)
    return Signature(
        "dimensional_collapse", rec["step"], "dimensional collapse: " + "; ".join(seen), cause,
        ctx.knob(plain), {"rank": k, "dim": dim, "knee_decades": rec.get("knee_decades"),
                          "surviving_variance_share": rec.get("surviving_variance_share"), "effective_rank": erank,
                          "rankme": rankme, "highest_effective_rank": None if top is None else top["effective_rank"]})


def vicreg_variance_saturated(rec: dict[str, Any], history: Sequence[dict[str, Any]],
                              ctx: Context) -> Signature | None:
    var, cov = rec.get("vicreg_variance"), rec.get("vicreg_covariance")
    if var is None or cov is None:
        return None
    if not (var >= VICREG_VARIANCE_SATURATED and cov <= VICREG_COVARIANCE_ZERO):
        return None
    return Signature(
        "vicreg_variance_saturated", rec["step"],
        f"VICReg's variance hinge mean relu(1 − std) is {var:.3f} (saturated: maximum 1, every std ≈ 0) and its "
        f"covariance term is {cov:.1e} ≈ 0",
        "the embeddings shrank to a point: the invariance term outweighs the variance term (or the variance "
        "term is not applied to the embeddings the invariance term sees)",
        ctx.knob("raise the variance weight relative to invariance (VICReg's defaults are 25 / 25 / 1), apply it to "
                 "each branch's un-normalised embeddings, and lower the weight decay"),
        {"variance_term": var, "covariance_term": cov})


def infonce_stuck(rec: dict[str, Any], history: Sequence[dict[str, Any]], ctx: Context) -> Signature | None:
    if ctx.objective not in ("infonce", "ntxent"):
        return None
    recent = [*history[-(INFONCE_STUCK_LOGS - 1):], rec] if INFONCE_STUCK_LOGS > 1 else [rec]
    losses = [r.get("loss") for r in recent]
    if len(recent) < INFONCE_STUCK_LOGS or any(v is None or not math.isfinite(v) for v in losses):
        return None
    # K: the user's, else the local count and (under DDP) the gathered one — whichever the loss sits at
    options = [ctx.candidates] if ctx.candidates else [rec.get("candidates"), rec.get("candidates_gathered")]
    stuck = [k for k in options if k and k >= 2
             and all(abs(v - math.log(k)) <= INFONCE_STUCK_RTOL * math.log(k) for v in losses)]
    if not stuck:
        return None
    k = stuck[0]
    target = math.log(k)
    name = "NT-Xent" if ctx.objective == "ntxent" else "InfoNCE"
    return Signature(
        "infonce_stuck", rec["step"],
        f"the {name} loss has stayed at {losses[-1]:.4f} ≈ log({k}) = {target:.4f} for {len(recent)} logs "
        f"(steps {recent[0]['step']}–{rec['step']}): the positive is no more likely than any of the {k} candidates "
        "— nothing has been learned",
        "all logits are equal: the embeddings collapsed or never grew (weight decay above the top direction's "
        "critical value, a learning rate too small), or the two views are not paired",
        ctx.knob(_plain_decay_knob("infonce") + "; check that positive pairs are two views of one example"),
        {"loss": losses[-1], "log_candidates": target, "candidates": k})


def rank_falling(rec: dict[str, Any], history: Sequence[dict[str, Any]], ctx: Context) -> Signature | None:
    seq = [r for r in [*history, rec] if isinstance(r.get("rank"), int)][-(RANK_FALL_LOGS + 1):]
    if len(seq) < RANK_FALL_LOGS + 1:
        return None
    ranks = [r["rank"] for r in seq]
    if not all(b < a for a, b in zip(ranks, ranks[1:], strict=False)) or ranks[-1] > RANK_FALL_RATIO * ranks[0]:
        return None
    path = " → ".join(str(r) for r in ranks)
    return Signature(
        "rank_falling", rec["step"],
        f"the collapse rank fell at every one of the last {RANK_FALL_LOGS} logs: {path} (steps {seq[0]['step']}–"
        f"{rec['step']}): directions are dying one by one",
        "dimensional collapse: weight decay above the critical values of the dying directions (each direction k "
        "dies once γ > γ*_k), or an augmentation strong enough to make their cross-view covariance vanish",
        ctx.knob(_plain_decay_knob(ctx.objective)), {"ranks": ranks, "steps": [r["step"] for r in seq]})


def weight_decay_above_critical(rec: dict[str, Any], history: Sequence[dict[str, Any]],
                                ctx: Context) -> Signature | None:
    exp = ctx.expectation
    if exp is None or not exp.critical_weight_decay or exp.rank >= min(exp.capacity, exp.embed_dim):
        return None
    crit = exp.critical_weight_decay
    dying = [k + 1 for k, g in enumerate(crit[: min(exp.capacity, exp.embed_dim)]) if g <= exp.weight_decay]
    if not dying:
        return None
    first = dying[0]
    keep = ctx.user_keep or min(exp.capacity, exp.embed_dim)  # the directions that die are the ones to keep
    return Signature(
        "weight_decay_above_critical", rec["step"],
        f"weight decay γ = {exp.weight_decay:.3g} is above the critical value of directions {first}…"
        f"{dying[-1]} (γ*_{first} = {crit[first - 1]:.3g}); theory predicts rank {exp.rank} of "
        f"{min(exp.capacity, exp.embed_dim)}, measured {rec.get('rank')}",
        "explicit weight decay removes every direction whose critical value γ*_k (the k-th eigenvalue of the "
        "landscape's quadratic term) it exceeds (Ziyin et al. 2023)",
        ctx.knob("lower the weight decay", keep),
        {"weight_decay": exp.weight_decay, "first_dying": first, "critical_value": crit[first - 1],
         "predicted_rank": exp.rank, "measured_rank": rec.get("rank")})


def nonfinite_embeddings(rec: dict[str, Any], history: Sequence[dict[str, Any]], ctx: Context) -> Signature | None:
    rows = rec.get("nonfinite_rows")
    if not rows:
        return None
    return Signature(
        "nonfinite_embeddings", rec["step"], f"{rows} of the embeddings are NaN/Inf",
        "the run diverged (learning rate too high, a loss that overflowed, a bad batch)",
        "lower the learning rate, add warmup or gradient clipping; resume from the last finite checkpoint",
        {"nonfinite_rows": rows})


DETECTORS: tuple[Detector, ...] = (nonfinite_embeddings, constant_embeddings, negative_cosine_collapse,
                                   dimensional_collapse, vicreg_variance_saturated, infonce_stuck, rank_falling,
                                   weight_decay_above_critical)


def detect(rec: dict[str, Any], history: Sequence[dict[str, Any]], ctx: Context) -> list[Signature]:
    """Every signature present in `rec` (with the earlier records `history`, oldest first)."""
    return [s for s in (d(rec, history, ctx) for d in DETECTORS) if s is not None]
