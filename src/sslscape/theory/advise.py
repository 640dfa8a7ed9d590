"""`advise`: the inverse question — which value of one knob (weight decay, temperature, augmentation strength,
batch size), all else fixed, keeps exactly K directions (or at least K).

Where the theory has closed-form critical values the answer is exact: the rank of the closed-form minimum changes
only at the per-direction critical values (`Thresholds`), so the knob's axis splits at those points into intervals
of constant rank; the rank inside each interval is read off `predict` at an interior point, and the intervals with
rank K (≥ K) are the answer — their ends *are* the critical values:

    weight decay    γ*_k (depth 1: eigenvalues of A, generalised with a bias; depth L: the closed form of
                    `solve.depth_critical_weight_decay`); direction k survives iff γ < γ*_k
    temperature     τ*_k = τ a_k / γ (InfoNCE: A ∝ 1/τ); direction k survives iff τ < τ*_k (γ > 0)
    noise scale     the roots s*_k of det(A₀ + s A₁ − γG) = 0 (A is affine in s); none where the augmentation
                    enters only the quartic term (dot-similarity InfoNCE, spectral, Barlow Twins)
    batch size      InfoNCE: A = (1 − 1/N) A_∞, so direction k survives iff N > N*_k = 1 / (1 − γ / a_k^∞)

The default order's own critical values are used, so that `predict` (default order) inside each interval gives
the interval's rank:
    learned point   finite-batch dot InfoNCE: the knob values where a direction's growth (1 − p̄_{−k}) c_k/τ − γ
                    changes sign with every other direction re-solved (p̄ moves with the knob):
                    `finite_batch.rank_changes` (a grid of learned-point solves, Brent on each sign change)
    per direction   dot SimSiam (and BYOL from a balanced start): γ*_k = λ_k/(2 s*(p₀, w₀)) — direction k escapes
                    for γ below it; cosine: weight decay and the batch size never change the mean-field answer

    population      VICReg / standardised Barlow Twins (`population`): the water level ν (VICReg) and the SNR
                    level ρ_c (Barlow) move with every knob, so their frozen-level values are not the rank changes:
                    the knob is scanned with the closed form (milliseconds per point); weight decay and the batch
                    size never change standardised Barlow's rank (said so)

Without closed-form critical values (normalised embeddings, VICReg, Barlow with λ < 1, finite-batch Barlow, BYOL
dot from an unbalanced start, the noise scale of cosine SimSiam/BYOL) the knob is scanned with `predict` at the
requested order (default: 'auto') and each rank change bisected; the answer says so (`order`, `method`).
Tests: tests/theory/test_advise.py (intervals = thresholds for every closed-form objective,
predict inside each interval) and benchmarks/advise_check.py (specs from the middle of advised intervals trained).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import UserError
from ..result import Result
from ..spec import Spec
from .predict import Prediction, predict

KNOBS: tuple[str, ...] = ("weight_decay", "temperature", "noise_scale", "batch_size")
FIELDS = {"weight_decay": "weight_decay", "temperature": "temperature", "noise_scale": "augmentation.noise_scale",
          "batch_size": "batch_size"}
Interval = tuple[float, float | None]  # [lo, hi); hi None for an open end


@dataclass(frozen=True)
class Advice(Result):
    """The answer of `advise`. `interval`: [lo, hi) of the knob on which the predicted rank is `keep` (≥ keep with
    `at_least`) — the one holding the spec's own value, else the nearest; None when no value does (`reason`
    says why). `intervals`: all of them. `rank_inside`: the predicted rank inside `interval`. `current`: the
    spec's own value and rank. `order`/`method`: how the ranks were obtained (closed-form thresholds, or a scan)."""

    knob: str
    keep: int
    at_least: bool
    interval: Interval | None
    intervals: tuple[Interval, ...]
    rank_inside: int | None
    current_value: float | None
    current_rank: int
    order: str
    method: str
    reason: str
    critical_values: tuple[float, ...] = field(default_factory=tuple)

    @property
    def possible(self) -> bool:
        return self.interval is not None

    def to_dict(self) -> dict[str, Any]:
        return {**Result.to_dict(self), "possible": self.possible}


def _value(spec: Spec, knob: str) -> float | None:
    if knob == "noise_scale":
        return spec.augmentation.noise_scale
    if knob == "batch_size":
        return None if spec.batch_size is None else float(spec.batch_size)
    return float(getattr(spec, knob))


def _at(spec: Spec, knob: str, value: float) -> Spec:
    v: float | int = int(round(value)) if knob == "batch_size" else float(value)
    return spec.with_updates(**{FIELDS[knob]: v})


def _domain(knob: str) -> tuple[float, float]:
    return {"weight_decay": (0.0, math.inf), "temperature": (0.0, math.inf), "noise_scale": (0.0, math.inf),
            "batch_size": (2.0, math.inf)}[knob]


def _learned_point_range(spec: Spec, knob: str) -> tuple[float, float]:
    """Where the learned-point rank can change: every direction is dead once γτ exceeds max c (p̄ ≥ 0), and the
    scan reaches two decades below the weakest direction's c/τ (smaller values: a hard-max softmax, not covered)."""
    from ..moments import moments_of

    c = np.linalg.eigvalsh(moments_of(spec).cov)
    c_max, c_min = float(c.max()), float(c[c > 1e-12 * c.max()].min())
    if knob == "weight_decay":
        return 1e-2 * c_min / spec.temperature, 1.02 * c_max / spec.temperature
    if knob == "temperature":
        return 1e-2 * c_min / spec.weight_decay, 1.02 * c_max / spec.weight_decay
    if knob == "noise_scale":
        base = spec.augmentation.noise_scale or 1.0
        return 1e-3 * base, 1e3 * base
    return 2.0, 65536.0


@lru_cache(maxsize=64)
def _learned_point_changes(spec_json: str, knob: str) -> tuple[float, ...]:
    """`finite_batch.rank_changes` over the knob's range, cached per (spec, knob) for the process (a pure
    function of its arguments: asking for several K reuses one scan)."""
    from ..spec import parse_spec
    from .finite_batch import rank_changes

    spec = parse_spec(json.loads(spec_json))
    lo, hi = _learned_point_range(spec, knob)
    return tuple(rank_changes(spec, knob, lo, hi, n_grid=28))


def _predictive_breakpoints(spec: Spec, knob: str, pred: Prediction) -> tuple[list[float] | None, str]:
    """SimSiam/BYOL (order 'per_direction'): the escape thresholds of dot similarity, or why a knob does not act."""
    th = pred.thresholds
    if knob == "batch_size":
        return [], ("the per-direction closed form does not depend on the batch size: the SimSiam/BYOL losses have "
                    "no cross-sample terms, the batch only sets the gradient noise")
    if th.kind == "mean_field" and knob == "weight_decay":
        return [], ("cosine similarity: weight decay only rescales the time of the stop-gradient flow; it never "
                    "changes which directions survive (docs/theory.md §7)")
    if th.kind in ("escape", "escape_estimate") and knob == "noise_scale":
        return [], ("dot similarity: the augmentation noise does not enter the SimSiam/BYOL dynamics (their loss is "
                    "linear in the prediction), so it never changes the rank")
    if knob == "weight_decay" and th.kind == "escape":
        return sorted({v for v in th.weight_decay or () if v > 0}), ""
    return None, ""


def _breakpoints(spec: Spec, knob: str, pred: Prediction) -> tuple[list[float] | None, str]:
    """The knob values where the default order's rank can change, or None (no closed form: scan), and why."""
    th = pred.thresholds
    barlow = spec.objective == "barlow"
    if th.kind == "snr_level" and (knob == "weight_decay" or (knob == "batch_size" and barlow)):
        what, where = ("standardised Barlow Twins", "§12") if barlow else ("InfoNCE with cosine similarity", "§14")
        return [], (f"{what} is scale-invariant: the {knob.replace('_', ' ')} never changes which directions survive "
                    f"(their signal-to-noise ratio against ρ_c decides; docs/theory.md {where})")
    if th.kind == "water_level" and knob != "temperature":
        return None, ""  # VICReg: scan the (millisecond) closed form; ν moves with the knob
    if pred.order == "per_direction" and knob != "temperature":
        return _predictive_breakpoints(spec, knob, pred)
    if th.kind == "learned_point" and pred.order == "learned_point":
        if knob == "noise_scale" and spec.augmentation.noise_cov is None:
            return [], "the spec has no augmentation noise_cov to scale; give augmentation.noise_cov"
        return list(_learned_point_changes(spec.model_dump_json(), knob)), ""
    closed = pred.closed_form and th.kind == "global"
    if knob == "weight_decay":
        return (sorted({v for v in th.weight_decay or () if v > 0}) if closed else None), ""
    if knob == "temperature":
        if spec.objective != "infonce":
            return [], f"{spec.objective} has no temperature"
        if spec.weight_decay == 0:
            return [], ("with weight decay 0 every direction with variance survives at any temperature (A ∝ 1/τ "
                        "stays positive); the temperature only rescales the embedding")
        return (sorted({v for v in th.temperature or () if v > 0}) if closed and spec.depth == 1 else None), ""
    if knob == "noise_scale":
        if spec.augmentation.noise_cov is None:
            return [], "the spec has no augmentation noise_cov to scale; give augmentation.noise_cov"
        if closed and spec.depth == 1 and th.noise_scale == ():
            return [], (f"augmentation never changes the rank of {spec.objective} ({spec.similarity} similarity, "
                        f"{spec.protocol}): the noise enters only the quartic term, which scales magnitudes")
        return (sorted({v for v in th.noise_scale or () if v > 0}) if closed and spec.depth == 1 else None), ""
    # batch size
    if spec.objective == "spectral":
        return [], "the spectral loss is exactly quartic for every batch size: the batch size never changes its rank"
    if spec.objective != "infonce":
        return None, ""
    if not closed or spec.depth != 1:
        return None, ""
    inf = predict(spec.with_updates(batch_size=None))
    a_inf = [v for v in inf.thresholds.weight_decay or () if v > spec.weight_decay]
    if spec.weight_decay == 0:
        return [], "with weight decay 0 every direction with variance survives at any batch size"
    return sorted({1.0 / (1.0 - spec.weight_decay / a) for a in a_inf if 1.0 / (1.0 - spec.weight_decay / a) > 2}), ""


def _midpoint(lo: float, hi: float | None, knob: str) -> float:
    if hi is None:
        return max(2 * lo, lo + 1.0) if knob != "batch_size" else max(2 * lo, 4096.0)
    if knob == "batch_size":
        return max(lo + 1.0, math.floor((lo + hi) / 2)) if hi - lo > 1 else lo + 0.5
    return 0.5 * (lo + hi)


def _rank(spec: Spec, knob: str, value: float, order: str) -> int:
    return predict(_at(spec, knob, value), order).rank


def _scan(spec: Spec, knob: str, order: str, rank_now: int, progress: Callable[[int, int], None] | None,
          budget: int) -> tuple[list[float], list[int]]:
    """Breakpoints of the rank over a log-spaced scan of the knob, each rank change bisected (no closed form)."""
    base = _value(spec, knob) or (1.0 if knob != "batch_size" else 256.0)
    lo = {"weight_decay": 1e-4, "temperature": 0.01, "noise_scale": 1e-3, "batch_size": 2.0}[knob]
    hi = {"weight_decay": 100.0, "temperature": 100.0, "noise_scale": 100.0, "batch_size": 8192.0}[knob]
    lo, hi = min(lo, base / 10), max(hi, base * 10)
    n_grid = max(6, budget // 3)
    grid = np.unique(np.geomspace(lo, hi, n_grid).round(0 if knob == "batch_size" else 12))
    ranks, done = [], 0
    for v in grid:
        ranks.append(_rank(spec, knob, float(v), order))
        done += 1
        if progress is not None:
            progress(done, budget)
    cuts: list[float] = []
    steps = 6 if knob != "batch_size" else 14

    def split(a: float, ra: int, b: float, rb: int, depth: int) -> None:
        """Find every rank change in [a, b] (ranks ra at a, rb at b) by bisection, recursing on the far side."""
        nonlocal done
        lo, hi = a, b
        for _ in range(steps):
            m = math.sqrt(lo * hi) if knob != "batch_size" else math.floor((lo + hi) / 2)
            if m in (lo, hi):
                break
            r = _rank(spec, knob, m, order)
            done += 1
            if progress is not None:
                progress(min(done, budget), budget)
            lo, hi = (m, hi) if r == ra else (lo, m)
        cut = hi if knob == "batch_size" else math.sqrt(lo * hi)
        cuts.append(cut)
        r_hi = _rank(spec, knob, hi, order)
        done += 1
        if r_hi != rb and depth < 8 and hi < b:  # more than one change in the bracket
            split(hi, r_hi, b, rb, depth + 1)

    for i in range(len(grid) - 1):
        if ranks[i] != ranks[i + 1]:
            split(float(grid[i]), ranks[i], float(grid[i + 1]), ranks[i + 1], 0)
    return cuts, ranks


def advise(spec: Spec, keep: int, knob: str = "weight_decay", at_least: bool = False, order: str | None = None,
           progress: Callable[[int, int], None] | None = None, budget: int = 40) -> Advice:
    """The interval of `knob` (all else fixed) on which the predicted rank is `keep` (module docstring).

    Raises UserError for an unknown knob or a negative `keep`. `order` defaults to 'auto' (predict's default: the
    best closed form the spec has, else the exact solver); the intervals end at that order's critical values and
    every rank inside them is `predict(..., order)`'s. `budget`: predict calls allowed for a scan.
    """
    if knob not in KNOBS:
        raise UserError(f"unknown knob {knob!r}; use one of {', '.join(KNOBS)}")
    if not isinstance(keep, int) or keep < 0:
        raise UserError(f"--keep must be an integer ≥ 0, got {keep!r}")
    asked = order or "auto"
    pred = predict(spec, asked)
    order = pred.order
    current = _value(spec, knob)
    want = (lambda r: r >= keep) if at_least else (lambda r: r == keep)  # noqa: E731
    common = {"knob": knob, "keep": keep, "at_least": at_least, "current_value": current, "current_rank": pred.rank}
    if keep > pred.max_rank:
        why = (f"the embedding can hold at most {pred.max_rank} directions (min(embed_dim, rank of the data "
               "covariance)); no value of any knob keeps more")
        return Advice(interval=None, intervals=(), rank_inside=None, order=order, method="bound", reason=why,
                      **common)
    points, why = _breakpoints(spec, knob, pred)
    lo_dom, hi_dom = _domain(knob)
    if points is None:  # no closed-form critical values: scan with the requested order
        points, _ = _scan(spec, knob, asked, pred.rank, progress, budget)
        method = "scan"
    else:
        method = "thresholds"
    edges = [lo_dom, *points]
    pieces: list[tuple[Interval, int]] = []
    for i, lo in enumerate(edges):
        hi = edges[i + 1] if i + 1 < len(edges) else None
        if hi is not None and hi <= lo:
            continue
        pieces.append(((lo, hi), _rank(spec, knob, _midpoint(lo, hi, knob), asked)))
    merged: list[tuple[Interval, int]] = []
    for (lo, hi), r in pieces:  # join neighbours of equal rank
        if merged and merged[-1][1] == r and merged[-1][0][1] == lo:
            merged[-1] = ((merged[-1][0][0], hi), r)
        else:
            merged.append(((lo, hi), r))
    good = [(iv, r) for iv, r in merged if want(r)]
    if at_least:  # contiguous pieces that all satisfy ≥ K form one interval
        joined: list[tuple[Interval, int]] = []
        for iv, r in good:
            if joined and joined[-1][0][1] == iv[0]:
                joined[-1] = ((joined[-1][0][0], iv[1]), min(joined[-1][1], r))
            else:
                joined.append((iv, r))
        good = joined
    crit = tuple(points)
    if not good:
        ranks = sorted({r for _, r in merged})
        why = why or (f"no {knob.replace('_', ' ')} gives rank {keep}: as it varies the predicted rank takes only "
                      f"the values {ranks}" + (" (directions with equal critical values die together)"
                                               if keep not in ranks and 0 < keep < max(ranks) else ""))
        return Advice(interval=None, intervals=(), rank_inside=None, order=order, method=method, reason=why,
                      critical_values=crit, **common)

    def distance(iv: Interval) -> float:
        if current is None:
            return 0.0
        lo, hi = iv
        return 0.0 if lo <= current and (hi is None or current < hi) else min(abs(current - lo),
                                                                            abs(current - (hi or lo)))

    best, rank_inside = min(good, key=lambda g: distance(g[0]))
    lo, hi = best
    span = f"[{lo:.4g}, {'∞' if hi is None else f'{hi:.4g}'})"
    here = current is not None and lo <= current and (hi is None or current < hi)
    move = "keeps it" if here else f"is outside; move it into {span}"
    why = (f"predicted rank {'≥ ' if at_least else ''}{keep} for {knob.replace('_', ' ')} in {span}; the spec's "
           f"value {current if current is not None else '(unset: N → ∞)'} {move}")
    if method == "scan":
        why += f" (no closed-form critical values here: the {knob.replace('_', ' ')} was scanned with order {order})"
    return Advice(interval=best, intervals=tuple(iv for iv, _ in good), rank_inside=rank_inside, order=order,
                  method=method, reason=why, critical_values=crit, **common)


@dataclass(frozen=True)
class Region(Result):
    """Two-knob advice: over a grid of `x` (first knob), the `y` values (second knob) at which the predicted rank is
    `keep` (≥ keep): `y_lo[i]`, `y_hi[i]` bound that set at x[i] (None: no y on the grid), as in the phase
    diagram (`sslscape.theory.phase`), whose rank grid it reads."""

    knobs: tuple[str, str]
    keep: int
    at_least: bool
    x: tuple[float, ...]
    y_lo: tuple[float | None, ...]
    y_hi: tuple[float | None, ...]
    method: str
    order: str


def advise_region(spec: Spec, keep: int, knobs: tuple[str, str], at_least: bool = False, n: int = 64,
                  ranges: dict[str, tuple[float, float]] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Region:
    """The region of two knobs in which `keep` directions survive, read off the phase diagram (vectorised where a
    closed form exists). Default ranges: each knob from its domain's low end to 2× its largest critical value."""
    from .phase import Axis, phase_diagram

    for k in knobs:
        if k not in KNOBS:
            raise UserError(f"unknown knob {k!r}; use one of {', '.join(KNOBS)}")
    if knobs[0] == knobs[1]:
        raise UserError("--knob a,b needs two different knobs")
    if keep < 0:
        raise UserError(f"--keep must be an integer ≥ 0, got {keep!r}")
    pred = predict(spec)
    axes = []
    for k in knobs:
        if ranges and k in ranges:
            lo, hi = ranges[k]
        else:
            crit = [v for v in (getattr(pred.thresholds, k, None) or ()) if v and v > 0 and np.isfinite(v)]
            value = _value(spec, k) or (256.0 if k == "batch_size" else 1.0)
            top = 2.0 * max(crit + [value])
            lo, hi = {"weight_decay": 0.0, "noise_scale": 0.0, "temperature": 0.02 * top, "batch_size": 2.0}[k], top
            if k == "batch_size":
                hi = max(hi, 4096.0)
        axes.append(Axis(k, lo, hi, n))
    diagram = phase_diagram(spec, axes[0], axes[1], progress=progress)
    mask = diagram.rank >= keep if at_least else diagram.rank == keep  # (ny, nx)
    y = diagram.y_values
    y_lo = tuple(float(y[mask[:, i]].min()) if mask[:, i].any() else None for i in range(mask.shape[1]))
    y_hi = tuple(float(y[mask[:, i]].max()) if mask[:, i].any() else None for i in range(mask.shape[1]))
    return Region(knobs=(knobs[0], knobs[1]), keep=keep, at_least=at_least,
                  x=tuple(float(v) for v in diagram.x_values), y_lo=y_lo, y_hi=y_hi, method=diagram.method,
                  order="quartic")
