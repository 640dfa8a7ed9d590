"""Phase diagrams: the theory's count of surviving directions over a grid of two hyper-parameters, vectorised.

Axes: `weight_decay` (γ), `noise_scale` (s, multiplies the augmentation's noise covariance), `temperature` (τ)
and `batch_size` (N). In the closed-form landscapes the quadratic and quartic matrices are affine in s and
scale with τ and N as (1 − 1/N)/τ and √(1 − 1/N)/τ (InfoNCE) or not at all, so a whole grid is one batched
eigen-decomposition (depth 1: rank = #{eig(A) > γ} ∧ d; depth L: the common eigenbasis and the vectorised
1-D profiles of `solve.depth_profile`). Other solvers are evaluated point by point with `predict` (the
result says `method='pointwise'`).

Threshold lines: with weight decay on an axis, direction k dies on the curve γ = a_k(other axis) (depth 1) or
γ = γ*_k (depth L) — returned in `boundaries` and drawn over the grid by `sslscape.report.phase_plot`.

Which solver answers the cells is the solver table's choice (`sslscape.theory.solvers.plan`, default order 'auto',
the same as `predict`): the diagram is vectorised when every cell's solver is the quartic closed form, and solved
cell by cell otherwise, as many cells as the solvers' cost classes allow (`solvers.cell_limit`). Every cell then
equals `predict(cell, order).alive` (tests/theory/test_phase.py, tests/test_entry_points.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..errors import UserError
from ..knobs import KNOBS, NAMES
from ..moments import Moments, moments_of, unit_noise_cov
from ..result import Result
from ..spec import Spec, SpecLike, as_spec
from ._linalg import basis_diagonal, common_eigenbasis
from .landscape import landscape
from .predict import predict
from .prediction import PHASE_CODES, capacity_of, phase_codes, refuse_theory_gaps
from .solve import EIG_RTOL, depth_critical_weight_decay, depth_profile, single_product_form
from .solvers import Plan, as_order, cell_limit, plan

AXES = NAMES  # every knob of sslscape.knobs can be an axis
VECTORISED = ("weight_decay", "noise_scale", "temperature", "batch_size")  # knobs the batched closed form scales


@dataclass(frozen=True, kw_only=True)
class Boundary(Result):
    """A threshold curve over the diagram: direction `direction` dies on the curve (x[i], y[i])."""

    direction: int
    x: tuple[float, ...]
    y: tuple[float, ...]


@dataclass(frozen=True)
class Axis:
    """One axis of a phase diagram: parameter `name` (one of AXES) from `lo` to `hi` in `n` points."""

    name: str
    lo: float
    hi: float
    n: int

    def __post_init__(self) -> None:
        row = KNOBS.get(self.name)
        if row is None:
            raise UserError(f"unknown axis {self.name!r}; use one of {', '.join(AXES)}")
        if not (self.n >= 2 and self.hi > self.lo and np.isfinite(self.lo) and np.isfinite(self.hi)):
            raise UserError(f"axis {self.name}: need N ≥ 2 points and finite HI > LO")
        if self.n > 4096:
            raise UserError(f"axis {self.name}: {self.n} points is too many; use at most 4096")
        if not row.valid(self.lo):
            bound = f"> {row.lo:g}" if row.open_lo else f"≥ {row.lo:g}"
            raise UserError(f"axis {self.name}: values must be {bound} (got LO = {self.lo:g})")

    def values(self) -> np.ndarray:
        v = np.linspace(self.lo, self.hi, self.n)
        return np.round(v) if KNOBS[self.name].integer else v


@dataclass(frozen=True, kw_only=True)
class PhaseDiagram(Result):
    """The theory's count of surviving directions over a (y, x) grid (`Prediction.alive`: it changes exactly at the
    critical values, the threshold curves drawn over it; `Prediction.rank`, the collapse rule's cut that a run is
    compared with, can drop a direction within a few percent of its critical value). `solver`/`order`: the
    solver(s) and order(s) whose answers the cells are ('+'-joined when they differ between cells); `capacity`:
    min(d, rank C); `point`: the spec's own (x, y)."""

    x: Axis
    y: Axis
    x_values: np.ndarray
    y_values: np.ndarray
    alive: np.ndarray           # (ny, nx) the theory's count of surviving directions (`predict(cell).alive`)
    phase: np.ndarray           # (ny, nx) 0 complete, 1 dimensional, 2 none (of `alive`)
    capacity: int
    boundaries: tuple[Boundary, ...]  # threshold curves, direction k ≤ capacity
    method: str                 # 'vectorised' or 'pointwise'
    spec: str                   # the spec as JSON
    point: tuple[float, float]  # the spec's own (x, y)
    order: str = "quartic"
    solver: str = "quartic_closed_form"
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {**Result.to_dict(self), "spec": json.loads(self.spec), "phase_codes": PHASE_CODES}


def _grid_params(spec: Spec, x: Axis, y: Axis) -> dict[str, np.ndarray]:
    """Each parameter as an array broadcastable to (ny, nx)."""
    xv, yv = x.values()[None, :], y.values()[:, None]
    params = {"weight_decay": np.array(spec.weight_decay), "noise_scale": np.array(spec.augmentation.noise_scale),
              "temperature": np.array(spec.temperature),
              "batch_size": np.array(np.inf if spec.batch_size is None else float(spec.batch_size))}
    params[x.name], params[y.name] = xv, yv
    return {k: np.asarray(v, float) for k, v in params.items()}


def _scales(spec: Spec, temperature: np.ndarray, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factors multiplying A and B relative to temperature 1 and infinite batch."""
    if spec.objective not in ("infonce", "ntxent"):
        return np.ones_like(temperature * batch), np.ones_like(temperature * batch)
    keep = 1.0 - 1.0 / (batch if spec.objective == "infonce" else 2 * batch - 1)  # 1/K: K softmax candidates
    return keep / temperature, np.sqrt(keep) / temperature


def _plans(spec: Spec, x: Axis, y: Axis, order: str) -> list[Plan]:
    """The plans along both axes through the grid's first cell (coverage depends on each knob separately: γ = 0,
    τ below a solver's range, …): one solver for all of them → it answers every cell."""
    xs, ys = x.values(), y.values()
    points = [(xv, ys[0]) for xv in xs] + [(xs[0], yv) for yv in ys[1:]]
    seen: dict[tuple, Plan] = {}
    for xv, yv in points:
        cell = spec.with_updates(**{_field(x.name): _typed(x, xv), _field(y.name): _typed(y, yv)})
        chosen = plan(cell, order)
        seen.setdefault((chosen.solver, chosen.order), chosen)
    return list(seen.values())


def phase_diagram(spec: SpecLike, x: Axis, y: Axis, progress: Callable[[int, int], None] | None = None,
                  order: str = "auto", max_seconds: float | None = None) -> PhaseDiagram:
    """The theory's count and phase over the (y, x) grid (module docstring), each cell `predict(cell, order)`'s;
    `progress(done, total)` is called per cell when cells are solved one by one. UserError when the cells need more
    solves than their cost class allows (the message gives a grid that fits). `max_seconds`: the time each numerical
    cell's solve may take (the best point so far). `spec`: a Spec, a dict or a spec file path (`spec.as_spec`)."""
    spec = as_spec(spec)
    if x.name == y.name:
        raise UserError("the x and y axes must be different parameters")
    asked = as_order(order)
    refuse_theory_gaps(spec)
    moments = moments_of(spec)
    plans = _plans(spec, x, y, asked)
    capacity = capacity_of(spec, moments)
    if [p.solver for p in plans] != ["quartic_closed_form"] or not {x.name, y.name} <= set(VECTORISED):
        return _pointwise(spec, x, y, capacity, plans, asked, moments, progress, max_seconds)
    base = spec.with_updates(temperature=1.0, batch_size=None, **{"augmentation.noise_scale": 1.0})
    unit = unit_noise_cov(spec, moments.dim)
    land0 = landscape(base, replace(moments, noise_cov=0 * unit))
    land1 = landscape(base, replace(moments, noise_cov=unit))
    b0, b1 = single_product_form(land0), single_product_form(land1)
    vectorisable = land0.expandable and b1 is not None and not spec.bias
    if vectorisable and spec.depth > 1:
        vectorisable = common_eigenbasis(land1.quadratic, b1) is not None and (
            b0 is None or common_eigenbasis(land0.quadratic + land1.quadratic, b0 + b1) is not None)
    if not vectorisable:  # the commuting closed form: one solve per cell
        return _pointwise(spec, x, y, capacity, plans, asked, moments, progress, max_seconds)
    p = _grid_params(spec, x, y)
    a0, a1 = land0.quadratic, land1.quadratic - land0.quadratic
    b0 = b0 if b0 is not None else np.zeros_like(a0)
    sa, sb = _scales(spec, p["temperature"], p["batch_size"])
    s = p["noise_scale"]
    d = land1.embed_dim
    if spec.depth == 1:
        shape = np.broadcast_shapes(s.shape, sa.shape)
        s_g, sa_g = np.broadcast_to(s, shape), np.broadcast_to(sa, shape)
        a = (a0 + s_g[..., None, None] * a1) * sa_g[..., None, None]
        eig = np.linalg.eigvalsh(a)  # (…, D) batched over the grid
        tol = EIG_RTOL * np.abs(eig).max(axis=-1, keepdims=True)
        alive = np.sum(eig > p["weight_decay"][..., None] + tol, axis=-1)
    else:
        e = common_eigenbasis(land1.quadratic, b1)
        diag = lambda m: basis_diagonal(e, m)  # noqa: E731
        ak = (diag(a0) + s[..., None] * diag(a1)) * sa[..., None]
        bk = (diag(b0) + s[..., None] * (diag(b1) - diag(b0))) * sb[..., None]
        _, val = depth_profile(ak, bk**2, p["weight_decay"][..., None], spec.depth)
        alive = np.sum(val < 0, axis=-1)
    alive = np.broadcast_to(np.minimum(alive, min(d, capacity)), (y.n, x.n)).astype(int)
    phase = phase_codes(alive, capacity)
    bounds = _boundaries(spec, x, y, a0, a1, b0, b1, land0, capacity)
    return PhaseDiagram(x=x, y=y, x_values=x.values(), y_values=y.values(), alive=alive, phase=phase,
                        capacity=capacity, boundaries=bounds, method="vectorised", spec=spec.model_dump_json(),
                        point=_spec_point(spec, x, y), order="quartic", solver="quartic_closed_form")


def _spec_point(spec: Spec, x: Axis, y: Axis) -> tuple[float, float]:
    own = [KNOBS[a.name].value(spec) for a in (x, y)]
    return tuple(float(np.inf if v is None else v) for v in own)  # type: ignore[return-value]


def _boundaries(spec: Spec, x: Axis, y: Axis, a0, a1, b0, b1, land0, capacity: int) -> tuple[Boundary, ...]:
    """Curves γ = γ*_k(other axis) for directions k ≤ capacity (min(d, rank C)), when weight decay is an axis
    (fine grid of the other axis): the exact borders between ranks, drawn over the grid."""
    if "weight_decay" not in (x.name, y.name):
        return ()
    other = y if x.name == "weight_decay" else x
    fine = replace(other, n=256)
    vals = fine.values()
    params = {"noise_scale": np.full(256, spec.augmentation.noise_scale), "temperature": np.full(256, spec.temperature),
              "batch_size": np.full(256, np.inf if spec.batch_size is None else float(spec.batch_size))}
    params[other.name] = vals
    sa, sb = _scales(spec, params["temperature"], params["batch_size"])
    s = params["noise_scale"]
    if spec.depth == 1:
        crit = np.linalg.eigvalsh((a0 + s[:, None, None] * a1) * sa[:, None, None])[:, ::-1]
    else:
        e = common_eigenbasis(land0.quadratic + a1, b1)
        diag = lambda m: basis_diagonal(e, m)  # noqa: E731
        ak = (diag(a0) + s[:, None] * diag(a1)) * sa[:, None]
        bk = (diag(b0) + s[:, None] * (diag(b1) - diag(b0))) * sb[:, None]
        crit = -np.sort(-depth_critical_weight_decay(ak, bk**2, spec.depth), axis=1)
    out = []
    for k in range(min(crit.shape[1], capacity)):
        g = tuple(map(float, crit[:, k]))
        if max(g) <= 0:
            continue
        v = tuple(map(float, vals))
        out.append(Boundary(direction=k + 1, x=g, y=v) if x.name == "weight_decay" else
                   Boundary(direction=k + 1, x=v, y=g))
    return tuple(out)


def _pointwise(spec: Spec, x: Axis, y: Axis, capacity: int, plans: list[Plan], order: str, moments: Moments,
               progress: Callable[[int, int], None] | None, max_seconds: float | None = None) -> PhaseDiagram:
    """Each cell `predict(cell, order)`, as many cells as the planned solvers' cost classes allow."""
    limit = min(cell_limit(p, spec, moments) for p in plans)
    if x.n * y.n > limit:
        side = max(2, int(limit**0.5))
        names = ", ".join(f"{p.solver} ({p.cost.replace('_', ' ')})" for p in plans)
        quartic = "" if order == "quartic" else "; --order quartic gives the vectorised W = 0 diagram where it exists"
        raise UserError(f"the cells of this diagram are solved one by one by {names}: use at most {limit} cells, "
                        f"e.g. {x.name}:{x.lo:g}:{x.hi:g}:{side} by {y.name}:{y.lo:g}:{y.hi:g}:{side}{quartic}")
    alive = np.zeros((y.n, x.n), dtype=int)
    cells = [(i, j) for i in range(y.n) for j in range(x.n)]
    solvers: set[str] = set()
    orders: set[str] = set()
    for done, (i, j) in enumerate(cells, 1):
        point = spec.with_updates(**{_field(x.name): _value(x, j), _field(y.name): _value(y, i)})
        pred = predict(point, order, max_seconds=max_seconds)
        alive[i, j] = pred.alive
        solvers.add(pred.solver)
        orders.add(pred.order)
        if progress is not None:
            progress(done, len(cells))
    phase = phase_codes(alive, capacity)
    return PhaseDiagram(x=x, y=y, x_values=x.values(), y_values=y.values(), alive=alive, phase=phase,
                        capacity=capacity, boundaries=(), method="pointwise", spec=spec.model_dump_json(),
                        point=_spec_point(spec, x, y), order="+".join(sorted(orders)),
                        solver="+".join(sorted(solvers)))


def _field(name: str) -> str:
    return KNOBS[name].field


def _typed(axis: Axis, v: float) -> float | int:
    return int(v) if KNOBS[axis.name].integer else float(v)


def _value(axis: Axis, i: int) -> float | int:
    return _typed(axis, axis.values()[i])


__all__ = ["AXES", "Axis", "Boundary", "PhaseDiagram", "phase_diagram"]
