"""Theory side of the experiments: `sslscape.theory.predict` plus which input axes survive.

For a diagonal C (and diagonal S) the minimiser's directions are the coordinate axes, so "direction i survives"
is read off the weights: the axes whose energy c_i ‖W e_i‖² lies above the collapse rule's cut (the same rule
as every rank, `sslscape.diagnostics.rank`). `agrees` is the one agreement rule.
"""

from __future__ import annotations

import numpy as np

from ..diagnostics.rank import agreement, collapse_cut
from ..moments import moments_of
from ..spec import Spec, parse_spec
from ..theory import landscape, minimum, predict

VARIANCES = (4.0, 3.0, 2.0, 1.5, 1.0, 0.5)  # the data variances c_i of the Gaussian experiments (diagonal C)


def gaussian_spec(cov: tuple[float, ...] | list, *, mean: float | None = None, noise: float = 1.0,
                  **fields: object) -> Spec:
    """The experiments' usual spec: Gaussian data with diagonal covariance `cov` (and mean m·1 if `mean`), additive
    noise S = noise·I (times `noise_scale` if given), τ = 1, d = len(cov), N = 256; `fields` override any key."""
    data: dict = {"cov": list(cov), **({"mean": [mean] * len(cov)} if mean is not None else {})}
    aug: dict = {"noise_cov": [noise] * len(cov)}
    if "noise_scale" in fields:
        aug["noise_scale"] = fields.pop("noise_scale")
    return parse_spec({"temperature": 1.0, "embed_dim": len(cov), "batch_size": 256, **fields, "data": data,
                       "augmentation": aug})


def axis_energy(weight: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Per input axis i: c_i ‖W e_i‖² (the variance axis i puts into the embedding), for diagonal C."""
    diag = np.diag(cov) if np.ndim(cov) == 2 else np.asarray(cov, float)
    dim = diag.size
    return diag * np.sum(np.asarray(weight)[:, :dim] ** 2, axis=0)


def alive_axes(weight: np.ndarray | None, cov: np.ndarray) -> list[bool]:
    """Per input axis: above the collapse cut of the axis energies (`collapse_cut`, with the data's variance scale
    for complete collapse), for diagonal C."""
    if weight is None:
        return []
    e = axis_energy(weight, cov)
    diag = np.diag(cov) if np.ndim(cov) == 2 else np.asarray(cov, float)
    # the data's variance scale, as for a trained encoder's rank: an all-but-zero W has no surviving axis
    keep = collapse_cut(e, reference_scale=float(np.mean(diag))).rank
    order = np.argsort(-e, kind="stable")[:keep]
    return [bool(i in set(order.tolist())) for i in range(e.size)]


def agrees(theory: dict, trained_rank: int) -> bool:
    """The one agreement rule (`diagnose.rank.agreement`) for a `theory_point` and a trained collapse rank."""
    return agreement(theory["spectrum"], trained_rank, predicted_rank_max=theory.get("rank_max"),
                     predicted_rank_min=theory.get("rank_min")).agree


def theory_point(spec: Spec) -> dict:
    """predict(spec) (the default order, as every entry point) as a dict — rank and range by the collapse rule, the
    theory's own count, the solver — plus the quartic minimiser's alive axes when C is diagonal."""
    pred = predict(spec)
    lo, hi = pred.rank_range
    out = {"rank": pred.rank, "rank_min": lo, "rank_max": hi, "alive": pred.alive, "phase": pred.phase,
           "spectrum": [float(v) for v in pred.spectrum], "solver": pred.solver, "order": pred.order,
           "method": pred.method, "thresholds": pred.thresholds.to_dict()}
    moments = moments_of(spec)
    diagonal = np.allclose(moments.cov, np.diag(np.diag(moments.cov)))
    land = landscape(spec, moments)
    if diagonal and land.expandable and spec.depth == 1:
        w = minimum(land, depth=1, seed=spec.seed).weights
        out["alive_axes"] = alive_axes(w, moments.cov)
    return out


def predicted(spec: Spec) -> tuple[int, list[float]]:
    """(rank, spectrum) of predict(spec) (the default order): a figure's theory curve, point by point."""
    pred = predict(spec)
    return pred.rank, [float(v) for v in pred.spectrum]
