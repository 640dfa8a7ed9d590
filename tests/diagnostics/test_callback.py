"""sslscape.diagnostics.callback: metrics dict, JSONL monitor, and the lazy Lightning callback (with a fake)."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import numpy as np
import pytest
import torch

from sslscape.diagnostics import callback
from sslscape.diagnostics.callback import EmbeddingMonitor, log_embedding_metrics


def test_log_embedding_metrics_keys_and_values():
    z = torch.randn(256, 8, generator=torch.Generator().manual_seed(0))
    m = log_embedding_metrics(z, step=7)
    assert m["step"] == 7 and m["rank"] == 8 and m["verdict"] == "healthy"
    assert set(m) >= {"n", "dim", "effective_rank", "rankme", "alpha", "normalized_std", "phase"}
    json.dumps(m)


def test_nonfinite_batch_is_recorded_not_raised():
    z = torch.randn(32, 4)
    z[3] = float("nan")
    m = log_embedding_metrics(z, step=1)
    assert m["nonfinite_rows"] == 1 and "NaN/Inf" in m["error"]


def test_monitor_appends_one_line_every_k_steps(tmp_path):
    path = tmp_path / "runs" / "diag.jsonl"
    monitor = EmbeddingMonitor(path, every=3)
    rng = np.random.default_rng(0)
    returned = [monitor(rng.standard_normal((64, 4)), step) for step in range(10)]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["step"] for r in lines] == [0, 3, 6, 9]
    assert [r is not None for r in returned] == [s % 3 == 0 for s in range(10)]
    with pytest.raises(ValueError, match="every"):
        EmbeddingMonitor(path, every=0)


def test_importing_diagnose_does_not_import_lightning():
    code = (
        "import sys, sslscape.diagnostics, sslscape.diagnostics.callback; "
        "print(any(m.split('.')[0] in ('lightning', 'pytorch_lightning') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lightning_callback_without_lightning_raises_a_helpful_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "lightning", None)  # None in sys.modules makes the import fail
    monkeypatch.setitem(sys.modules, "lightning.pytorch", None)
    monkeypatch.setitem(sys.modules, "pytorch_lightning", None)
    callback._build_lightning_callback.cache_clear()
    with pytest.raises(ImportError, match="sslscape\\[lightning\\]"):
        _ = callback.EmbeddingMetricsCallback
    callback._build_lightning_callback.cache_clear()


def test_lightning_callback_with_a_fake_lightning(monkeypatch, tmp_path):
    class Callback:  # what lightning.pytorch.Callback offers to subclasses
        pass

    fake = types.ModuleType("lightning")
    fake_pytorch = types.ModuleType("lightning.pytorch")
    fake_pytorch.Callback = Callback
    fake.pytorch = fake_pytorch
    monkeypatch.setitem(sys.modules, "lightning", fake)
    monkeypatch.setitem(sys.modules, "lightning.pytorch", fake_pytorch)
    callback._build_lightning_callback.cache_clear()
    try:
        cls = callback.EmbeddingMetricsCallback
        assert issubclass(cls, Callback)
        cb = cls(every=2, path=tmp_path / "m.jsonl")
        logged: list[dict] = []
        module = types.SimpleNamespace(log_dict=logged.append)
        z = torch.randn(64, 4)
        for step in range(4):
            cb.on_train_batch_end(
                types.SimpleNamespace(global_step=step), module, {"embeddings": z}, None, step
            )
        cb.on_train_batch_end(
            types.SimpleNamespace(global_step=4), module, torch.tensor(1.0), None, 4
        )  # no dict
        assert len(logged) == 2 and logged[0]["diagnose/rank"] == 4.0
        assert all(isinstance(v, float) for v in logged[0].values())
        assert len((tmp_path / "m.jsonl").read_text().splitlines()) == 2
    finally:
        callback._build_lightning_callback.cache_clear()
