"""A run's summary says which data each figure is measured on, its effective rank is that of the embeddings.npy
written beside it, and `--resume` says which step it resumed from (new-user trial, minors 15 and 16)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sslscape.cli import main
from sslscape.diagnostics import diagnose
from sslscape.training import load_config, loop, train

from ._helpers import small_config


def array_config(tmp_path):
    """An MLP on a labelled array file (400 × 8): a seeded 320/80 train/test split."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    np.save(tmp_path / "x.npy", (rng.normal(size=(400, 8)) + y[:, None]).astype(np.float32))
    np.save(tmp_path / "y.npy", y)
    return small_config(**{"data.source": "file", "data.path": str(tmp_path / "x.npy"),
                           "data.labels": str(tmp_path / "y.npy"), "data.eval_size": 1000, "model.kind": "mlp",
                           "model.hidden": [16], "spec.data": {"cov": [1.0] * 8}, "spec.embed_dim": 8,
                           "schedule.steps": 20})


def test_summary_effective_rank_is_the_saved_embeddings_and_names_its_data(tmp_path, monkeypatch):
    # the logged spectra use the first SPECTRUM_SAMPLES eval examples: fewer than the eval set here, as the
    # 10,000-image Fashion-MNIST test split is more than its 2,048 in the trial
    monkeypatch.setattr(loop, "SPECTRUM_SAMPLES", 32)
    res = train(array_config(tmp_path), tmp_path / "run")
    z = np.load(tmp_path / "run" / "embeddings.npy")
    assert z.shape[0] == 80
    assert res.effective_rank == pytest.approx(diagnose(z).effective_rank, rel=1e-6)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["effective_rank"] == pytest.approx(res.effective_rank)
    assert summary["spectrum_on"] == "embeddings.npy: the embeddings of the test split, 80 samples"
    assert "fitted on the train split (320 samples), scored on the test split (80 samples)" in summary["accuracy_on"]


def test_a_linear_gaussian_run_says_its_spectrum_is_the_population():
    res = train(small_config())
    assert res.spectrum_on.startswith("the population: exact eig(W C Wᵀ)") and res.accuracy_on == ""


def test_resume_says_where_it_resumed_from(tmp_path):
    cfg = small_config()
    lines: list[str] = []
    train(cfg, tmp_path / "fresh", resume=True, say=lines.append)
    assert lines == [f"no checkpoint to resume from in {tmp_path / 'fresh'}; training from step 0 of 40"]
    train(cfg, tmp_path / "run", stop_after=20)
    lines.clear()
    train(cfg, tmp_path / "run", resume=True, say=lines.append)
    assert lines == [f"resumed from step 20 of 40 (checkpoint {tmp_path / 'run' / 'checkpoint.pt'})"]


def test_cli_resume_prints_one_line_off_a_terminal(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("spec: {objective: spectral, data: {cov: [2.0, 1.0]}, weight_decay: 0.1}\n"
                   "schedule: {steps: 20, batch_size: 32, log_every: 10, checkpoint_every: 10}\n"
                   "data: {eval_size: 16}\n")
    train(load_config(cfg), tmp_path / "run", stop_after=10)
    with pytest.raises(SystemExit) as exc:
        main(["train", str(cfg), "--out", str(tmp_path / "run"), "--resume"])
    captured = capsys.readouterr()
    assert exc.value.code == 0, captured.err
    assert "resumed from step 10 of 20 (checkpoint" in " ".join(captured.err.split())
    assert "rank, effective rank measured on the population" in " ".join(captured.out.split())
