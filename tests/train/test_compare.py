import json
from dataclasses import dataclass

import numpy as np

from sslscape.spec import parse_spec
from sslscape.train.compare import compare, compare_config, write_compare

from ._helpers import COV8


@dataclass(frozen=True)
class FakePrediction:  # the shape of sslscape.theory.Prediction that compare relies on
    rank: int
    phase: str
    spectrum: tuple[float, ...]
    thresholds: dict
    rank_max: int | None = None


def spectral_closed_form(spec, order="quartic", base_dir=None):
    """Spectral loss: direction i survives iff 2 c_i > γ (DESIGN.md §1), capped by d."""
    c = np.sort(np.diag(spec.moments().cov))[::-1]
    d = spec.embed_dim or len(c)
    rank = int(min(d, np.sum(2 * c > spec.weight_decay)))
    spectrum = tuple(float(x) for x in np.r_[np.ones(rank), np.zeros(d - rank)])
    return FakePrediction(rank, "dimensional", spectrum, {})


def test_compare_with_a_fake_theory(tmp_path):
    spec = parse_spec({"objective": "spectral", "data": {"cov": COV8}, "augmentation": {"noise_cov": [0.5] * 8},
                       "weight_decay": 1.5, "embed_dim": 6})
    res = compare(spec, seeds=2, steps=800, batch_size=256, predict_fn=spectral_closed_form)
    assert res.predicted_rank == 5 and res.trained_ranks == (5, 5) and res.agree
    assert len(res.trained_spectra[0]) == 6
    png, js = write_compare(res, tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(js.read_text())
    assert {"predicted_rank", "trained_ranks", "agree"} <= data.keys()


def test_disagreement_is_reported():
    spec = parse_spec({"objective": "spectral", "data": {"cov": COV8}, "weight_decay": 1.5})
    res = compare(spec, seeds=1, steps=50, batch_size=64,
                  predict_fn=lambda s, order, base_dir: FakePrediction(1, "dimensional", (1.0,) + (0.0,) * 7, {}))
    assert not res.agree


def test_compare_recipe_follows_the_spec_batch_size():
    spec = parse_spec({"objective": "infonce", "data": {"cov": [1.0, 2.0]}, "batch_size": 128})
    cfg = compare_config(spec, seed=3)
    assert cfg.batch_size(spec) == 128 and cfg.seed == 3 and cfg.optimizer.weight_decay_mode == "l2"
