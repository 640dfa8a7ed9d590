"""sslscape.compare: the one place theory meets measurement — embeddings vs a prediction, and training vs theory,
both through the one agreement rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sslscape.compare import compare_config, compare_embeddings, compare_training, still_moving, write_compare
from sslscape.diagnostics.diagnosis import diagnose
from sslscape.diagnostics.rank import predicted_range
from sslscape.errors import UserError
from sslscape.moments import moments_of
from sslscape.spec import load_spec, parse_spec
from sslscape.theory.prediction import Prediction, Thresholds, phase_of

COV8 = [4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1]


def prediction(spectrum: tuple[float, ...], alive: int | None = None, alive_max: int | None = None,
               order: str = "quartic") -> Prediction:
    """A hand-made Prediction: the theory's count `alive` (default: the non-zero entries), the rank range by the
    collapse rule (`predicted_range`), as `sslscape.theory.prediction.make_prediction` builds it."""
    alive = int(sum(v > 0 for v in spectrum)) if alive is None else alive
    top = alive if alive_max is None else alive_max
    lo, hi = predicted_range(spectrum, top) if top else (0, 0)
    return Prediction(rank=lo, rank_range=(lo, hi), alive=alive, alive_max=top, capacity=len(spectrum),
                      phase=phase_of(lo, len(spectrum)), spectrum=spectrum, thresholds=Thresholds(), order=order,
                      solver="test", method="test", loss=0.0, embed_dim=len(spectrum))


def test_agree_and_shape_distance_ignore_overall_scale(make_embeddings):
    lam = np.array([4.0, 2.0, 1.0, 0.0])
    d = diagnose(make_embeddings(np.sqrt(1000 * lam), n=1000))
    c = compare_embeddings(d, prediction(tuple(0.01 * lam)))
    assert c.agree and c.measured_rank == c.predicted_rank == 3
    assert c.spectrum_distance < 1e-9
    assert c.predicted_spectrum == pytest.approx((1.0, 0.5, 0.25, 0.0))
    json.loads(c.to_json())


def test_disagreement_and_complete_collapse_prediction(make_embeddings):
    d = diagnose(make_embeddings(np.array([1.0, 1.0, 1.0]), n=100))
    c = compare_embeddings(d, prediction((0.0, 0.0, 0.0)))
    assert not c.agree and c.predicted_spectrum == (0.0, 0.0, 0.0) and c.spectrum_distance == pytest.approx(1.0)


def test_tiny_predicted_survivors_are_cut_like_the_measured_ones(make_embeddings):
    # 4 directions alive in theory, the 4th with 1e-5 of the variance: training and theory both cut it
    lam = np.array([4.0, 2.0, 1.0, 0.0, 0.0])
    d = diagnose(make_embeddings(np.sqrt(1000 * lam), n=1000))
    c = compare_embeddings(d, prediction((4.0, 2.0, 1.0, 1e-5, 0.0)))
    assert c.alive == 4 and c.predicted_rank == 3 and c.agree


def test_dimension_mismatch_is_a_user_error():
    d = diagnose(np.random.default_rng(0).standard_normal((50, 3)))
    with pytest.raises(UserError, match="embed_dim = 3"):
        compare_embeddings(d, prediction((1.0, 1.0)))


def test_real_theory_on_a_spectral_spec(tmp_path):
    from sslscape.theory import predict

    spec = tmp_path / "spec.json"
    # spectral loss: direction i survives iff 2 c_i > γ (docs/theory.md) -> 5 of 8 at γ = 1
    spec.write_text(json.dumps({"objective": "spectral", "data": {"cov": COV8}, "weight_decay": 1.0,
                                "embed_dim": 8}))
    z = np.random.default_rng(0).standard_normal((4000, 8)) * np.sqrt([4, 3, 2, 1.5, 1, 0, 0, 0])
    c = compare_embeddings(diagnose(z), predict(load_spec(spec)))
    assert c.predicted_rank == 5 and c.agree


def spectral_closed_form(spec, order="quartic"):
    """Spectral loss: direction i survives iff 2 c_i > γ, capped by d (an independent re-statement)."""
    c = np.sort(np.diag(moments_of(spec).cov))[::-1]
    d = spec.embed_dim or len(c)
    rank = int(min(d, np.sum(2 * c > spec.weight_decay)))
    return prediction(tuple(float(x) for x in np.r_[np.ones(rank), np.zeros(d - rank)]), order=order)


def test_training_agrees_with_an_independent_closed_form(tmp_path):
    spec = parse_spec({"objective": "spectral", "data": {"cov": COV8}, "augmentation": {"noise_cov": [0.5] * 8},
                       "weight_decay": 1.5, "embed_dim": 6})
    res = compare_training(spec, seeds=2, steps=800, batch_size=256, predictor=spectral_closed_form)
    assert res.predicted_rank == 5 and res.trained_ranks == (5, 5) and res.agree
    assert len(res.trained_spectra[0]) == 6
    png, js = write_compare(res, tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"predicted_rank", "trained_ranks", "agree", "rule"} <= json.loads(js.read_text()).keys()


def test_disagreement_is_reported():
    spec = parse_spec({"objective": "spectral", "data": {"cov": COV8}, "weight_decay": 1.5})
    res = compare_training(spec, seeds=1, steps=50, batch_size=64,
                           predictor=lambda s, order: prediction((1.0,) + (0.0,) * 7))
    assert not res.agree


def test_compare_recipe_follows_the_spec_batch_size():
    spec = parse_spec({"objective": "infonce", "data": {"cov": [1.0, 2.0]}, "batch_size": 128})
    cfg = compare_config(spec, seed=3)
    assert cfg.batch_size(spec) == 128 and cfg.seed == 3 and cfg.optimizer.weight_decay_mode == "l2"


def test_still_moving_flags_only_directions_heading_for_the_cut():
    end = np.array([4.0, 2.0, 1.0, 1e-3, 1e-9])
    assert not still_moving(end, end, 4, 4)
    assert not still_moving(end * [1, 1.1, 0.9, 1.1, 1], end, 4, 4)  # settling near its equilibrium: a few %
    assert still_moving(end * [1, 1, 1, 2.0, 1], end, 4, 4)  # the weakest kept one halved its share: dying
    assert not still_moving(end * [3, 3, 3, 3, 1], end * [3, 3, 3, 3, 1], 4, 4)  # a common scale is no movement
    rising = np.array([4.0, 2.0, 1.0, 1e-4, 1e-9])
    assert still_moving(rising, rising * [1, 1, 1, 3, 1], 3, 3)  # the strongest dropped one is growing back
    assert not still_moving(rising, rising * [1, 1, 1, 1, 100], 3, 3)  # noise below MOVING_FLOOR is not a candidate
    assert still_moving(end, end, 5, 4)  # the rank changed over the second half


def test_a_run_still_dying_at_its_end_is_trained_longer():
    # spectral, 2 c_3 = 3.2 < γ = 3.3: the third direction dies at a rate ∝ 0.1 — far from done after 150 steps
    spec = parse_spec({"objective": "spectral", "data": {"cov": [3.0, 2.5, 1.6, 0.2]}, "weight_decay": 3.3})
    res = compare_training(spec, seeds=1, steps=150, batch_size=256, predictor=spectral_closed_form)
    assert res.trained_steps[0] > 150 and res.steps == 150
    assert res.predicted_rank == 2
