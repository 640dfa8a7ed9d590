"""`advise`: the inverse question — which value of one knob (weight decay, temperature, augmentation strength,
batch size), all else fixed, keeps exactly K directions (or at least K).

"Keeps K directions" is the theory's count, `Prediction.alive`: it changes exactly at the per-direction critical
values (`Prediction.rank`, the collapse rule's cut a run is compared with, can drop a direction a few percent before
its critical value, where its variance is already small). Where the theory has closed-form critical values the
answer is exact: the knob's axis splits at those points into intervals of constant count; the count inside each
interval is read off `predict` at an interior point, and the intervals with count K (≥ K) are the answer — their
ends *are* the critical values:

    weight decay    γ*_k (depth 1: eigenvalues of A, generalised with a bias; depth L: the closed form of
                    `solve.depth_critical_weight_decay`); direction k survives iff γ < γ*_k
    temperature     τ*_k = τ a_k / γ (InfoNCE: A ∝ 1/τ); direction k survives iff τ < τ*_k (γ > 0)
    noise scale     the roots s*_k of det(A₀ + s A₁ − γG) = 0 (A is affine in s); none where the augmentation
                    enters only the quartic term (dot-similarity InfoNCE, spectral, Barlow Twins)
    batch size      InfoNCE: A = (1 − 1/N) A_∞, so direction k survives iff N > N*_k = 1 / (1 − γ / a_k^∞)

The answering solver's own critical values are used (`sslscape.theory.solvers`: each row's `knob_changes`, else
its `thresholds`), so that `predict` (default order) inside each interval gives the interval's count — e.g. the
learned point re-solves finite-batch dot InfoNCE along the knob (p̄ moves with it), the SimSiam/BYOL rows give the
escape thresholds, the population row scans its millisecond closed form (ν and ρ_c move with every knob).

Without closed-form critical values (normalised embeddings, VICReg, Barlow with λ < 1, finite-batch Barlow, BYOL
dot from an unbalanced start, the noise scale of cosine SimSiam/BYOL) the knob is scanned with `predict` at the
requested order (default: 'auto') and each change of the count bisected; the answer says so (`order`, `method`).
Tests: tests/theory/test_advise.py (intervals = thresholds for every closed-form objective,
predict inside each interval) and benchmarks/advise_check.py (specs from the middle of advised intervals trained).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import UserError
from ..knobs import KNOBS
from ..knobs import knob as knob_of
from ..result import Result
from ..spec import Spec, SpecLike, as_spec
from .predict import Prediction, predict
from .solvers import rank_changes

Interval = tuple[float, float | None]  # [lo, hi); hi None for an open end


@dataclass(frozen=True, kw_only=True)
class Advice(Result):
    """The answer of `advise`. `interval`: [lo, hi) of the knob on which the theory keeps `keep` directions (≥ keep
    with `at_least`; the count is `Prediction.alive`, which changes exactly at the critical values) — the one
    holding the spec's own value, else the nearest; None when no value does (`reason` says why). `intervals`: all
    of them. `alive_inside`: the count inside `interval`. `current_value`, `current_alive`: the spec's own value and
    count. `order`/`solver`/`method`: how the counts were obtained (the answering solver, and 'thresholds' or
    'scan')."""

    knob: str
    keep: int
    at_least: bool
    interval: Interval | None
    intervals: tuple[Interval, ...]
    alive_inside: int | None
    current_value: float | None
    current_alive: int
    order: str
    solver: str
    method: str
    reason: str
    critical_values: tuple[float, ...] = field(default_factory=tuple)

    @property
    def possible(self) -> bool:
        return self.interval is not None

    def to_dict(self) -> dict[str, Any]:
        return {**Result.to_dict(self), "possible": self.possible}


def _domain(name: str) -> tuple[float, float]:
    return KNOBS[name].lo, math.inf


def _threshold_breakpoints(spec: Spec, name: str, pred: Prediction) -> tuple[list[float] | None, str]:
    """The generic rule for solvers without their own (`knob_changes`): a closed form's global critical values are
    where its rank changes; otherwise None (scan)."""
    th = pred.thresholds
    closed = pred.cost == "closed_form" and th.kind == "global"
    values = getattr(th, KNOBS[name].threshold or "", None)
    positive = sorted({v for v in values or () if v > 0})
    if name == "weight_decay":
        return (positive if closed else None), ""
    if name == "temperature":
        if spec.objective not in ("infonce", "ntxent"):
            return [], f"{spec.objective} has no temperature"
        if spec.weight_decay == 0:
            return [], ("with weight decay 0 every direction with variance survives at any temperature (A ∝ 1/τ "
                        "stays positive); the temperature only rescales the embedding")
        return (positive if closed and spec.depth == 1 else None), ""
    if name == "noise_scale":
        if spec.augmentation.noise_cov is None:
            return [], "the spec has no augmentation noise_cov to scale; give augmentation.noise_cov"
        if closed and spec.depth == 1 and th.critical_noise_scale == ():
            return [], (f"augmentation never changes the rank of {spec.objective} ({spec.similarity} similarity, "
                        f"{spec.protocol}): the noise enters only the quartic term, which scales magnitudes")
        return (positive if closed and spec.depth == 1 else None), ""
    # batch size
    if spec.objective == "spectral":
        return [], "the spectral loss is exactly quartic for every batch size: the batch size never changes its rank"
    if spec.objective != "infonce" or not closed or spec.depth != 1:
        return None, ""
    if spec.weight_decay == 0:
        return [], "with weight decay 0 every direction with variance survives at any batch size"
    inf = predict(spec.with_updates(batch_size=None))
    a_inf = [v for v in inf.thresholds.critical_weight_decay or () if v > spec.weight_decay]
    return sorted({1.0 / (1.0 - spec.weight_decay / a) for a in a_inf if 1.0 / (1.0 - spec.weight_decay / a) > 2}), ""


def _breakpoints(spec: Spec, name: str, pred: Prediction) -> tuple[list[float] | None, str]:
    """The knob values where the answering solver's rank can change, or None (no closed form: scan), and why."""
    own = rank_changes(spec, name, pred)
    return own if own is not None else _threshold_breakpoints(spec, name, pred)


def _midpoint(lo: float, hi: float | None, knob: str) -> float:
    if hi is None:
        return max(2 * lo, lo + 1.0) if knob != "batch_size" else max(2 * lo, 4096.0)
    if knob == "batch_size":
        return max(lo + 1.0, math.floor((lo + hi) / 2)) if hi - lo > 1 else lo + 0.5
    return 0.5 * (lo + hi)


def _rank(spec: Spec, name: str, value: float, order: str, max_seconds: float | None = None) -> int:
    """The theory's count (`Prediction.alive`) with the knob at `value` (a numerical solve bounded by
    `max_seconds`)."""
    return predict(KNOBS[name].at(spec, value), order, max_seconds=max_seconds).alive


def _scan(spec: Spec, knob: str, order: str, rank_now: int, progress: Callable[[int, int], None] | None,
          budget: int, max_seconds: float | None = None) -> tuple[list[float], list[int]]:
    """Breakpoints of the rank over a log-spaced scan of the knob, each rank change bisected (no closed form)."""
    row = KNOBS[knob]
    base = row.value(spec) or row.unset
    lo, hi = row.scan
    lo, hi = min(lo, base / 10), max(hi, base * 10)
    n_grid = max(6, budget // 3)
    grid = np.unique(np.geomspace(lo, hi, n_grid).round(0 if knob == "batch_size" else 12))
    ranks, done = [], 0
    for v in grid:
        ranks.append(_rank(spec, knob, float(v), order, max_seconds))
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
            r = _rank(spec, knob, m, order, max_seconds)
            done += 1
            if progress is not None:
                progress(min(done, budget), budget)
            lo, hi = (m, hi) if r == ra else (lo, m)
        cut = hi if knob == "batch_size" else math.sqrt(lo * hi)
        cuts.append(cut)
        r_hi = _rank(spec, knob, hi, order, max_seconds)
        done += 1
        if r_hi != rb and depth < 8 and hi < b:  # more than one change in the bracket
            split(hi, r_hi, b, rb, depth + 1)

    for i in range(len(grid) - 1):
        if ranks[i] != ranks[i + 1]:
            split(float(grid[i]), ranks[i], float(grid[i + 1]), ranks[i + 1], 0)
    return cuts, ranks


def advise(spec: SpecLike, keep: int, knob: str = "weight_decay", at_least: bool = False, order: str | None = None,
           progress: Callable[[int, int], None] | None = None, budget: int = 40,
           max_seconds: float | None = None) -> Advice:
    """The interval of `knob` (all else fixed) on which the theory keeps `keep` directions (module docstring).

    Raises UserError for an unknown knob or a negative `keep`. `order` defaults to 'auto' (predict's default: the
    solver table's first solver that covers the spec); the intervals end at that solver's critical values and every
    rank inside them is `predict(..., order)`'s. `budget`: predict calls allowed for a scan; `max_seconds`: the time
    each numerical solve may take (the scan's solves then answer with the best point so far). `spec`: a Spec, a
    dict or a spec file path (`sslscape.spec.as_spec`).
    """
    return advise_keeps(spec, (keep,), knob, at_least, order, progress, budget, max_seconds)[0]


def advise_keeps(spec: SpecLike, keeps: Sequence[int], knob: str = "weight_decay", at_least: bool = False,
                 order: str | None = None, progress: Callable[[int, int], None] | None = None, budget: int = 40,
                 max_seconds: float | None = None) -> tuple[Advice, ...]:
    """`advise` for several K at once (one Advice per entry of `keeps`, equal to `advise(spec, K, knob, …)`): the
    knob's pieces of constant count — its critical values or the scan, and `predict` inside each piece — do not
    depend on K and are computed once (the explorer asks every K = 0 … capacity)."""
    spec = as_spec(spec)
    row = knob_of(knob)
    for keep in keeps:
        if not isinstance(keep, int) or keep < 0:
            raise UserError(f"--keep must be an integer ≥ 0, got {keep!r}")
    asked = order or "auto"
    pred = predict(spec, asked, max_seconds=max_seconds)
    order = pred.order  # the counts below are `Prediction.alive`: they change exactly at the critical values
    current = row.value(spec)
    pieces: list[tuple[Interval, int]] | None = None
    out: list[Advice] = []
    for keep in keeps:
        common = {"knob": knob, "keep": keep, "at_least": at_least, "current_value": current,
                  "current_alive": pred.alive, "solver": pred.solver}
        if keep > pred.capacity:
            why = (f"the embedding can hold at most {pred.capacity} directions (min(embed_dim, rank of the data "
                   "covariance)); no value of any knob keeps more")
            out.append(Advice(interval=None, intervals=(), alive_inside=None, order=order, method="bound",
                              reason=why, **common))
            continue
        if pieces is None:
            points, why_none, method, pieces = _pieces(spec, knob, asked, pred, progress, budget, max_seconds)
        out.append(_answer(keep, at_least, knob, current, points, why_none, method, pieces, order, common))
    return tuple(out)


def _pieces(spec: Spec, knob: str, asked: str, pred: Prediction, progress: Callable[[int, int], None] | None,
            budget: int, max_seconds: float | None) -> tuple[list[float], str, str, list[tuple[Interval, int]]]:
    """(the knob's breakpoints, why they are none, 'thresholds' | 'scan', the pieces of constant count with that
    count, neighbours of equal count joined): what `advise` reads for every K."""
    points, why = _breakpoints(spec, knob, pred)
    lo_dom, _ = _domain(knob)
    if points is None:  # no closed-form critical values: scan with the requested order
        points, _ = _scan(spec, knob, asked, pred.alive, progress, budget, max_seconds)
        method = "scan"
    else:
        method = "thresholds"
    edges = [lo_dom, *points]
    pieces: list[tuple[Interval, int]] = []
    for i, lo in enumerate(edges):
        hi = edges[i + 1] if i + 1 < len(edges) else None
        if hi is not None and hi <= lo:
            continue
        pieces.append(((lo, hi), _rank(spec, knob, _midpoint(lo, hi, knob), asked, max_seconds)))
    merged: list[tuple[Interval, int]] = []
    for (lo, hi), r in pieces:  # join neighbours of equal rank
        if merged and merged[-1][1] == r and merged[-1][0][1] == lo:
            merged[-1] = ((merged[-1][0][0], hi), r)
        else:
            merged.append(((lo, hi), r))
    return points, why, method, merged


def _answer(keep: int, at_least: bool, knob: str, current: float | None, points: list[float], why: str, method: str,
            merged: list[tuple[Interval, int]], order: str, common: dict[str, Any]) -> Advice:
    """The Advice for one K from the knob's pieces (`_pieces`)."""
    want = (lambda r: r >= keep) if at_least else (lambda r: r == keep)  # noqa: E731
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
        why = why or (f"no {knob.replace('_', ' ')} keeps {keep} direction(s): as it varies the theory keeps only "
                      f"the values {ranks}" + (" (directions with equal critical values die together)"
                                               if keep not in ranks and 0 < keep < max(ranks) else ""))
        return Advice(interval=None, intervals=(), alive_inside=None, order=order, method=method, reason=why,
                      critical_values=crit, **common)

    def distance(iv: Interval) -> float:
        if current is None:
            return 0.0
        lo, hi = iv
        return 0.0 if lo <= current and (hi is None or current < hi) else min(abs(current - lo),
                                                                            abs(current - (hi or lo)))

    best, inside = min(good, key=lambda g: distance(g[0]))
    lo, hi = best
    span = f"[{lo:.4g}, {'∞' if hi is None else f'{hi:.4g}'})"
    here = current is not None and lo <= current and (hi is None or current < hi)
    move = "keeps it" if here else f"is outside; move it into {span}"
    why = (f"the theory keeps {'≥ ' if at_least else ''}{keep} direction(s) for {knob.replace('_', ' ')} in {span}; "
           f"the spec's "
           f"value {current if current is not None else '(unset: N → ∞)'} {move}")
    if method == "scan":
        why += f" (no closed-form critical values here: the {knob.replace('_', ' ')} was scanned with order {order})"
    return Advice(interval=best, intervals=tuple(iv for iv, _ in good), alive_inside=inside, order=order,
                  method=method, reason=why, critical_values=crit, **common)


@dataclass(frozen=True, kw_only=True)
class Region(Result):
    """Two-knob advice: over a grid of `x` (first knob), the `y` values (second knob) at which the theory keeps
    `keep` directions (≥ keep): `y_lo[i]`, `y_hi[i]` bound that set at x[i] (None: no y on the grid), as in the phase
    diagram (`sslscape.theory.phase`), whose rank grid it reads; `order`/`solver`: the diagram's."""

    knobs: tuple[str, str]
    keep: int
    at_least: bool
    x: tuple[float, ...]
    y_lo: tuple[float | None, ...]
    y_hi: tuple[float | None, ...]
    method: str
    order: str
    solver: str


def advise_region(spec: SpecLike, keep: int, knobs: tuple[str, str], at_least: bool = False, n: int = 64,
                  ranges: dict[str, tuple[float, float]] | None = None,
                  progress: Callable[[int, int], None] | None = None, order: str = "auto",
                  max_seconds: float | None = None) -> Region:
    """The region of two knobs in which `keep` directions survive, read off the phase diagram (vectorised where the
    quartic closed form answers every cell, else cell by cell; the same `order` as `predict`). Default ranges: each
    knob from its domain's low end to 2× its largest critical value. `n` points per axis. `spec`: a Spec, a dict or
    a spec file path (`sslscape.spec.as_spec`)."""
    from .phase import Axis, phase_diagram

    spec = as_spec(spec)
    for k in knobs:
        knob_of(k)
    if knobs[0] == knobs[1]:
        raise UserError("--knob a,b needs two different knobs")
    if keep < 0:
        raise UserError(f"--keep must be an integer ≥ 0, got {keep!r}")
    pred = predict(spec, order, max_seconds=max_seconds)
    axes = []
    for k in knobs:
        row = KNOBS[k]
        if ranges and k in ranges:
            lo, hi = ranges[k]
        else:
            crit = [v for v in (getattr(pred.thresholds, row.threshold or "", None) or ()) if v and v > 0
                    and np.isfinite(v)]
            value = row.value(spec) or row.unset
            top = 2.0 * max(crit + [value])
            lo, hi = (0.02 * top if row.open_lo else row.lo), top
            if row.integer:  # batch sizes: up to the large batches users train with
                hi = max(hi, 4096.0)
        axes.append(Axis(k, lo, hi, n))
    diagram = phase_diagram(spec, axes[0], axes[1], progress=progress, order=order, max_seconds=max_seconds)
    mask = diagram.alive >= keep if at_least else diagram.alive == keep  # (ny, nx)
    y = diagram.y_values
    y_lo = tuple(float(y[mask[:, i]].min()) if mask[:, i].any() else None for i in range(mask.shape[1]))
    y_hi = tuple(float(y[mask[:, i]].max()) if mask[:, i].any() else None for i in range(mask.shape[1]))
    return Region(knobs=(knobs[0], knobs[1]), keep=keep, at_least=at_least,
                  x=tuple(float(v) for v in diagram.x_values), y_lo=y_lo, y_hi=y_hi, method=diagram.method,
                  order=diagram.order, solver=diagram.solver)
