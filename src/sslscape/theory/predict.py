"""`predict`: rank, phase, spectrum and critical values of an SSL problem, from the landscape or the exact solver.

Orders:
  quartic  the closed-form global minimum of the quartic landscape (milliseconds); where no closed form exists
           the polynomial is minimised numerically, and where no expansion exists (VICReg, normalised
           embeddings, SimSiam/BYOL) the answer comes from the exact solver and says so.
  exact    deterministic minimisation of the exact sample loss (`sslscape.theory.exact`), the referee.

Thresholds (depth 1): direction k grows from W = 0 iff the k-th eigenvalue of A − γG is positive, so
  weight_decay*_k  = generalised eigenvalues of (A, G)            (γ above which direction k dies)
  noise_scale*_k   = roots s ≥ 0 of det(A₀ + s A₁ − γG) = 0         (A is affine in the noise scale)
  temperature*_k   = τ a_k / γ  (InfoNCE: A ∝ 1/τ; direction k dies for τ above it)
For the single-product landscapes these are global statements; elsewhere they are the local instability
thresholds of W = 0 (`Thresholds.kind`). Depth L ≥ 2 uses the closed form of `solve.depth_profile`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from ..moments import Moments, moments_of, unit_noise_cov
from ..result import Result
from ..spec import Spec
from .landscape import Landscape, landscape
from .solve import (
    common_eigenbasis,
    depth_critical_weight_decay,
    depth_metastable_weight_decay,
    minimum,
    numerical_minimum,
    single_product_form,
)

Order = Literal["quartic", "exact"]
Phase = Literal["none", "dimensional", "complete"]
PHASE_CODES: dict[str, int] = {"complete": 0, "dimensional": 1, "none": 2}


def phase_of(rank: int, max_rank: int) -> Phase:
    """'complete' (rank 0), 'none' (every direction the data has survives) or 'dimensional'."""
    return "complete" if rank == 0 else ("none" if rank >= max_rank else "dimensional")


def phase_codes(rank: np.ndarray, max_rank: int) -> np.ndarray:
    """`phase_of` for an array of ranks, as PHASE_CODES (0 complete, 1 dimensional, 2 none)."""
    return np.where(rank == 0, 0, np.where(rank >= max_rank, 2, 1))


Values = tuple[float, ...]


@dataclass(frozen=True)
class Thresholds(Result):
    """Critical values per direction, descending (module docstring). None: not available for this spec.

    kind                            'global' (the values decide the global minimum), 'local_instability' (they
                                    decide when W = 0 becomes unstable) or 'none'
    weight_decay                    γ*_k above which direction k dies
    weight_decay_metastable         depth ≥ 2: the spinodal γ_sp,k up to which direction k stays locally stable
    weight_decay_at_learned_point   finite-batch InfoNCE: γ*_k with the positive pair's share p̄ (learned point)
    noise_scale                     augmentation strengths s*_k at which direction k changes (empty: never)
    temperature                     τ*_k above which direction k dies (InfoNCE)
    """

    kind: str = "none"
    weight_decay: Values | None = None
    weight_decay_metastable: Values | None = None
    weight_decay_at_learned_point: Values | None = None
    noise_scale: Values | None = None
    temperature: Values | None = None


@dataclass(frozen=True)
class Prediction(Result):
    """The theory's answer for one spec (built by keyword; `to_dict()`/`to_json()` for files).

    rank        directions of the learned representation (the theory's count); `rank_max` ≥ rank: locally stable
                directions (depth ≥ 2 metastable band), = rank otherwise
    phase       'none' | 'dimensional' | 'complete';  max_rank = min(d, rank C): the rank without collapse
    spectrum    eigenvalues of W C Wᵀ (embedding covariance), descending, length d
    order       the order that produced the answer ('quartic' | 'exact'); method: how (closed_form, …)
    """

    rank: int
    phase: str
    spectrum: Values
    thresholds: Thresholds
    order: str
    method: str
    closed_form: bool
    max_rank: int
    loss: float
    embed_dim: int
    rank_max: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    positive_weight: float | None = None  # InfoNCE: mean softmax weight p̄ of the positive pair


def max_rank_of(spec: Spec, moments: Moments) -> int:
    c = moments.cov
    data_rank = int(np.linalg.matrix_rank(c, tol=1e-10 * max(np.abs(c).max(), 1e-300)))
    return min(spec.embed_dim or moments.dim, data_rank)


def predict(spec: Spec, order: Order = "quartic") -> Prediction:
    """Predict the learned representation of `spec` (module docstring). Raises ValueError for an unknown order."""
    if order not in ("quartic", "exact"):
        raise ValueError(f"order must be 'quartic' or 'exact', got {order!r}")
    moments = moments_of(spec)
    land = landscape(spec, moments)
    max_rank = max_rank_of(spec, moments)
    notes = list(land.notes)
    thresholds = critical_values(spec, moments, land) if land.expandable else Thresholds()
    common = {"max_rank": max_rank, "embed_dim": land.embed_dim}
    if order == "quartic" and land.expandable and spec.depth > 1 and spec.bias:
        notes.append("a bias with depth > 1 sits after the product W_L⋯W_1, outside the landscape's input "
                     "augmentation; answered with order 'exact'")
    elif order == "quartic" and land.expandable:
        found = minimum(land, depth=spec.depth, seed=spec.seed)
        if found.method == "numerical":
            notes.append("no closed form for this landscape; its polynomial was minimised numerically")
        p_bar = None
        if spec.objective == "infonce" and spec.batch_size is not None and spec.depth == 1 and found.rank > 0:
            from .exact import positive_weight_at  # torch: a Monte-Carlo p̄

            p_bar = positive_weight_at(spec, moments, found.weights)
            thresholds, band = _finite_batch_band(spec, thresholds, p_bar)
            notes.extend(band)
        return _prediction(spec, rank=found.rank, spectrum=found.embedding_spectrum, thresholds=thresholds,
                           order="quartic", method=found.method, closed_form=found.method.startswith("closed_form"),
                           loss=found.loss, notes=notes, positive_weight=p_bar, **common)
    if order == "quartic" and not land.expandable:
        notes.append(f"no quartic landscape: {land.reason}")
    if order == "exact" and polynomial_is_exact(spec, moments, land):
        found = numerical_minimum(land, depth=spec.depth, seed=spec.seed)
        notes.append("the population loss of this spec is exactly the landscape polynomial; it was minimised "
                     "numerically (multi-start), with no Monte-Carlo error")
        return _prediction(spec, rank=found.rank, spectrum=found.embedding_spectrum, thresholds=thresholds,
                           order="exact", method="exact_polynomial", closed_form=False, loss=found.loss, notes=notes,
                           **common)
    from .exact import exact_solution  # torch: imported only when the exact solver runs

    sol = exact_solution(spec, moments)
    if sol.method == "dynamics_diverged":
        notes.append("the stop-gradient dynamics diverged (unnormalised loss with a linear predictor)")
    return _prediction(spec, rank=sol.rank, spectrum=sol.embedding_spectrum, thresholds=thresholds, order="exact",
                       method=sol.method, closed_form=False, loss=sol.loss, notes=notes,
                       positive_weight=sol.positive_weight, **common)


def _prediction(spec: Spec, *, rank: int, spectrum: Any, thresholds: Thresholds, max_rank: int, notes: list[str],
                **fields: Any) -> Prediction:
    return Prediction(rank=int(rank), phase=phase_of(rank, max_rank), spectrum=tuple(map(float, spectrum)),
                      thresholds=thresholds, max_rank=max_rank, notes=tuple(notes),
                      rank_max=metastable_rank(spec, int(rank), thresholds, max_rank), **fields)


def metastable_rank(spec: Spec, rank: int, thresholds: Thresholds, max_rank: int) -> int:
    """Upper end of the predicted rank range: directions with a locally stable non-zero state (depth ≥ 2).

    For depth ≥ 2, W = 0 and a direction's non-zero state are both local minima up to its spinodal γ_sp
    (`thresholds.weight_decay_metastable`), so which one training keeps depends on the initialisation; the
    theory only bounds the rank to [global-minimum rank, this].
    """
    meta = thresholds.weight_decay_metastable
    if spec.depth == 1 or not meta:
        return rank
    cap = min(spec.embed_dim or len(meta), max_rank)
    return max(rank, min(cap, sum(g > spec.weight_decay for g in meta)))


def polynomial_is_exact(spec: Spec, moments: Moments, land: Landscape) -> bool:
    """True when E[sample loss] equals the landscape polynomial exactly, so `exact` needs no Monte-Carlo.

    Spectral: its expectation involves second moments only (any data). Raw Barlow Twins: its expectation is a
    quartic whose finite-batch part uses Gaussian fourth moments of centred data — exact for Gaussian data given
    by a covariance with zero mean and no bias. A Monte-Carlo sample there only adds error: on 4,096 pairs a
    direction dead in the population (3.9e-13 of the top) read 2.6e-3, and 1.0e-3 / 2.4e-4 on 16k / 65k pairs.
    """
    if not land.expandable or (spec.depth > 1 and spec.bias):
        return False
    if spec.objective == "spectral":
        return True
    gaussian_centred = spec.data.samples is None and not np.any(moments.mean) and not spec.bias
    return spec.objective == "barlow" and spec.normalization == "none" and gaussian_centred


def _finite_batch_band(spec: Spec, thresholds: Thresholds, p_bar: float) -> tuple[Thresholds, list[str]]:
    """Directions the positive pair's softmax weight p̄ may kill although the quartic keeps them.

    Beyond fourth order the InfoNCE gradient on direction k at the learned point is (1 − p̄) a_k^∞ − γ, with
    a_k^∞ the N → ∞ coefficient, while the quartic uses the value of p̄ at W = 0, 1/N. Directions with
    (1 − p̄) a_k^∞ ≤ γ < (1 − 1/N) a_k^∞ are flagged; `thresholds.weight_decay_at_learned_point` gives the
    corrected critical values (p̄ measured at the quartic minimiser — an estimate; order 'exact' decides).
    """
    keep = 1.0 - 1.0 / spec.batch_size
    crit = thresholds.weight_decay or ()
    corrected = tuple((1.0 - p_bar) * g / keep for g in crit)
    thresholds = replace(thresholds, weight_decay_at_learned_point=corrected)
    band = [k + 1 for k, (g, c) in enumerate(zip(crit, corrected, strict=True)) if c <= spec.weight_decay < g]
    if not band:
        return thresholds, []
    return thresholds, [
        f"finite batch: the positive pair carries p̄ ≈ {p_bar:.3f} of the softmax at the quartic minimiser; "
        f"direction(s) {band} survive at quartic order but may die at the learned point "
        "((1 − p̄)·a_k ≤ γ) — check with --order exact"]


def _finite_real(values: np.ndarray) -> list[float]:
    values = np.asarray(values)
    keep = np.isfinite(values) & (np.abs(values.imag) <= 1e-9 * np.maximum(1.0, np.abs(values.real)))
    return sorted((float(v) for v in values.real[keep]), reverse=True)


def critical_values(spec: Spec, moments: Moments, land: Landscape) -> Thresholds:
    """Per-direction critical weight decay, noise scale and temperature (module docstring)."""
    import scipy.linalg  # where it is used: importing the theory stays cheap (scipy.linalg alone takes ~1 s)

    a, g, gamma = land.quadratic, land.decay, land.weight_decay
    kind = "global" if single_product_form(land) is not None else "local_instability"
    if spec.depth == 1:
        if np.allclose(g, np.eye(g.shape[0])):
            decay = tuple(max(float(v), 0.0) for v in np.linalg.eigvalsh(a)[::-1])
        else:
            decay = tuple(max(v, 0.0) for v in _finite_real(scipy.linalg.eigvals(a, g)))
        unit = unit_noise_cov(spec, moments.dim)
        a0 = landscape(spec, replace(moments, noise_cov=0 * unit)).quadratic
        a1 = landscape(spec, replace(moments, noise_cov=unit)).quadratic - a0
        if np.abs(a1).max() <= 1e-12 * max(np.abs(a0).max(), 1e-300):
            noise: Values = ()  # augmentation does not enter the quadratic term: it never changes the rank
        else:
            roots = _finite_real(scipy.linalg.eigvals(a0 - gamma * g, -a1))
            noise = tuple(sorted((r for r in roots if r >= 0), reverse=True))
        temps: Values = ()
        if spec.objective == "infonce" and gamma > 0:
            temps = tuple(float(spec.temperature * v / gamma) for v in np.linalg.eigvalsh(a)[::-1] if v > 0)
        return Thresholds(kind=kind, weight_decay=decay, noise_scale=noise, temperature=temps)
    b = single_product_form(land)
    e = None if b is None or spec.bias else common_eigenbasis(a, b)
    if e is None:
        return Thresholds(kind="none")
    a_k = np.einsum("ik,ij,jk->k", e, a, e)
    beta2 = np.einsum("ik,ij,jk->k", e, b, e) ** 2
    desc = lambda v: tuple(sorted(map(float, v), reverse=True))  # noqa: E731
    return Thresholds(kind="global", weight_decay=desc(depth_critical_weight_decay(a_k, beta2, spec.depth)),
                      weight_decay_metastable=desc(depth_metastable_weight_decay(a_k, beta2, spec.depth)))
