import json

import numpy as np
import pytest
import torch

from sslscape.errors import UserError
from sslscape.training import train

from ._helpers import small_config


def _weights(result):
    return {k: v.clone() for k, v in result.model.state_dict().items()}


@pytest.mark.parametrize("over", [
    {},  # spectral, linear, L2
    {"spec.objective": "byol", "spec.similarity": "cosine", "optimizer.name": "sgd", "spec.depth": 2},
    {"data.source": "digits", "data.subset": 256, "model.kind": "mlp", "model.hidden": [16],
     "spec.objective": "infonce", "spec.similarity": "cosine", "optimizer.weight_decay_mode": "decoupled"},
])
def test_resume_is_bit_identical(tmp_path, over):
    cfg = small_config(**over)
    full = train(cfg, tmp_path / "full")
    part = train(cfg, tmp_path / "part", stop_after=20)  # "interrupted" right after a checkpoint
    assert part.steps == 20 and not (tmp_path / "part" / "summary.json").exists()
    resumed = train(cfg, tmp_path / "part", resume=True)
    a, b = _weights(full), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "full" / "metrics.jsonl").read_text() == (tmp_path / "part" / "metrics.jsonl").read_text()


def test_outputs_and_metrics(tmp_path):
    res = train(small_config(), tmp_path)
    lines = [json.loads(ln) for ln in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [ln["step"] for ln in lines] == [10, 20, 30, 40]
    assert {"loss", "lr", "penalty", "spectrum", "effective_rank", "rank"} <= lines[0].keys()
    assert np.load(tmp_path / "embeddings.npy").shape == (64, 8)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rank"] == res.rank and len(summary["spectrum"]) == 8
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_same_seed_same_weights_other_seed_differs():
    a, b = train(small_config()), train(small_config())
    c = train(small_config(seed=1))
    assert torch.equal(a.model.backbone.weight, b.model.backbone.weight)
    assert not torch.equal(a.model.backbone.weight, c.model.backbone.weight)


def test_checkpoint_from_another_config_is_refused(tmp_path):
    train(small_config(), tmp_path)
    with pytest.raises(UserError, match="different config"):
        train(small_config(**{"spec.weight_decay": 0.5}), tmp_path, resume=True)


def test_nan_loss_names_the_step_and_the_checkpoint(tmp_path):
    cfg = small_config(**{"schedule.lr": 1e6, "optimizer.name": "sgd", "optimizer.momentum": 0.0,
                          "schedule.checkpoint_every": 1, "schedule.steps": 200})
    with pytest.raises(UserError, match=r"loss became (nan|inf|-inf) at step \d+; the last finite checkpoint is "
                                        r".*checkpoint.pt \(step \d+\)"):
        train(cfg, tmp_path)


@pytest.mark.parametrize("over", [
    {"spec.objective": "simsiam", "spec.similarity": "cosine"},
    {"spec.objective": "infonce", "spec.protocol": "clean_negatives", "spec.bias": True},
    {"spec.objective": "barlow", "spec.normalization": "batch", "optimizer.name": "lars"},
    {"spec.objective": "vicreg", "optimizer.name": "adamw", "optimizer.weight_decay_mode": "decoupled"},
    {"data.source": "mixture", "data.class_weights": [0.8, 0.2], "spec.objective": "infonce"},
])
def test_every_objective_and_optimizer_runs(over):
    res = train(small_config(**over))
    assert np.isfinite(res.final_loss) and len(res.spectrum) == 8


def test_weight_decay_collapses_weak_directions_as_the_spectral_theory_says():
    # spectral loss: direction i survives iff 2 c_i > γ (docs/theory.md); γ = 1.5 keeps c = 4, 3, 2, 1.5, 1
    cfg = small_config(**{"spec.weight_decay": 1.5, "schedule.steps": 1500, "schedule.batch_size": 256,
                          "schedule.log_every": 1500, "schedule.checkpoint_every": 1500})
    assert train(cfg).rank == 5
