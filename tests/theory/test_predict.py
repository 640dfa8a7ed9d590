"""`predict` (sslscape.theory.predict): reported thresholds against brute-force scans, the JSON contract, phase
labels, and the `exact` order against the closed form on a few well-separated settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sslscape.moments import moments_of
from sslscape.spec import Spec
from sslscape.theory import exact_solution, predict

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


def _rank(spec: Spec, field: str, value: float) -> int:
    return predict(spec.with_updates(**{field: value})).rank


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
THRESHOLD_KEY = {"weight_decay": "weight_decay", "temperature": "temperature",
                 "augmentation.noise_scale": "noise_scale"}


@pytest.mark.parametrize("case", list(SCANS))
def test_crossing_each_threshold_changes_rank_by_one(case: str) -> None:
    kw, field = SCANS[case]
    spec = _spec(**kw)
    pred = predict(spec)
    assert pred.closed_form and pred.thresholds.kind == "global"
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
    ts = sorted(predict(spec).thresholds.weight_decay)
    assert len(ts) == D
    for t in ts[:-1]:
        assert _rank(spec, "weight_decay", t * (1 - DELTA)) - _rank(spec, "weight_decay", t * (1 + DELTA)) == 1
    assert _rank(spec, "weight_decay", ts[-1] * (1 - DELTA)) == 1


def test_bias_complete_collapse_above_last_threshold() -> None:
    """Regression: the closed form once counted round-off (1.9e-31) of the constant-embedding row as a direction
    (rank 1, 'dimensional' instead of 0, 'complete')."""
    spec = _spec(**BIAS_MEAN)
    top = max(predict(spec).thresholds.weight_decay)
    pred = predict(spec.with_updates(weight_decay=1.3 * top))
    assert max(pred.spectrum) < 1e-20
    assert (pred.rank, pred.phase) == (0, "complete")


def test_noise_never_moves_dot_thresholds() -> None:
    pred = predict(_spec(objective="infonce", temperature=0.5, weight_decay=0.8))
    assert pred.thresholds.noise_scale == ()
    ranks = {predict(_spec(objective="infonce", temperature=0.5, weight_decay=0.8,
                           augmentation={"noise_cov": [1.0] * D, "noise_scale": s})).rank for s in (0, 1, 10)}
    assert len(ranks) == 1


def test_documented_thresholds() -> None:
    """DESIGN.md §1: spectral γ* = 2c; InfoNCE dot γ* = (1 − 1/N)c/τ; euclidean clean s* = 2c − 2τγ (S = sI)."""
    c = np.array(C_DIAG)
    th = predict(_spec(objective="spectral")).thresholds
    np.testing.assert_allclose(th.weight_decay, 2 * c, rtol=1e-12)
    th = predict(_spec(objective="infonce", temperature=0.5, batch_size=10, weight_decay=0.3)).thresholds
    np.testing.assert_allclose(th.weight_decay, 0.9 * c / 0.5, rtol=1e-12)
    np.testing.assert_allclose(th.temperature, 0.5 * (0.9 * c / 0.5) / 0.3, rtol=1e-12)
    th = predict(_spec(objective="infonce", similarity="euclidean", protocol="clean_negatives", temperature=0.5,
                       weight_decay=0.3)).thresholds
    np.testing.assert_allclose(th.noise_scale, sorted(2 * c - 2 * 0.5 * 0.3, reverse=True), rtol=1e-9)


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
    assert (pred.phase, pred.rank, pred.max_rank) == (phase, rank, d)


def test_phase_counts_data_rank() -> None:
    """A direction without data variance cannot be learned: max_rank = rank C, so losing nothing is 'none'."""
    pred = predict(_spec(objective="spectral", data={"cov": [3.0, 2.0, 1.0, 0.0, 0.0, 0.0]}))
    assert (pred.rank, pred.max_rank, pred.phase) == (3, 3, "none")


EXACT = {
    "spectral-aug": dict(objective="spectral", weight_decay=1.0, batch_size=256),
    "infonce-dot-aug": dict(objective="infonce", temperature=1.0, weight_decay=0.55, batch_size=256),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(EXACT))
def test_exact_order_agrees_with_closed_form(case: str) -> None:
    spec = _spec(**EXACT[case])
    quartic, exact = predict(spec), predict(spec, order="exact")
    # spectral's expectation is the polynomial itself: `exact` minimises it without Monte-Carlo error
    expected = "exact_polynomial" if spec.objective == "spectral" else "exact_lbfgs"
    assert exact.order == "exact" and exact.method == expected
    assert exact.rank == quartic.rank == 4
    if spec.objective != "infonce":  # the Monte-Carlo solver agrees too, up to sampling error
        mc = exact_solution(spec, moments_of(spec))
        assert mc.rank == 4
        np.testing.assert_allclose(mc.embedding_spectrum[:4], quartic.spectrum[:4], rtol=0.1)
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
