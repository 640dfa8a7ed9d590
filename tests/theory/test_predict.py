"""`predict` (sslscape.theory.predict): reported thresholds against brute-force scans, the JSON contract, phase
labels, the orders (which one answers, labelled everywhere), the learned point and the per-direction closed form
inside `predict`, and the `exact` order against the closed forms on a few well-separated settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sslscape.errors import UserError
from sslscape.moments import moments_of
from sslscape.spec import Spec, parse_spec
from sslscape.theory import TheoryDeclined, exact_solution, plan, predict

torch.set_num_threads(1)

D = 6
C_DIAG = [3.0, 2.0, 1.2, 0.7, 0.4, 0.2]


def _rot_noise(seed: int = 5) -> list[list[float]]:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((D, D)))
    return ((q * np.geomspace(3.0, 0.3, D)) @ q.T).tolist()


def _spec(**kw: object) -> Spec:
    raw: dict = {"data": {"cov": C_DIAG}, "augmentation": {"noise_cov": [1.0] * D}, "embed_dim": D}
    raw.update(kw)
    return Spec.model_validate(raw)


DELTA = 1e-3


def _rank(spec: Spec, field: str, value: float, order: str = "quartic") -> int:
    return predict(spec.with_updates(**{field: value}), order).alive  # the theory's count: changes at thresholds


SCANS = {
    "spectral-weight_decay": (dict(objective="spectral", weight_decay=0.5), "weight_decay"),
    "spectral-clean-rotS-weight_decay": (dict(objective="spectral", protocol="clean_negatives",
                                              augmentation={"noise_cov": _rot_noise()}), "weight_decay"),
    "infonce-dot-weight_decay": (dict(objective="infonce", temperature=0.5, batch_size=64), "weight_decay"),
    "infonce-dot-temperature": (dict(objective="infonce", temperature=0.5, weight_decay=0.8), "temperature"),
    "infonce-euc-clean-noise_scale": (dict(objective="infonce", similarity="euclidean",
                                           protocol="clean_negatives", temperature=1.0, weight_decay=0.1,
                                           augmentation={"noise_cov": _rot_noise()}),
                                      "augmentation.noise_scale"),
    "infonce-euc-clean-temperature": (dict(objective="infonce", similarity="euclidean",
                                           protocol="clean_negatives", temperature=1.0, weight_decay=0.2,
                                           augmentation={"noise_cov": [0.5] * D}), "temperature"),
    "barlow-lam1-weight_decay": (dict(objective="barlow", barlow_lambda=1.0), "weight_decay"),
}
THRESHOLD_KEY = {"weight_decay": "critical_weight_decay", "temperature": "critical_temperature",
                 "augmentation.noise_scale": "critical_noise_scale"}


@pytest.mark.parametrize("case", list(SCANS))
def test_crossing_each_threshold_changes_rank_by_one(case: str) -> None:
    kw, field = SCANS[case]
    spec = _spec(**kw)
    pred = predict(spec, "quartic")  # the quartic order's critical values (the learned point's: below)
    assert pred.cost == "closed_form" and pred.thresholds.kind == "global" and pred.thresholds.order == "quartic"
    ts = sorted({t for t in getattr(pred.thresholds, THRESHOLD_KEY[field]) if t > 0})
    assert len(ts) >= 3, pred.thresholds
    for t in ts:
        below, above = _rank(spec, field, t * (1 - DELTA)), _rank(spec, field, t * (1 + DELTA))
        assert below - above == 1, (t, below, above)  # every parameter here kills directions as it grows
    # brute force: between consecutive thresholds the rank is constant and drops by one per threshold passed
    edges = [0.0, *ts, 2 * ts[-1]]
    first = None
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        probes = np.linspace(lo, hi, 7)[1:-1]
        ranks = {_rank(spec, field, float(v)) for v in probes if v > 0}
        assert len(ranks) == 1, (lo, hi, ranks)
        first = ranks.pop() if first is None else first
        assert _rank(spec, field, float(probes[2])) == first - k


BIAS_MEAN = dict(objective="spectral", bias=True, embed_dim=D + 1,
                 data={"cov": C_DIAG, "mean": [0.5, 0.0, -0.4, 0.2, 0.0, 0.3]})


def test_bias_thresholds_change_rank_by_one() -> None:
    """With a bias and a mean the constant embedding takes one row of Ŵ (d = D + 1 leaves room for it); every
    finite generalised eigenvalue of (A, G) still removes one direction of the embedding covariance."""
    spec = _spec(**BIAS_MEAN)
    ts = sorted(predict(spec).thresholds.critical_weight_decay)
    assert len(ts) == D
    for t in ts[:-1]:
        assert _rank(spec, "weight_decay", t * (1 - DELTA)) - _rank(spec, "weight_decay", t * (1 + DELTA)) == 1
    assert _rank(spec, "weight_decay", ts[-1] * (1 - DELTA)) == 1


def test_bias_complete_collapse_above_last_threshold() -> None:
    """Regression: the closed form once counted round-off (1.9e-31) of the constant-embedding row as a direction
    (rank 1, 'dimensional' instead of 0, 'complete')."""
    spec = _spec(**BIAS_MEAN)
    top = max(predict(spec).thresholds.critical_weight_decay)
    pred = predict(spec.with_updates(weight_decay=1.3 * top))
    assert max(pred.spectrum) < 1e-20
    assert (pred.rank, pred.phase) == (0, "complete")


def test_noise_never_moves_dot_thresholds() -> None:
    """At quartic order (and as N → ∞) the augmentation never changes dot-InfoNCE's rank (with a finite batch it
    does, through p̄: test_learned_point_noise_revives_a_direction)."""
    pred = predict(_spec(objective="infonce", temperature=0.5, weight_decay=0.8))
    assert pred.thresholds.critical_noise_scale == ()
    ranks = {predict(_spec(objective="infonce", temperature=0.5, weight_decay=0.8,
                           augmentation={"noise_cov": [1.0] * D, "noise_scale": s})).rank for s in (0, 1, 10)}
    assert len(ranks) == 1


def test_documented_thresholds() -> None:
    """docs/theory.md: spectral γ* = 2c; InfoNCE dot γ* = (1 − 1/N)c/τ; euclidean clean s* = 2c − 2τγ (S = sI)."""
    c = np.array(C_DIAG)
    th = predict(_spec(objective="spectral")).thresholds
    np.testing.assert_allclose(th.critical_weight_decay, 2 * c, rtol=1e-12)
    th = predict(_spec(objective="infonce", temperature=0.5, batch_size=10, weight_decay=0.3), "quartic").thresholds
    np.testing.assert_allclose(th.critical_weight_decay, 0.9 * c / 0.5, rtol=1e-12)
    np.testing.assert_allclose(th.critical_temperature, 0.5 * (0.9 * c / 0.5) / 0.3, rtol=1e-12)
    th = predict(_spec(objective="infonce", similarity="euclidean", protocol="clean_negatives", temperature=0.5,
                       weight_decay=0.3)).thresholds
    np.testing.assert_allclose(th.critical_noise_scale, sorted(2 * c - 2 * 0.5 * 0.3, reverse=True), rtol=1e-9)


def test_json_contract() -> None:
    pred = predict(_spec(objective="spectral", weight_decay=1.0))
    obj = json.loads(pred.to_json())
    assert {"rank", "phase", "spectrum", "thresholds", "order"} <= set(obj)
    assert isinstance(obj["rank"], int) and obj["rank"] == 4
    assert obj["phase"] == "dimensional" and obj["order"] == "quartic"
    assert isinstance(obj["spectrum"], list) and len(obj["spectrum"]) == D
    assert all(isinstance(v, float) for v in obj["spectrum"])
    assert sum(v > 0 for v in obj["spectrum"]) == 4
    assert isinstance(obj["thresholds"], dict) and obj["thresholds"]["kind"] == "global"


@pytest.mark.parametrize(("gamma", "d", "phase", "rank"), [(0.0, D, "none", D), (0.9, D, "dimensional", 4),
                                                           (10.0, D, "complete", 0), (0.9, 3, "none", 3),
                                                           (3.0, 3, "dimensional", 2)])
def test_phase_labels(gamma: float, d: int, phase: str, rank: int) -> None:
    pred = predict(_spec(objective="spectral", weight_decay=gamma, embed_dim=d))
    assert (pred.phase, pred.rank, pred.capacity) == (phase, rank, d)


def test_phase_counts_data_rank() -> None:
    """A direction without data variance cannot be learned: capacity = rank C, so losing nothing is 'none'."""
    pred = predict(_spec(objective="spectral", data={"cov": [3.0, 2.0, 1.0, 0.0, 0.0, 0.0]}))
    assert (pred.rank, pred.capacity, pred.phase) == (3, 3, "none")


EXACT = {
    "spectral-aug": dict(objective="spectral", weight_decay=1.0, batch_size=256),
    "infonce-dot-aug": dict(objective="infonce", temperature=1.0, weight_decay=0.55, batch_size=256),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(EXACT))
def test_exact_order_agrees_with_closed_form(case: str) -> None:
    spec = _spec(**EXACT[case])
    quartic, exact = predict(spec, "quartic"), predict(spec, order="exact")
    # spectral's expectation is the polynomial itself: `exact` minimises it without Monte-Carlo error
    expected = "exact_polynomial" if spec.objective == "spectral" else "exact_lbfgs"
    assert exact.order == "exact" and exact.method == expected
    assert exact.rank == quartic.rank == 4
    if spec.objective != "infonce":  # the Monte-Carlo solver agrees too, up to sampling error
        mc = exact_solution(spec, moments_of(spec))
        assert mc.rank == 4
        np.testing.assert_allclose(mc.spectrum[:4], quartic.spectrum[:4], rtol=0.1)
        np.testing.assert_allclose(exact.spectrum[:4], quartic.spectrum[:4], rtol=1e-5)
    else:
        assert exact.positive_weight is not None and 0 < exact.positive_weight < 0.2


def test_exact_solver_budget_returns_the_best_so_far_marked_unconverged() -> None:
    from sslscape.moments import moments_of
    from sslscape.theory.exact import estimate_seconds, exact_solution

    spec = _spec(objective="infonce", similarity="cosine", temperature=0.5, weight_decay=0.1, batch_size=64)
    m = moments_of(spec)
    seen: list[tuple[int, int]] = []
    sol = exact_solution(spec, m, n_pairs=512, max_seconds=0.0, progress=lambda a, b: seen.append((a, b)))
    assert not sol.converged and sol.evaluations >= 1 and seen and seen[0][1] > 0
    full = exact_solution(spec, m, n_pairs=512)
    assert full.converged and full.evaluations > sol.evaluations
    assert estimate_seconds(spec, m, n_pairs=512) > 0


# ---- orders ------------------------------------------------------------------------------------------------------
FAILING = {"objective": "infonce", "similarity": "dot", "protocol": "augmented_negatives",
           "data": {"cov": [4] * 11 + [0.12]}, "augmentation": {"noise_cov": [0.01] * 12}, "weight_decay": 0.1,
           "temperature": 1.0, "embed_dim": 12, "batch_size": 512}


@pytest.mark.parametrize(("kw", "order"), [
    (dict(objective="infonce", temperature=0.5, weight_decay=0.3, batch_size=64), "learned_point"),
    (dict(objective="infonce", temperature=0.5, weight_decay=0.3), "quartic"),  # N → ∞: p̄ → 0, the quartic
    (dict(objective="infonce", similarity="euclidean", weight_decay=0.3, batch_size=64), "quartic"),
    (dict(objective="spectral", weight_decay=0.5), "quartic"),
    (dict(objective="simsiam", weight_decay=0.5), "per_direction"),
    (dict(objective="byol", similarity="cosine", weight_decay=0.01), "per_direction"),
    (dict(objective="simsiam", similarity="euclidean", weight_decay=0.5), "exact"),
    (dict(objective="infonce", similarity="cosine", weight_decay=0.1, batch_size=64), "learned_point"),
    (dict(objective="infonce", similarity="cosine", weight_decay=0.1, batch_size=64, symmetric=True), "exact"),
])
def test_auto_picks_the_best_closed_form_and_says_so(kw: dict, order: str) -> None:
    spec = _spec(**kw)
    chosen = plan(spec)
    assert chosen.order == order and chosen.numerical == (order == "exact")
    if order != "exact":  # (the exact solves are covered below)
        pred = predict(spec)
        assert pred.order == order and pred.thresholds.order in (order, "")


def test_explicit_orders_that_do_not_apply_are_one_line_user_errors() -> None:
    with pytest.raises(UserError, match="euclidean"):
        predict(_spec(objective="infonce", similarity="euclidean", weight_decay=0.3, batch_size=64), "learned_point")
    with pytest.raises(TheoryDeclined, match="order per_direction does not apply"):
        predict(_spec(objective="spectral", weight_decay=0.5), "per_direction")
    with pytest.raises(TheoryDeclined, match="order quartic does not apply.*no quartic landscape"):
        predict(_spec(objective="simsiam", weight_decay=0.5), "quartic")  # no expansion: refused, not rerouted
    with pytest.raises(UserError, match="order must be one of"):
        predict(_spec(objective="spectral"), "sextic")


def test_learned_point_is_the_default_with_a_batch_and_fixes_the_failing_example() -> None:
    """Issue 11: the quartic keeps 12 directions; at the learned point p̄ ≈ 0.48 kills the weak one (training and
    the exact order find 11: tests/theory/test_finite_batch.py, benchmarks/results/agreement.md)."""
    spec = parse_spec(FAILING)
    pred, quartic = predict(spec), predict(spec, "quartic")
    assert (pred.order, pred.method, pred.rank) == ("learned_point", "learned_point", 11)
    assert quartic.order == "quartic" and quartic.rank == 12 and quartic.positive_weight is None
    assert 0.45 < pred.positive_weight < 0.5
    th = pred.thresholds
    assert th.kind == "learned_point" and th.order == "learned_point"
    # the growth law decides every direction: alive iff γ < γ*_k = (1 − p̄_{−k}) c_k/τ; the weak one: (1 − p̄)·0.12
    assert sum(g > spec.weight_decay for g in th.critical_weight_decay) == pred.alive == pred.rank
    assert th.critical_weight_decay[-1] == pytest.approx((1 - pred.positive_weight) * 0.12, rel=1e-9)
    np.testing.assert_allclose(th.critical_temperature,
                               np.array(th.critical_weight_decay) * spec.temperature / spec.weight_decay)
    assert any("kills direction(s) [12]" in n for n in pred.notes)
    assert not any("left to order" in n for n in pred.notes + quartic.notes)


def test_learned_point_falls_back_to_the_quartic_with_a_note_where_it_does_not_apply() -> None:
    pred = predict(_spec(objective="infonce", similarity="euclidean", weight_decay=0.3, batch_size=64))
    assert pred.order == "quartic"
    assert any("does not cover this spec (euclidean" in n for n in pred.notes)


def test_learned_point_noise_revives_a_direction() -> None:
    """With a finite batch the augmentation changes dot-InfoNCE's rank through p̄ alone (the quartic cannot):
    noise on the strong directions lowers p̄ and revives the weak one (finite_batch docstring)."""
    raw = {**FAILING, "data": {"cov": [4.0] * 5 + [0.12]}, "embed_dim": 6, "batch_size": 64, "weight_decay": 0.1}
    quiet = predict(parse_spec({**raw, "augmentation": {"noise_cov": [0.01] * 6}}))
    loud = predict(parse_spec({**raw, "augmentation": {"noise_cov": [4.0] * 5 + [0.01]}}))
    assert quiet.positive_weight > loud.positive_weight + 0.1
    assert loud.rank == quiet.rank + 1 == 6


def test_per_direction_rank_and_thresholds_for_dot_simsiam() -> None:
    """Dot SimSiam from the trainer's balanced start (d = D: w₀ = p₀ = 1): γ*_k = λ_k/2; rank = the escaping
    directions; the spectrum shows what a run shows (the fastest direction only)."""
    spec = _spec(objective="simsiam", weight_decay=0.9)
    pred = predict(spec)
    assert pred.order == "per_direction" and pred.method == "escape"
    np.testing.assert_allclose(pred.thresholds.critical_weight_decay, np.array(C_DIAG) / 2, rtol=1e-12)
    assert pred.thresholds.kind == "escape" and pred.thresholds.critical_noise_scale == ()
    assert pred.alive == sum(c / 2 > 0.9 for c in C_DIAG) == 2  # the theory's count: escaping directions
    assert pred.rank == 1 and pred.rank_range[1] == pred.alive_max >= 2  # a run shows the fastest one (+ seed band)
    assert pred.spectrum[0] == C_DIAG[0] and not any(pred.spectrum[1:])
    assert pred.loss is None and any("diverges" in n for n in pred.notes)
    assert predict(spec.with_updates(weight_decay=1.6)).rank == 0  # above γ*_1 = 1.5: complete collapse


def test_cosine_per_direction_has_no_critical_weight_decay() -> None:
    spec = _spec(objective="simsiam", similarity="cosine", weight_decay=0.01, embed_dim=3)
    pred = predict(spec)
    assert pred.method == "mean_field" and pred.thresholds.critical_weight_decay == ()
    assert predict(spec.with_updates(weight_decay=2.0)).rank == pred.rank


def test_exact_order_is_labelled_and_its_thresholds_name_their_order() -> None:
    """`--order exact` on a finite-batch dot InfoNCE spec: the answer is the exact solver's, the critical values
    are the learned point's and say so; no quartic note is left behind."""
    spec = parse_spec({**FAILING, "data": {"cov": [2.0, 0.3]}, "augmentation": {"noise_cov": [0.1, 0.1]},
                       "embed_dim": 2, "batch_size": 32, "weight_decay": 0.2})
    pred = predict(spec, "exact")
    assert pred.order == "exact" and pred.method == "exact_lbfgs" and pred.converged
    assert pred.thresholds.order == "learned_point"
    assert any("critical values: the learned_point order's" in n for n in pred.notes)
    assert not any("left to order" in n or "quartic" in n for n in pred.notes)
    assert pred.rank == predict(spec).rank


def test_predict_exact_reports_progress_and_honours_max_seconds() -> None:
    spec = _spec(objective="infonce", similarity="cosine", temperature=0.5, weight_decay=0.1, batch_size=64,
                 embed_dim=3)
    seen: list[tuple[int, int]] = []
    pred = predict(spec, "exact", progress=lambda a, b: seen.append((a, b)), max_seconds=1e-3)
    assert not pred.converged and pred.order == "exact" and seen
    assert any("best answer so far" in n for n in pred.notes)
    assert json.loads(pred.to_json())["converged"] is False


def test_dot_predictive_range_covers_the_seed_band():
    """byol-dot d=4 β=0.99 γ=1.7 (benchmarks/results/predictive.md): the closed form at the typical start says
    collapse (γ*₁ = 1.51) while training from seed 0 escapes: a seed's larger start raises γ*₁, so the predicted
    range reaches the directions that escape from the 97.5 % start and the prediction says so; far above every
    threshold the range is 0–0, far below it starts at the escaping directions."""
    base = {"objective": "byol", "similarity": "dot", "data": {"cov": [4.0, 3.0, 2.5, 2.0, 1.5, 1.0, 0.7, 0.5]},
            "augmentation": {"noise_cov": [0.5] * 8}, "weight_decay": 1.7, "ema_decay": 0.99, "embed_dim": 4}
    near = predict(parse_spec(base))
    assert near.order == "per_direction" and near.rank == near.alive == 0 and near.rank_range[1] >= 1
    assert any("seed band" in n and "--order exact" in n for n in near.notes)
    far = predict(parse_spec({**base, "weight_decay": 3.5}))
    assert far.rank_range == (0, 0) and not any("seed band" in n for n in far.notes)
    low = predict(parse_spec({**base, "weight_decay": 0.3}))
    assert low.alive == low.alive_max == 4 and low.rank_range == (1, 4)  # four escape; one dominates a run
    assert not any("seed band" in n for n in low.notes)
