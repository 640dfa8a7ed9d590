"""Theory side of the experiments: `sslscape.theory.predict` plus which input axes survive.

For a diagonal C (and diagonal S) the minimiser's directions are the coordinate axes, so "direction i survives"
is read off the weights: axis i is alive iff c_i ‖W e_i‖² exceeds a relative tolerance of the largest such value
(1e-9 for the closed form, whose dead directions are exact zeros; 1e-3 for trained weights, as the rank).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..io import json_default
from ..spec import Spec
from ..theory import landscape, minimum, predict
from ._training import RANK_REL_TOL


def axis_energy(weight: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Per input axis i: c_i ‖W e_i‖² (the variance axis i puts into the embedding), for diagonal C."""
    diag = np.diag(cov) if np.ndim(cov) == 2 else np.asarray(cov, float)
    dim = diag.size
    return diag * np.sum(np.asarray(weight)[:, :dim] ** 2, axis=0)


def alive_axes(weight: np.ndarray | None, cov: np.ndarray, rel_tol: float = RANK_REL_TOL) -> list[bool]:
    if weight is None:
        return []
    e = axis_energy(weight, cov)
    top = e.max(initial=0.0)
    if top <= 1e-30:
        return [False] * e.size
    return [bool(v > rel_tol * top) for v in e]


def theory_point(spec: Spec, base_dir: Path | None = None) -> dict:
    """predict(spec, 'quartic') as a dict, plus the closed-form minimiser's alive axes when C is diagonal."""
    pred = predict(spec, "quartic", base_dir)
    out = {"rank": pred.rank, "phase": pred.phase, "spectrum": [float(v) for v in pred.spectrum],
           "method": pred.method, "thresholds": json.loads(json.dumps(pred.thresholds, default=json_default))}
    moments = spec.moments(base_dir)
    diagonal = np.allclose(moments.cov, np.diag(np.diag(moments.cov)))
    land = landscape(spec, moments)
    if diagonal and land.expandable and spec.depth == 1:
        w = minimum(land, depth=1, seed=spec.seed).weights
        out["alive_axes"] = alive_axes(w, moments.cov, 1e-9)
    return out
