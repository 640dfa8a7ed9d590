"""sslscape.diagnose.compare: measured vs predicted ranks and spectrum shapes (fake and real theory)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from sslscape.diagnose.compare import compare_to_theory, predict_from_spec
from sslscape.diagnose.diagnosis import diagnose
from sslscape.errors import UserError


@dataclass(frozen=True)
class FakePrediction:
    rank: int
    phase: str
    spectrum: tuple[float, ...]


def test_agree_and_shape_distance_ignore_overall_scale(make_embeddings):
    lam = np.array([4.0, 2.0, 1.0, 0.0])
    d = diagnose(make_embeddings(np.sqrt(1000 * lam), n=1000))
    c = compare_to_theory(d, FakePrediction(rank=3, phase="dimensional", spectrum=tuple(0.01 * lam)))
    assert c.agree and c.measured_rank == c.predicted_rank == 3
    assert c.spectrum_distance < 1e-9
    assert c.predicted_spectrum == pytest.approx((1.0, 0.5, 0.25, 0.0))
    json.loads(c.to_json())


def test_disagreement_and_complete_collapse_prediction(make_embeddings):
    d = diagnose(make_embeddings(np.array([1.0, 1.0, 1.0]), n=100))
    c = compare_to_theory(d, FakePrediction(rank=0, phase="complete", spectrum=(0.0, 0.0, 0.0)))
    assert (
        not c.agree and c.predicted_spectrum == (0.0, 0.0, 0.0) and c.spectrum_distance == pytest.approx(1.0)
    )


def test_dimension_mismatch_is_a_user_error():
    d = diagnose(np.random.default_rng(0).standard_normal((50, 3)))
    with pytest.raises(UserError, match="embed_dim = 3"):
        compare_to_theory(d, FakePrediction(rank=2, phase="dimensional", spectrum=(1.0, 1.0)))


def test_real_theory_on_a_spectral_spec(tmp_path):
    pytest.importorskip("sslscape.theory")
    spec = tmp_path / "spec.json"
    # spectral loss: direction i survives iff 2 c_i > γ (DESIGN.md §1) -> 5 of 8 at γ = 1
    spec.write_text(
        json.dumps(
            {
                "objective": "spectral",
                "data": {"cov": [4, 3, 2, 1.5, 1, 0.5, 0.25, 0.1]},
                "weight_decay": 1.0,
                "embed_dim": 8,
            }
        )
    )
    pred = predict_from_spec(spec)
    z = np.random.default_rng(0).standard_normal((4000, 8)) * np.sqrt([4, 3, 2, 1.5, 1, 0, 0, 0])
    c = compare_to_theory(diagnose(z), pred)
    assert c.predicted_rank == 5 and c.agree
