"""Phase diagrams: the predicted rank over a grid of two hyper-parameters, vectorised.

Axes: `weight_decay` (γ), `noise_scale` (s, multiplies the augmentation's noise covariance), `temperature` (τ)
and `batch_size` (N). In the closed-form landscapes the quadratic and quartic matrices are affine in s and
scale with τ and N as (1 − 1/N)/τ and √(1 − 1/N)/τ (InfoNCE) or not at all, so a whole grid is one batched
eigen-decomposition (depth 1: rank = #{eig(A) > γ} ∧ d; depth L: the common eigenbasis and the vectorised
1-D profiles of `solve.depth_profile`). Landscapes without a closed form are evaluated point by point with
`predict` (slow; the result says `method='pointwise'`).

Threshold lines: with weight decay on an axis, direction k dies on the curve γ = a_k(other axis) (depth 1) or
γ = γ*_k (depth L) — returned in `boundaries` and drawn over the grid by `sslscape.report.phase_plot`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..io import json_default
from ..spec import Spec
from .landscape import landscape
from .predict import max_rank_of, predict
from .solve import EIG_RTOL, common_eigenbasis, depth_critical_weight_decay, depth_profile, single_product_form

AXES = ("weight_decay", "noise_scale", "temperature", "batch_size")
PHASE_CODES = {"complete": 0, "dimensional": 1, "none": 2}


@dataclass(frozen=True)
class Axis:
    name: str
    lo: float
    hi: float
    n: int

    @classmethod
    def parse(cls, text: str) -> Axis:
        """'weight_decay:0:1:64' → Axis; errors say the expected form."""
        parts = text.split(":")
        if len(parts) != 4:
            raise UserError(f"axis {text!r} must be NAME:LO:HI:N, e.g. weight_decay:0:1:64")
        name = parts[0]
        if name not in AXES:
            raise UserError(f"unknown axis {name!r}; use one of {', '.join(AXES)}")
        try:
            lo, hi, n = float(parts[1]), float(parts[2]), int(parts[3])
        except ValueError as exc:
            raise UserError(f"axis {text!r}: LO and HI must be numbers and N an integer") from exc
        if not (n >= 2 and hi > lo):
            raise UserError(f"axis {text!r}: need N ≥ 2 and HI > LO")
        if name in ("temperature", "batch_size") and lo <= 0:
            raise UserError(f"axis {name}: values must be > 0 (got LO = {lo})")
        if name in ("weight_decay", "noise_scale") and lo < 0:
            raise UserError(f"axis {name}: values must be ≥ 0 (got LO = {lo})")
        if name == "batch_size" and lo < 2:
            raise UserError("axis batch_size: values must be ≥ 2")
        return cls(name, lo, hi, n)

    def values(self) -> np.ndarray:
        v = np.linspace(self.lo, self.hi, self.n)
        return np.round(v) if self.name == "batch_size" else v


@dataclass(frozen=True)
class PhaseDiagram:
    x: Axis
    y: Axis
    x_values: np.ndarray
    y_values: np.ndarray
    rank: np.ndarray            # (ny, nx) predicted rank
    phase: np.ndarray           # (ny, nx) 0 complete, 1 dimensional, 2 none
    max_rank: int
    boundaries: list[dict]      # threshold curves: {"direction": k, "x": [...], "y": [...]}
    method: str                 # 'vectorised' or 'pointwise'
    spec: dict

    def to_json(self) -> str:
        d = asdict(self)
        d["phase_codes"] = PHASE_CODES
        return json.dumps(d, default=json_default)


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


def phase_diagram(spec: Spec, x: Axis, y: Axis, base_dir: Path | None = None) -> PhaseDiagram:
    if x.name == y.name:
        raise UserError("the x and y axes must be different parameters")
    moments = spec.moments(base_dir)
    base = spec.with_updates(temperature=1.0, batch_size=None, **{"augmentation.noise_scale": 1.0})
    unit = spec.unit_noise_cov(moments.dim)
    land0 = landscape(base, replace(moments, noise_cov=0 * unit))
    land1 = landscape(base, replace(moments, noise_cov=unit))
    b0, b1 = single_product_form(land0), single_product_form(land1)
    max_rank = max_rank_of(spec, moments)
    vectorisable = land0.expandable and b1 is not None and not spec.bias
    if vectorisable and spec.depth > 1:
        vectorisable = common_eigenbasis(land1.quadratic, b1) is not None and (
            b0 is None or common_eigenbasis(land0.quadratic + land1.quadratic, b0 + b1) is not None)
    if not vectorisable:
        return _pointwise(spec, x, y, base_dir, max_rank, land0.expandable)
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
        diag = lambda m: np.einsum("ik,ij,jk->k", e, m, e)  # noqa: E731
        ak = (diag(a0) + s[..., None] * diag(a1)) * sa[..., None]
        bk = (diag(b0) + s[..., None] * (diag(b1) - diag(b0))) * sb[..., None]
        _, val = depth_profile(ak, bk**2, p["weight_decay"][..., None], spec.depth)
        alive = np.sum(val < 0, axis=-1)
    rank = np.broadcast_to(np.minimum(alive, min(d, max_rank)), (y.n, x.n)).astype(int)
    phase = np.where(rank == 0, 0, np.where(rank >= max_rank, 2, 1))
    bounds = _boundaries(spec, x, y, a0, a1, b0, b1, land0)
    return PhaseDiagram(x, y, x.values(), y.values(), rank, phase, max_rank, bounds, "vectorised",
                        spec.model_dump(mode="json"))


def _boundaries(spec: Spec, x: Axis, y: Axis, a0, a1, b0, b1, land0) -> list[dict]:
    """Curves γ = γ*_k(other axis) when weight decay is an axis (fine grid of the other axis)."""
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
        diag = lambda m: np.einsum("ik,ij,jk->k", e, m, e)  # noqa: E731
        ak = (diag(a0) + s[:, None] * diag(a1)) * sa[:, None]
        bk = (diag(b0) + s[:, None] * (diag(b1) - diag(b0))) * sb[:, None]
        crit = -np.sort(-depth_critical_weight_decay(ak, bk**2, spec.depth), axis=1)
    out = []
    for k in range(crit.shape[1]):
        g = crit[:, k]
        if np.all(g <= 0):
            continue
        if x.name == "weight_decay":
            out.append({"direction": k + 1, "x": g.tolist(), "y": vals.tolist()})
        else:
            out.append({"direction": k + 1, "x": vals.tolist(), "y": g.tolist()})
    return out


# Cells allowed when each needs a numerical solve: ~0.3–3 s for the quartic polynomial, ~1–15 s for the exact
# solver (landscapes without an expansion) — a diagram of a few minutes at most.
MAX_POINTWISE_CELLS = {"polynomial": 144, "exact": 36}


def _pointwise(spec: Spec, x: Axis, y: Axis, base_dir: Path | None, max_rank: int,
               expandable: bool) -> PhaseDiagram:
    from rich.progress import track

    kind = "polynomial" if expandable else "exact"
    limit = MAX_POINTWISE_CELLS[kind]
    if x.n * y.n > limit:
        side = int(limit**0.5)
        raise UserError(f"this spec has no closed-form rank ({spec.objective}, similarity {spec.similarity}, "
                        f"normalization {spec.normalization}, depth {spec.depth}, bias {spec.bias}): each cell "
                        f"needs a numerical solve ({kind}); use at most {limit} cells, e.g. "
                        f"--x {x.name}:{x.lo:g}:{x.hi:g}:{side} --y {y.name}:{y.lo:g}:{y.hi:g}:{side}")
    rank = np.zeros((y.n, x.n), dtype=int)
    cells = [(i, j) for i in range(y.n) for j in range(x.n)]
    for i, j in track(cells, description="phase diagram (no closed form: point by point)", transient=True):
        point = spec.with_updates(**{_field(x.name): _value(x, j), _field(y.name): _value(y, i)})
        rank[i, j] = predict(point, "quartic", base_dir).rank
    phase = np.where(rank == 0, 0, np.where(rank >= max_rank, 2, 1))
    return PhaseDiagram(x, y, x.values(), y.values(), rank, phase, max_rank, [], "pointwise",
                        spec.model_dump(mode="json"))


def _field(name: str) -> str:
    return "augmentation.noise_scale" if name == "noise_scale" else name


def _value(axis: Axis, i: int) -> float | int:
    v = axis.values()[i]
    return int(v) if axis.name == "batch_size" else float(v)


__all__ = ["AXES", "Axis", "PhaseDiagram", "phase_diagram"]
