"""Phase diagrams: the predicted rank over a grid of two hyper-parameters, vectorised.

Axes: `weight_decay` (γ), `noise_scale` (s, multiplies the augmentation's noise covariance), `temperature` (τ)
and `batch_size` (N). In the closed-form landscapes the quadratic and quartic matrices are affine in s and
scale with τ and N as (1 − 1/N)/τ and √(1 − 1/N)/τ (InfoNCE) or not at all, so a whole grid is one batched
eigen-decomposition (depth 1: rank = #{eig(A) > γ} ∧ d; depth L: the common eigenbasis and the vectorised
1-D profiles of `solve.depth_profile`). Landscapes without a closed form are evaluated point by point with
`predict` (order 'quartic': the polynomial or the exact solver, slow; SimSiam/BYOL: their per-direction closed
form, order 'auto'); the result says `method='pointwise'`. The diagram is the quartic order's for finite-batch
dot InfoNCE (the learned point of docs/theory.md §5 can keep fewer directions than a cell shows).

Threshold lines: with weight decay on an axis, direction k dies on the curve γ = a_k(other axis) (depth 1) or
γ = γ*_k (depth L) — returned in `boundaries` and drawn over the grid by `sslscape.report.phase_plot`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..errors import UserError
from ..moments import Moments, moments_of, unit_noise_cov
from ..result import Result
from ..spec import PREDICTIVE, Spec
from ._linalg import basis_diagonal, common_eigenbasis
from .landscape import landscape
from .predict import PHASE_CODES, max_rank_of, phase_codes, predict, refuse_theory_gaps
from .solve import EIG_RTOL, depth_critical_weight_decay, depth_profile, single_product_form

AXES = ("weight_decay", "noise_scale", "temperature", "batch_size")


@dataclass(frozen=True)
class Axis:
    """One axis of a phase diagram: parameter `name` (one of AXES) from `lo` to `hi` in `n` points."""

    name: str
    lo: float
    hi: float
    n: int

    def __post_init__(self) -> None:
        if self.name not in AXES:
            raise UserError(f"unknown axis {self.name!r}; use one of {', '.join(AXES)}")
        if not (self.n >= 2 and self.hi > self.lo and np.isfinite(self.lo) and np.isfinite(self.hi)):
            raise UserError(f"axis {self.name}: need N ≥ 2 points and finite HI > LO")
        if self.n > 4096:
            raise UserError(f"axis {self.name}: {self.n} points is too many; use at most 4096")
        if self.name in ("temperature", "batch_size") and self.lo <= 0:
            raise UserError(f"axis {self.name}: values must be > 0 (got LO = {self.lo:g})")
        if self.name in ("weight_decay", "noise_scale") and self.lo < 0:
            raise UserError(f"axis {self.name}: values must be ≥ 0 (got LO = {self.lo:g})")
        if self.name == "batch_size" and self.lo < 2:
            raise UserError("axis batch_size: values must be ≥ 2")

    def values(self) -> np.ndarray:
        v = np.linspace(self.lo, self.hi, self.n)
        return np.round(v) if self.name == "batch_size" else v


@dataclass(frozen=True)
class PhaseDiagram(Result):
    x: Axis
    y: Axis
    x_values: np.ndarray
    y_values: np.ndarray
    rank: np.ndarray            # (ny, nx) predicted rank
    phase: np.ndarray           # (ny, nx) 0 complete, 1 dimensional, 2 none
    max_rank: int
    boundaries: list[dict]      # threshold curves: {"direction": k, "x": [...], "y": [...]}, k ≤ max_rank
    method: str                 # 'vectorised' or 'pointwise'
    spec: dict
    point: tuple[float, float]  # the spec's own (x, y)
    order: str = "quartic"      # the order whose ranks the cells show ('quartic', 'per_direction' or 'exact')
    notes: tuple[str, ...] = ()  # e.g. where the default order of `predict` can differ from the cells

    def to_dict(self) -> dict:
        return {**Result.to_dict(self), "phase_codes": PHASE_CODES}


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
    if spec.objective != "infonce":
        return np.ones_like(temperature * batch), np.ones_like(temperature * batch)
    keep = 1.0 - 1.0 / batch
    return keep / temperature, np.sqrt(keep) / temperature


def phase_diagram(spec: Spec, x: Axis, y: Axis, progress: Callable[[int, int], None] | None = None) -> PhaseDiagram:
    """The predicted rank and phase over the (y, x) grid (module docstring); `progress(done, total)` is called
    per cell when cells are solved one by one (no closed form)."""
    if x.name == y.name:
        raise UserError("the x and y axes must be different parameters")
    refuse_theory_gaps(spec)
    moments = moments_of(spec)
    base = spec.with_updates(temperature=1.0, batch_size=None, **{"augmentation.noise_scale": 1.0})
    unit = unit_noise_cov(spec, moments.dim)
    land0 = landscape(base, replace(moments, noise_cov=0 * unit))
    land1 = landscape(base, replace(moments, noise_cov=unit))
    b0, b1 = single_product_form(land0), single_product_form(land1)
    max_rank = max_rank_of(spec, moments)
    vectorisable = land0.expandable and b1 is not None and not spec.bias
    if vectorisable and spec.depth > 1:
        vectorisable = common_eigenbasis(land1.quadratic, b1) is not None and (
            b0 is None or common_eigenbasis(land0.quadratic + land1.quadratic, b0 + b1) is not None)
    if not vectorisable:
        return _pointwise(spec, x, y, max_rank, land0.expandable, progress)
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
    rank = np.broadcast_to(np.minimum(alive, min(d, max_rank)), (y.n, x.n)).astype(int)
    phase = phase_codes(rank, max_rank)
    bounds = _boundaries(spec, x, y, a0, a1, b0, b1, land0, max_rank)
    return PhaseDiagram(x, y, x.values(), y.values(), rank, phase, max_rank, bounds, "vectorised",
                        spec.model_dump(mode="json"), _spec_point(spec, x, y), order="quartic",
                        notes=_default_order_notes(spec, moments))


def _default_order_notes(spec: Spec, moments: Moments) -> tuple[str, ...]:
    """Where `predict`'s default order (docs/theory.md §8) is not the diagram's quartic order."""
    if spec.objective == "infonce" and spec.batch_size is not None:
        from .finite_batch import not_covered

        if not_covered(spec, moments) is None:
            return ("the cells are the quartic order's (p = 1/N at W = 0); predict's default order for this spec is "
                    "the learned point (docs/theory.md §5), which can keep fewer weak directions — sslscape advise "
                    "gives its interval ends",)
    return ()


def _spec_point(spec: Spec, x: Axis, y: Axis) -> tuple[float, float]:
    own = {"weight_decay": spec.weight_decay, "noise_scale": spec.augmentation.noise_scale,
           "temperature": spec.temperature, "batch_size": float(spec.batch_size or np.inf)}
    return float(own[x.name]), float(own[y.name])


def _boundaries(spec: Spec, x: Axis, y: Axis, a0, a1, b0, b1, land0, max_rank: int) -> list[dict]:
    """Curves γ = γ*_k(other axis) for directions k ≤ max_rank (min(d, rank C)), when weight decay is an axis
    (fine grid of the other axis): the exact borders between ranks, drawn over the grid."""
    if "weight_decay" not in (x.name, y.name):
        return []
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
    for k in range(min(crit.shape[1], max_rank)):
        g = crit[:, k]
        if np.all(g <= 0):
            continue
        if x.name == "weight_decay":
            out.append({"direction": k + 1, "x": g.tolist(), "y": vals.tolist()})
        else:
            out.append({"direction": k + 1, "x": vals.tolist(), "y": g.tolist()})
    return out


# Cells allowed when each needs a numerical solve: ~0.3–3 s for the quartic polynomial, ~1–15 s for the exact
# solver (landscapes without an expansion) — a diagram of a few minutes at most. SimSiam/BYOL cells use their
# per-direction closed form (§7): ~3 ms, BYOL dot ~0.2 s (a quadrature per direction); cosine InfoNCE cells the
# reduced learned-point solver (§14): ~30–100 ms.
MAX_POINTWISE_CELLS = {"polynomial": 144, "exact": 36, "per_direction": 4096, "per_direction_quadrature": 1024,
                       "cosine_learned_point": 1024}


def pointwise_kind(spec: Spec, expandable: bool) -> str:
    """Which solve each cell of a pointwise diagram needs (a key of MAX_POINTWISE_CELLS)."""
    if spec.objective in PREDICTIVE:
        from .predictive import not_covered

        if not_covered(spec) is None:
            return "per_direction_quadrature" if spec.objective == "byol" and spec.similarity == "dot" else \
                "per_direction"
        return "exact"
    if spec.objective == "infonce" and spec.similarity == "cosine":
        from .cosine_infonce import not_covered as cosine_not_covered

        return "cosine_learned_point" if cosine_not_covered(spec) is None else "exact"
    from .population import not_covered as population_not_covered

    if population_not_covered(spec) is None:
        return "per_direction"  # VICReg / standardised Barlow: the population closed form per cell (milliseconds)
    return "polynomial" if expandable else "exact"


def _pointwise(spec: Spec, x: Axis, y: Axis, max_rank: int, expandable: bool,
               progress: Callable[[int, int], None] | None) -> PhaseDiagram:
    kind = pointwise_kind(spec, expandable)
    # SimSiam/BYOL, VICReg, standardised Barlow, cosine InfoNCE: the default order per cell (no quartic order)
    order = "auto" if kind.startswith("per_direction") or kind == "cosine_learned_point" else "quartic"
    limit = MAX_POINTWISE_CELLS[kind]
    if x.n * y.n > limit:
        side = int(limit**0.5)
        raise UserError(f"this spec has no vectorised rank ({spec.objective}, similarity {spec.similarity}, "
                        f"normalization {spec.normalization}, depth {spec.depth}, bias {spec.bias}): each cell "
                        f"needs its own solve ({kind.replace('_', ' ')}); use at most {limit} cells, e.g. "
                        f"{x.name}:{x.lo:g}:{x.hi:g}:{side} by {y.name}:{y.lo:g}:{y.hi:g}:{side}")
    rank = np.zeros((y.n, x.n), dtype=int)
    cells = [(i, j) for i in range(y.n) for j in range(x.n)]
    orders: set[str] = set()
    for done, (i, j) in enumerate(cells, 1):
        point = spec.with_updates(**{_field(x.name): _value(x, j), _field(y.name): _value(y, i)})
        pred = predict(point, order)
        rank[i, j] = pred.rank
        orders.add(pred.order)
        if progress is not None:
            progress(done, len(cells))
    phase = phase_codes(rank, max_rank)
    return PhaseDiagram(x, y, x.values(), y.values(), rank, phase, max_rank, [], "pointwise",
                        spec.model_dump(mode="json"), _spec_point(spec, x, y), order="+".join(sorted(orders)))


def _field(name: str) -> str:
    return "augmentation.noise_scale" if name == "noise_scale" else name


def _value(axis: Axis, i: int) -> float | int:
    v = axis.values()[i]
    return int(v) if axis.name == "batch_size" else float(v)


__all__ = ["AXES", "Axis", "PhaseDiagram", "phase_diagram"]
