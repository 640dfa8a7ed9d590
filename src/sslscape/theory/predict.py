"""`predict`: rank, phase, spectrum and critical values of an SSL problem, from a closed form or the exact solver.

Orders (`Prediction.order` always names the one that produced the answer; `Thresholds.order` the one whose
critical values are shown):

  auto           the default: the best closed form the spec has — `learned_point` for InfoNCE (dot similarity)
                 with a batch size, `per_direction` for SimSiam/BYOL (dot or cosine), VICReg and standardised
                 Barlow Twins, else `quartic`; where none
                 applies the answer comes from the exact solver and says why.
  quartic        the closed-form global minimum of the quartic landscape around W = 0 (milliseconds); where no
                 closed form exists the polynomial is minimised numerically, and where no expansion exists (VICReg,
                 normalised embeddings, SimSiam/BYOL) the exact solver answers (order 'exact').
  learned_point  InfoNCE, dot similarity, finite batch: the self-consistent minimiser with the positive pair's
                 softmax share p̄ (`finite_batch`, ~10–50 ms); direction k survives iff (1 − p̄_{−k}) c_k/τ > γ.
  per_direction  the per-eigendirection closed forms: SimSiam/BYOL — the stop-gradient dynamics from the trainer's
                 start (`predictive`): dot → escape or collapse per direction, γ*_k; cosine → mean-field survival;
                 VICReg and Barlow Twins with batch standardisation — the population minimiser (`population`):
                 VICReg water-fills view variance over directions by cost (direction i used iff m_i < ν),
                 standardised Barlow keeps the directions whose signal-to-noise ratio exceeds ρ_c (milliseconds).
  exact          the referee (`exact`): deterministic minimisation of the exact sample loss, or for SimSiam/BYOL
                 the integrated dynamics started like the trainer; `progress`/`max_seconds` make it waitable.

Thresholds (quartic, depth 1): direction k grows from W = 0 iff the k-th eigenvalue of A − γG is positive, so
  weight_decay*_k  = generalised eigenvalues of (A, G)            (γ above which direction k dies)
  noise_scale*_k   = roots s ≥ 0 of det(A₀ + s A₁ − γG) = 0         (A is affine in the noise scale)
  temperature*_k   = τ a_k / γ  (InfoNCE: A ∝ 1/τ; direction k dies for τ above it)
For the single-product landscapes these are global statements; elsewhere they are the local instability
thresholds of W = 0 (`Thresholds.kind`). Depth L ≥ 2 uses the closed form of `solve.depth_profile`. The learned
point's and the per-direction orders' critical values: docs/theory.md §5 and §7.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from ..errors import UserError
from ..moments import Moments, moments_of, unit_noise_cov
from ..result import Result
from ..spec import PREDICTIVE, Spec
from ._linalg import basis_diagonal, common_eigenbasis
from .landscape import Landscape, landscape
from .solve import (
    depth_critical_weight_decay,
    depth_metastable_weight_decay,
    minimum,
    single_product_form,
)

Order = Literal["auto", "quartic", "learned_point", "per_direction", "exact"]
ORDERS: tuple[str, ...] = ("auto", "quartic", "learned_point", "per_direction", "exact")
Phase = Literal["none", "dimensional", "complete"]
PHASE_CODES: dict[str, int] = {"complete": 0, "dimensional": 1, "none": 2}
Progress = Callable[[int, int], None]


def phase_of(rank: int, max_rank: int) -> Phase:
    """'complete' (rank 0), 'none' (every direction the data has survives) or 'dimensional'."""
    return "complete" if rank == 0 else ("none" if rank >= max_rank else "dimensional")


def phase_codes(rank: np.ndarray, max_rank: int) -> np.ndarray:
    """`phase_of` for an array of ranks, as PHASE_CODES (0 complete, 1 dimensional, 2 none)."""
    return np.where(rank == 0, 0, np.where(rank >= max_rank, 2, 1))


Values = tuple[float, ...]


@dataclass(frozen=True)
class Thresholds(Result):
    """Critical values per direction, descending (module docstring). None: not available for this spec; ():
    the knob never changes the rank.

    kind                            'global' (the values decide the global minimum), 'local_instability' (they
                                    decide when W = 0 becomes unstable), 'learned_point' (finite-batch InfoNCE:
                                    the growth law at the learned point, the other directions held there),
                                    'escape' (dot SimSiam/BYOL: γ below γ*_k makes direction k escape),
                                    'escape_estimate' (BYOL dot, unbalanced start: γ*_k by quadrature, inside
                                    `weight_decay_range`), 'mean_field' (cosine SimSiam/BYOL),
                                    'water_level' (VICReg: direction k is used iff its cost m_k is below the
                                    water level ν, ν held at the solution), 'snr_level' (standardised Barlow:
                                    used iff ρ_k > ρ_c, ρ_c held; weight decay never acts) or 'none'
    order                           the order these values belong to ('quartic', 'learned_point',
                                    'per_direction'; '' when there are none)
    weight_decay                    γ*_k above which direction k dies (dot SimSiam/BYOL: above which it collapses
                                    instead of escaping)
    weight_decay_metastable         depth ≥ 2: the spinodal γ_sp,k up to which direction k stays locally stable
    weight_decay_at_learned_point   order 'learned_point': the same values as `weight_decay` (kept for callers of
                                    the earlier estimate); None otherwise
    weight_decay_range              BYOL dot: the bracket [λ_k min(w₀, p₀)/2, λ_k max(w₀, p₀)/2] that holds γ*_k
                                    for every EMA rate
    noise_scale                     augmentation strengths s*_k at which direction k changes (empty: never)
    temperature                     τ*_k above which direction k dies (InfoNCE)
    """

    kind: str = "none"
    order: str = ""
    weight_decay: Values | None = None
    weight_decay_metastable: Values | None = None
    weight_decay_at_learned_point: Values | None = None
    weight_decay_range: tuple[tuple[float, float], ...] | None = None
    noise_scale: Values | None = None
    temperature: Values | None = None


@dataclass(frozen=True)
class Prediction(Result):
    """The theory's answer for one spec (built by keyword; `to_dict()`/`to_json()` for files).

    rank        directions of the learned representation (the theory's count; dot SimSiam/BYOL: the directions
                that escape — a run then diverges); `rank_max` ≥ rank: the upper end of the predicted range —
                locally stable directions (depth ≥ 2 metastable band) or, for SimSiam/BYOL, the seed band of the
                trainer's random start (docs/theory.md §7); = rank otherwise
    phase       'none' | 'dimensional' | 'complete';  max_rank = min(d, rank C): the rank without collapse
    spectrum    eigenvalues of W C Wᵀ (embedding covariance), descending, length d
    order       the order that produced the answer ('quartic' | 'learned_point' | 'per_direction' | 'exact');
                method: how (closed_form, learned_point, escape, mean_field, exact_lbfgs, dynamics, …)
    loss        the loss at the answer (None where no loss has the learned state as its minimum)
    converged   False when an exact solve stopped at `max_seconds`: the best answer so far
    positive_weight   InfoNCE: the positive pair's mean softmax weight p̄ at the answer (None where not computed)
    """

    rank: int
    phase: str
    spectrum: Values
    thresholds: Thresholds
    order: str
    method: str
    closed_form: bool
    max_rank: int
    loss: float | None
    embed_dim: int
    rank_max: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    positive_weight: float | None = None
    converged: bool = True


def max_rank_of(spec: Spec, moments: Moments) -> int:
    c = moments.cov
    data_rank = int(np.linalg.matrix_rank(c, tol=1e-10 * max(np.abs(c).max(), 1e-300)))
    return min(spec.embed_dim or moments.dim, data_rank)


@dataclass(frozen=True)
class Plan(Result):
    """Which order will answer `predict(spec, order)` (`plan`): `order` the one that produces the answer,
    `numerical` True when that is the exact solver (torch; seconds to minutes), `reason` a short phrase saying
    why (e.g. "no closed form for cosine similarity")."""

    order: str
    numerical: bool
    reason: str


def refuse_theory_gaps(spec: Spec) -> None:
    """UserError (one line naming the fields and the fix) when `spec.theory_gaps()` is not empty: a spec training
    accepts but the theory would answer as a different problem (e.g. a deep SimSiam, docs/theory.md §7)."""
    gaps = spec.theory_gaps()
    if gaps:
        raise UserError(f"the theory cannot answer this spec (training can): {'; '.join(gaps)} "
                        "(docs/theory.md 'Not supported')")


def plan(spec: Spec, order: str = "auto", moments: Moments | None = None) -> Plan:
    """The order that answers `predict(spec, order)`, without solving anything (for an up-front estimate).

    Raises ValueError for an unknown order and UserError (one line, the reason) when an explicitly requested
    closed-form order does not apply to the spec or the spec has theory gaps (`refuse_theory_gaps`).
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}; got {order!r}")
    refuse_theory_gaps(spec)
    m = moments if moments is not None else moments_of(spec)
    if order == "exact":
        return Plan(order="exact", numerical=True, reason="order exact (the numerical referee)")
    if order in ("auto", "learned_point") and spec.objective == "infonce" and spec.similarity == "cosine":
        from .cosine_infonce import not_covered as cosine_not_covered

        why = cosine_not_covered(spec, m)
        if why is None:
            return Plan(order="learned_point", numerical=False,
                        reason="InfoNCE with cosine similarity: the reduced learned-point solver")
        if order == "learned_point":
            raise UserError(f"order learned_point does not apply: {why}; use --order auto or exact "
                            "(docs/theory.md §14)")
    elif order in ("auto", "learned_point") and spec.objective == "infonce" and spec.batch_size is not None:
        from .finite_batch import not_covered

        why = not_covered(spec, m)
        if why is None:
            return Plan(order="learned_point", numerical=False, reason="InfoNCE (dot) with a finite batch")
        if order == "learned_point":
            raise UserError(f"order learned_point does not apply: {why}; use --order auto, quartic or exact "
                            "(docs/theory.md §5)")
    elif order == "learned_point":
        raise UserError("order learned_point applies to InfoNCE with cosine similarity, or dot similarity and a "
                        "batch_size, only; use --order auto, quartic or exact (docs/theory.md §5, §14)")
    if order in ("auto", "per_direction") and (spec.objective in PREDICTIVE or _population_objective(spec)):
        why, reason, section = _per_direction_cover(spec, m)
        if why is None:
            return Plan(order="per_direction", numerical=False, reason=reason)
        if order == "per_direction":
            raise UserError(f"order per_direction does not apply: {why}; use --order auto or exact "
                            f"(docs/theory.md {section})")
    elif order == "per_direction":
        raise UserError("order per_direction applies to SimSiam and BYOL, VICReg and Barlow Twins with batch "
                        "standardisation only; use --order auto, quartic or exact (docs/theory.md §7, §12)")
    land = landscape(spec, m)
    if land.expandable and not (spec.depth > 1 and spec.bias):
        return Plan(order="quartic", numerical=False, reason="the quartic landscape")
    return Plan(order="exact", numerical=True, reason=no_closed_form_reason(spec))


def _population_objective(spec: Spec) -> bool:
    """VICReg, or Barlow Twins with batch standardisation: the objectives of the population closed form (§12)."""
    return spec.objective == "vicreg" or (spec.objective == "barlow" and spec.normalization == "batch")


def _per_direction_cover(spec: Spec, moments: Moments) -> tuple[str | None, str, str]:
    """(why the per-direction closed form does not apply or None, the plan's reason, the docs section) for a
    SimSiam/BYOL spec (stop-gradient dynamics, §7) or a VICReg / standardised-Barlow spec (population, §12)."""
    if spec.objective in PREDICTIVE:
        from .predictive import not_covered as predictive_not_covered

        return predictive_not_covered(spec), f"{spec.objective} ({spec.similarity})", "§7"
    from .population import not_covered as population_not_covered

    return population_not_covered(spec, moments), f"{_population_name(spec)}: the population closed form", "§12"


def _population_name(spec: Spec) -> str:
    return "VICReg" if spec.objective == "vicreg" else "Barlow Twins (batch-standardised)"


def no_closed_form_reason(spec: Spec) -> str:
    """A short phrase naming why a spec has no closed form ("no closed form for cosine similarity")."""
    if spec.objective in PREDICTIVE:
        return f"no closed form for {spec.objective} with {spec.similarity} similarity"
    if _population_objective(spec):
        from .population import not_covered as population_not_covered

        why = population_not_covered(spec)
        if why is not None:
            return f"no closed form for {why}"
    if spec.normalization != "none":
        return f"no closed form for {spec.normalization} normalisation (a scale-invariant loss)"
    if spec.similarity == "cosine":
        if spec.objective == "infonce":
            from .cosine_infonce import not_covered as cosine_not_covered

            why = cosine_not_covered(spec)
            if why is not None:
                return f"no closed form for cosine similarity with {why}"
        return "no closed form for cosine similarity"
    if spec.depth > 1 and spec.bias:
        return "no closed form for a bias with depth > 1"
    return "no closed form for this spec"


def predict(spec: Spec, order: str = "auto", *, progress: Progress | None = None,
            max_seconds: float | None = None) -> Prediction:
    """Predict the learned representation of `spec` (module docstring).

    `order`: 'auto' (default), 'quartic', 'learned_point', 'per_direction' or 'exact'. Exact solves call
    `progress(done, expected)` per loss evaluation (integration step for SimSiam/BYOL) and stop after
    `max_seconds` with the best answer so far (`converged=False`, and a note). Raises ValueError for an unknown
    order, UserError when an explicitly requested closed-form order does not apply (the message says why).
    """
    moments = moments_of(spec)
    chosen = plan(spec, order, moments)
    if chosen.order == "learned_point" and spec.similarity == "cosine":
        found = _cosine_learned_point(spec, moments)
        if found is not None:
            return found
        if order == "learned_point":
            raise UserError("order learned_point does not apply: the negatives' sum is not self-averaging (small "
                            "batch at small τ); use --order exact (docs/theory.md §14)")
        return _quartic_or_exact(spec, moments, "exact", progress, max_seconds,
                                 ["cosine InfoNCE: the reduced solver does not cover this batch size and temperature "
                                  "(a few negatives dominate the softmax); the exact solver answers"])
    if chosen.order == "learned_point":
        from .finite_batch import Unsupported

        try:
            return _learned_point(spec, moments)
        except Unsupported as exc:  # the learned point lies outside the tables (a hard-max softmax)
            if order == "learned_point":
                raise UserError(f"order learned_point does not apply: {exc}") from exc
            return _quartic_or_exact(spec, moments, "quartic", progress, max_seconds,
                                     [f"finite batch: the learned-point closed form does not cover this spec ({exc}); "
                                      "this is the quartic answer (p = 1/N at W = 0) — at the learned point the "
                                      "positive pair's share p̄ can kill weak directions the quartic keeps (check "
                                      "with --order exact)"])
    if chosen.order == "per_direction":
        return _per_direction(spec, moments) if spec.objective in PREDICTIVE else _population(spec, moments)
    return _quartic_or_exact(spec, moments, "exact" if order == "exact" else "quartic", progress, max_seconds, [])


def _quartic_notes(spec: Spec, moments: Moments, land: Landscape) -> list[str]:
    """The landscape's notes for the quartic order, with the finite-batch note pointing at the learned point."""
    notes = [n for n in land.notes if "left to order" not in n]
    if spec.objective == "infonce" and spec.batch_size is not None and land.expandable:
        from .finite_batch import not_covered

        why = not_covered(spec, moments)
        if why is None:
            notes.append("finite batch: the quartic keeps the exact (1 − 1/N) factor at W = 0; the positive pair's "
                         "share p̄ at the learned point is in order 'learned_point' (the default here)")
        else:
            notes.append(f"finite batch: the quartic keeps the exact (1 − 1/N) factor at W = 0; at the learned point "
                         f"the positive pair's share p̄ can kill weak directions it keeps, and the learned-point "
                         f"closed form does not cover this spec ({why}): check with --order exact")
    return notes


def _quartic_or_exact(spec: Spec, moments: Moments, order: str, progress: Progress | None,
                      max_seconds: float | None, extra: list[str]) -> Prediction:
    land = landscape(spec, moments)
    max_rank = max_rank_of(spec, moments)
    common = {"max_rank": max_rank, "embed_dim": land.embed_dim}
    if order == "quartic" and land.expandable and not (spec.depth > 1 and spec.bias):
        thresholds = critical_values(spec, moments, land)
        notes = _quartic_notes(spec, moments, land) + extra
        found = minimum(land, depth=spec.depth, seed=spec.seed)
        if found.method == "numerical":
            notes.append("no closed form for this landscape; its polynomial was minimised numerically")
        return _prediction(spec, rank=found.rank, spectrum=found.embedding_spectrum, thresholds=thresholds,
                           order="quartic", method=found.method, closed_form=found.method.startswith("closed_form"),
                           loss=found.loss, notes=notes, **common)
    notes = list(extra)
    if order == "quartic":  # no quartic answer: say why, then the exact solver answers
        notes.append(f"no quartic landscape: {land.reason}" if not land.expandable else
                     "a bias with depth > 1 sits after the product W_L⋯W_1, outside the landscape's input "
                     "augmentation; answered with order 'exact'")
    thresholds = _closed_form_thresholds(spec, moments, land)
    if thresholds.order:
        notes.append(f"critical values: the {thresholds.order} order's (the exact solver gives none)")
    if polynomial_is_exact(spec, moments, land):
        found = minimum(land, depth=spec.depth, seed=spec.seed)
        how = ("minimised numerically (multi-start)" if found.method == "numerical" else
               f"minimised in closed form ({found.method})")
        notes.append(f"the population loss of this spec is exactly the landscape polynomial; it was {how}, with no "
                     "Monte-Carlo error")
        return _prediction(spec, rank=found.rank, spectrum=found.embedding_spectrum, thresholds=thresholds,
                           order="exact", method="exact_polynomial", closed_form=found.method != "numerical",
                           loss=found.loss, notes=notes, **common)
    from .exact import exact_solution  # torch: imported only when the exact solver runs

    sol = exact_solution(spec, moments, progress=progress, max_seconds=max_seconds)
    if sol.method == "dynamics_diverged":
        notes.append("the stop-gradient dynamics diverged (an unnormalised loss with a linear predictor has no "
                     "stable non-zero state): the rank is what the run shows, its fastest direction")
    if not sol.converged:
        notes.append(f"stopped after {sol.wall_s:.1f} s (max_seconds): the best answer so far, not converged "
                     f"({sol.evaluations} evaluations)")
    return _prediction(spec, rank=sol.rank, spectrum=sol.embedding_spectrum, thresholds=thresholds, order="exact",
                       method=sol.method, closed_form=False, loss=sol.loss, notes=notes,
                       positive_weight=sol.positive_weight, converged=sol.converged, **common)


def _closed_form_thresholds(spec: Spec, moments: Moments, land: Landscape) -> Thresholds:
    """For order 'exact': the critical values of the closed-form order the spec has (labelled), else none."""
    try:
        chosen = plan(spec, "auto", moments)
    except UserError:
        return Thresholds()
    if chosen.order == "learned_point":
        from .finite_batch import Unsupported, learned_point_solution

        try:
            return _learned_point_thresholds(spec, learned_point_solution(spec, moments))
        except Unsupported:
            pass
    elif chosen.order == "per_direction" and spec.objective in PREDICTIVE:
        from .predictive import from_spec

        return _per_direction_thresholds(spec, from_spec(spec, moments))
    elif chosen.order == "per_direction":
        from .population import population_solution

        return _population_thresholds(population_solution(spec, moments))
    if land.expandable and not (spec.depth > 1 and spec.bias):
        return critical_values(spec, moments, land)
    return Thresholds()


# ---- order 'learned_point' --------------------------------------------------------------------------------------
def _learned_point_thresholds(spec: Spec, lp: Any) -> Thresholds:
    desc = lambda v: tuple(sorted((max(float(x), 0.0) for x in v), reverse=True))  # noqa: E731
    gamma = desc(lp.critical_weight_decay)
    return Thresholds(kind="learned_point", order="learned_point", weight_decay=gamma,
                      weight_decay_at_learned_point=gamma,
                      temperature=tuple(spec.temperature * g / spec.weight_decay for g in gamma if g > 0),
                      noise_scale=None)


def _learned_point(spec: Spec, moments: Moments) -> Prediction:
    from .finite_batch import learned_point_solution

    lp = learned_point_solution(spec, moments)
    max_rank = max_rank_of(spec, moments)
    p_bar = lp.positive_weight
    notes = [f"learned point: the positive pair carries p̄ = {p_bar:.3f} of the softmax (1/N = "
             f"{1 / (spec.batch_size or 1):.3g} at W = 0); direction k survives iff (1 − p̄_{{−k}})·c_k/τ > γ"]
    if lp.rank != lp.quartic_rank:
        dead = [k + 1 for k, (g, c) in enumerate(zip(lp.growth, lp.variances, strict=True))
                if g <= 0 and (1 - 1 / (spec.batch_size or 1)) * c / spec.temperature > spec.weight_decay]
        notes.append(f"the W = 0 expansion (order quartic) keeps {lp.quartic_rank}; the positive pair's share kills "
                     f"direction(s) {dead} (of data variance descending)")
    notes.append("critical values hold the other directions at the learned point; where the rank changes as one "
                 "knob moves (p̄ moves with it): sslscape advise")
    notes.extend(lp.notes)
    if not lp.converged:
        notes.append(f"the learned-point solve did not fully converge (KKT residual {lp.kkt_residual:.1e})")
    return _prediction(spec, rank=lp.rank, spectrum=lp.spectrum, thresholds=_learned_point_thresholds(spec, lp),
                       order="learned_point", method="learned_point", closed_form=True, loss=lp.loss, notes=notes,
                       max_rank=max_rank, embed_dim=len(lp.spectrum), positive_weight=p_bar)


def _cosine_learned_point(spec: Spec, moments: Moments) -> Prediction | None:
    """InfoNCE with cosine similarity, depth 1 (docs/theory.md §14): the reduced solver, or None outside it."""
    from .cosine_infonce import cosine_infonce_prediction

    res = cosine_infonce_prediction(spec, moments)
    if res is None:
        return None
    rho_c = res.snr_critical
    # no per-direction noise scale or temperature: both move ρ_c itself (a noise scan of the sweep's spec keeps six
    # directions up to σ ≈ 49, where ρ_c held would say 1.9) — `sslscape advise` scans the solver instead
    thresholds = Thresholds(kind="snr_level", order="learned_point", weight_decay=(), noise_scale=None)
    notes = [f"InfoNCE, cosine similarity: direction k survives iff its signal-to-noise ratio ρ_k = c_k/(c_k + s_k) "
             f"exceeds ρ_c = {rho_c:.3f}, set by the learned point of the others (p̄ = {res.positive_weight:.3f}); "
             "weight decay never changes the rank (a scale-invariant loss)", *res.notes]
    return _prediction(spec, rank=res.rank, spectrum=res.spectrum, thresholds=thresholds, order="learned_point",
                       method="cosine_snr_level", closed_form=False, loss=None, notes=notes,
                       max_rank=max_rank_of(spec, moments), embed_dim=len(res.spectrum),
                       positive_weight=res.positive_weight, rank_max=max(res.rank_max, res.rank))


# ---- order 'per_direction' (SimSiam / BYOL) -----------------------------------------------------------------------
def _per_direction_thresholds(spec: Spec, res: Any) -> Thresholds:
    if res.similarity == "cosine":  # the flow's end state does not depend on γ (it only rescales time)
        return Thresholds(kind="mean_field", order="per_direction", weight_decay=(), noise_scale=None)
    crit = tuple(sorted((g for g in res.critical_weight_decay if g is not None), reverse=True))
    balanced = all(abs(w - res.init_p0) <= 1e-12 * max(res.init_p0, 1.0) for w in res.init_w0)
    exact = spec.objective == "simsiam" or balanced or res.ema_rate is None or not np.isfinite(res.ema_rate)
    bracket = None
    if spec.objective == "byol":
        lam = np.asarray(res.eigenvalues)[list(res.modes)]
        bracket = tuple((float(lv * min(w, res.init_p0) / 2), float(lv * max(w, res.init_p0) / 2))
                        for lv, w in zip(lam, res.init_w0, strict=True))
    return Thresholds(kind="escape" if exact else "escape_estimate", order="per_direction", weight_decay=crit,
                      weight_decay_range=bracket, noise_scale=())


def _per_direction(spec: Spec, moments: Moments) -> Prediction:
    from .predictive import INIT_QUANTILE, TRAINER_INIT_SCALE, TRAINER_LR, from_spec

    res = from_spec(spec, moments)
    max_rank = max_rank_of(spec, moments)
    d = spec.embed_dim or moments.dim
    start = (f"the trainer's start (W₀ ~ {TRAINER_INIT_SCALE:g}·N(0, 1/D): w₀² = {res.init_w0[0] ** 2:.3g} per "
             f"direction, P₀ ≈ I)")
    if res.similarity == "dot":
        method = "escape" if spec.objective == "simsiam" else "escape_byol"
        notes = [f"dot similarity: no stable non-zero state — each direction escapes (grows without bound) or "
                 f"collapses; rank = {res.rank} escaping direction(s) (γ < γ*_k), from {start}. "
                 + ("A run diverges (plain SGD: NaN; Adam: one direction dominates, collapse rank 1)"
                    if res.rank else "Every direction collapses: complete collapse")]
        if spec.objective == "byol":
            notes.append(f"BYOL: γ*_k lies in [λ_k min(w₀, p₀)/2, λ_k max(w₀, p₀)/2] for every EMA rate; the rate "
                         f"κ = −ln β/lr uses the trainer's lr = {TRAINER_LR:g}")
        band, w_hi = _seed_band(spec, res, moments.dim, d)
        if band > res.rank:
            notes.append(f"seed band: a seed whose start is larger along the data directions (w₀ up to {w_hi:.3g}, "
                         f"the {INIT_QUANTILE:.1%} level of its law) lets up to {band} direction(s) escape, so the "
                         f"predicted rank range reaches {band} "
                         "(docs/theory.md §7); --order exact integrates from the trainer's own start")
    else:
        method = "mean_field"
        notes = [f"cosine similarity, mean field: direction k survives iff its signal-to-noise ratio ρ_k = "
                 f"λ_k/(λ_k + s_k) exceeds r·√c_k, c_k = p₀² − w₀² from {start}; weight decay and the EMA rate "
                 "only change the path, not where the flow ends"]
    notes += [n for n in res.notes if not n.startswith(("dot similarity: the nonzero", "cosine similarity: scale"))]
    spectrum = np.zeros(d)
    spectrum[: min(d, len(res.spectrum))] = np.asarray(res.spectrum)[:d]
    return _prediction(spec, rank=res.rank, spectrum=spectrum, thresholds=_per_direction_thresholds(spec, res),
                       order="per_direction", method=method, closed_form=True, loss=None, notes=notes,
                       max_rank=max_rank, embed_dim=d,
                       rank_max=max(res.rank, band) if res.similarity == "dot"
                       else max(res.rank, res.seed_band[2]) if res.seed_band else None)


# ---- order 'per_direction' (VICReg, standardised Barlow Twins: the population closed form) ------------------------
def _population_thresholds(sol: Any) -> Thresholds:
    """VICReg: γ*_k with the water level ν held; Barlow: weight decay never acts (()), noise scales with ρ_c held."""
    if sol.objective == "vicreg":
        return Thresholds(kind="water_level", order="per_direction",
                          weight_decay=tuple(sorted(sol.critical_weight_decay, reverse=True)),
                          noise_scale=sol.critical_noise_scale)
    return Thresholds(kind="snr_level", order="per_direction", weight_decay=(), noise_scale=sol.critical_noise_scale)


def _population(spec: Spec, moments: Moments) -> Prediction:
    from .population import population_solution

    sol = population_solution(spec, moments)
    max_rank = max_rank_of(spec, moments)
    d = spec.embed_dim or moments.dim
    if sol.objective == "vicreg":
        notes = [f"VICReg population closed form: view variance is water-filled over data directions by cost "
                 f"m_k = (2λ_inv s_k/d + γ)/(c_k + s_k); direction k is used iff m_k < ν, here ν = {sol.level:.4g} "
                 f"({sol.structure}: " + {"shared": "every coordinate at the same std < 1",
                                          "kink": "every coordinate at std exactly 1",
                                          "aligned+shared": "some coordinates alone on cheap directions at std 1",
                                          "aligned": "every coordinate alone on a direction at std 1",
                                          "stacked": "coordinates stacked on the cheapest direction",
                                          "collapsed": "W = 0"}.get(sol.structure, sol.structure) + ")",
                 "critical weight decays hold ν at its value here; where the rank changes as a knob moves "
                 "(ν moves with it): sslscape advise"]
        if spec.batch_size is None:
            notes.append("large-batch limit (N → ∞); with batch_size set, the covariance penalty's (v_k v_l)/(N − 1) "
                         "bias is included")
    else:
        notes = [f"standardised Barlow Twins, population closed form: direction k is used iff its signal-to-noise "
                 f"ratio ρ_k = c_k/(c_k + s_k) exceeds ρ_c = {sol.level:.4g}; weight decay never changes the rank "
                 "(scale-invariant up to BN's ε, an O(√(γε)) correction); the spectrum has unit-variance "
                 "coordinates (the scale is free)"]
    notes += list(sol.notes)
    return _prediction(spec, rank=sol.rank, spectrum=sol.spectrum, thresholds=_population_thresholds(sol),
                       order="per_direction", method=f"population_{sol.objective}", closed_form=True, loss=sol.loss,
                       notes=notes, max_rank=max_rank, embed_dim=d)


def _band_w0(res: Any, dim: int, d: int) -> float:
    """The start at the upper end of the seed band: w₀ at quantile 1 − (1 − INIT_QUANTILE)/n of its law for each of
    the n modes (a union bound: the chance that any mode starts above it is at most 1 − INIT_QUANTILE)."""
    from .predictive import INIT_QUANTILE, TRAINER_INIT_SCALE, init_w0_quantile

    return init_w0_quantile(TRAINER_INIT_SCALE, d, dim, 1.0 - (1.0 - INIT_QUANTILE) / max(len(res.modes), 1))


def _seed_band(spec: Spec, res: Any, dim: int, d: int) -> tuple[int, float]:
    """Dot SimSiam/BYOL: how many directions escape from a start at the upper end of the seed band (`_band_w0`).
    The closed form at the typical start is the lower end of the predicted range; a seed's larger start raises
    each γ*_k (measured in the compare sweep: seed 1 escaped at γ = 2.4 > γ*₁ = 2.0, and at d = 4, γ = 1.2 showed
    4 directions where the typical start lets 1 escape), so the range's upper end counts these directions.
    Returns (that count, the start w₀ used)."""
    from .predictive import dot_escapes_from

    w_hi = _band_w0(res, dim, d)
    return int(dot_escapes_from(res, spec.weight_decay, w_hi).sum()), w_hi


def _prediction(spec: Spec, *, rank: int, spectrum: Any, thresholds: Thresholds, max_rank: int, notes: list[str],
                rank_max: int | None = None, **fields: Any) -> Prediction:
    """`rank_max`: the upper end of the predicted range when the order knows it (dot SimSiam/BYOL: the seed band);
    default the metastable rank (depth ≥ 2) or `rank`."""
    top = metastable_rank(spec, int(rank), thresholds, max_rank) if rank_max is None else int(rank_max)
    return Prediction(rank=int(rank), phase=phase_of(rank, max_rank), spectrum=tuple(map(float, spectrum)),
                      thresholds=thresholds, max_rank=max_rank, notes=tuple(notes), rank_max=top, **fields)


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
            # a subnormal γ overflows τ·a/γ: like γ = 0, no temperature kills a direction (never an inf threshold)
            temps = tuple(t for v in np.linalg.eigvalsh(a)[::-1] if v > 0
                          and np.isfinite(t := float(spec.temperature * v / gamma)))
        return Thresholds(kind=kind, order="quartic", weight_decay=decay, noise_scale=noise, temperature=temps)
    b = single_product_form(land)
    e = None if b is None or spec.bias else common_eigenbasis(a, b)
    if e is None:
        return Thresholds(kind="none", order="quartic")
    a_k = basis_diagonal(e, a)
    beta2 = basis_diagonal(e, b) ** 2
    desc = lambda v: tuple(sorted(map(float, v), reverse=True))  # noqa: E731
    return Thresholds(kind="global", order="quartic",
                      weight_decay=desc(depth_critical_weight_decay(a_k, beta2, spec.depth)),
                      weight_decay_metastable=desc(depth_metastable_weight_decay(a_k, beta2, spec.depth)))
