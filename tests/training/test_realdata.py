"""Learning happens on real images: SimCLR-style training (CLIP-form InfoNCE, cosine, τ = 0.5) with an MLP on
scikit-learn digits."""

import json

import pytest

from sslscape.training import train

from ._helpers import small_config


@pytest.mark.slow
def test_simclr_on_digits_learns(tmp_path):
    cfg = small_config(**{
        "spec": {"objective": "infonce", "similarity": "cosine", "temperature": 0.5, "embed_dim": 32,
                 "weight_decay": 1e-5},
        "model": {"kind": "mlp", "hidden": [256], "projector": 128},
        "data": {"source": "digits", "image": {"crop_scale": [0.6, 1.0], "flip": False}},
        "schedule": {"steps": 300, "batch_size": 256, "lr": 3e-3, "log_every": 10, "checkpoint_every": 300},
        "optimizer": {"name": "adam"}})
    res = train(cfg, tmp_path)
    losses = [json.loads(ln)["loss"] for ln in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0] - 0.3  # the InfoNCE loss falls (log 256 = 5.5 at W = 0)
    assert res.knn_accuracy > 0.8  # 10 classes: chance is 0.1
    assert res.effective_rank > 5
