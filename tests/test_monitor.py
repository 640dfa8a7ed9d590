"""sslscape.monitor: the collapse monitor — records, signatures (each triggered by a constructed run, none
on a healthy one), the theory beside the measurement, the live figure, DDP gathering (2 gloo processes) and the
Lightning callback with the real library."""

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from sslscape import monitor as monitor_module
from sslscape.diagnostics import diagnose
from sslscape.diagnostics.signatures import INFONCE_STUCK_LOGS, RANK_FALL_LOGS
from sslscape.errors import UserError
from sslscape.io import read_jsonl
from sslscape.monitor import CollapseMonitor

D = 16


def healthy(step: int, n: int = 512, d: int = D) -> torch.Tensor:
    """Full-rank embeddings with a power-law spectrum (healthy: no cliff), different every step."""
    g = torch.Generator().manual_seed(step)
    return torch.randn(n, d, generator=g) * torch.arange(1, d + 1, dtype=torch.float32) ** -0.5


def low_rank(step: int, rank: int, n: int = 512, d: int = D) -> torch.Tensor:
    """Embeddings with `rank` directions of variance ~1 and the rest at 1e-8 (a cliff of 8 decades)."""
    scale = torch.full((d,), 1e-4)
    scale[:rank] = 1.0
    return healthy(step, n, d) * scale


def run(monitor: CollapseMonitor, zs, losses=None, terms=None) -> list[dict]:
    out = []
    for i, z in enumerate(zs):
        step = i * monitor.every
        out.append(monitor(z, step, loss=None if losses is None else losses[i],
                           loss_terms=None if terms is None else terms[i]))
    return out


def names(record: dict) -> list[str]:
    return [s["name"] for s in record["signatures"]]


# ---- records -----------------------------------------------------------------------------------------------------

def test_record_holds_the_diagnose_numbers_and_one_line_per_log(tmp_path):
    path = tmp_path / "runs" / "monitor.jsonl"
    said: list[str] = []
    m = CollapseMonitor(path, every=3, say=said.append)
    returned = [m(healthy(s), s, loss=torch.tensor(1.5), loss_terms={"a": 2.0}) for s in range(10)]
    lines = read_jsonl(path)
    assert [r["step"] for r in lines] == [0, 3, 6, 9]
    assert [r is not None for r in returned] == [s % 3 == 0 for s in range(10)]
    d = diagnose(healthy(9))
    last = lines[-1]
    assert last["rank"] == d.rank == D and last["effective_rank"] == pytest.approx(d.effective_rank)
    assert last["rankme"] == pytest.approx(d.rankme) and last["verdict"] == "healthy"
    np.testing.assert_allclose(last["eigenvalues"], d.eigenvalues)
    assert last["loss"] == 1.5 and last["loss_terms"] == {"a": 2.0} and last["signatures"] == []
    assert said == [] and m.messages == []
    json.dumps(returned[0])


def test_bad_arguments():
    with pytest.raises(UserError, match="every"):
        CollapseMonitor(every=0)
    with pytest.raises(UserError, match="objective"):
        CollapseMonitor(objective="simclr")
    with pytest.raises(UserError, match="weight_decay"):
        CollapseMonitor(moments=object(), objective="spectral")
    with pytest.raises(UserError, match="png"):
        CollapseMonitor(figure="monitor.jpg")


# ---- no false alarm on healthy runs --------------------------------------------------------------------------------

@pytest.mark.parametrize("objective, losses, terms", [
    ("simsiam", [-0.2 - 0.07 * i for i in range(10)], None),
    ("byol", [-0.5 - 0.04 * i for i in range(10)], None),
    ("vicreg", [30.0 - i for i in range(10)], [{"invariance": 0.5, "variance": 0.1, "covariance": 0.3}] * 10),
    ("infonce", [math.log(512) - 0.3 * i for i in range(10)], None),
    ("spectral", [-0.1 * i for i in range(10)], None),
    (None, None, None),
])
def test_no_signature_on_a_healthy_run(objective, losses, terms):
    m = CollapseMonitor(every=10, objective=objective, say=lambda s: None)
    zs = [healthy(i) * (3.0 if objective == "vicreg" else 1.0) for i in range(10)]  # VICReg: stds ≥ 1
    records = run(m, zs, losses, terms)
    assert all(r["signatures"] == [] for r in records), [names(r) for r in records]


def test_no_false_alarm_in_a_real_healthy_training_run():
    """A linear encoder trained with the spectral loss on Gaussian data, γ below every critical value: the
    monitor, given the spec, predicts full rank, measures it, and stays silent."""
    spec = {"objective": "spectral", "data": {"cov": [4.0, 3.0, 2.0, 1.5, 1.0, 0.8]}, "augmentation":
            {"noise_cov": [0.5] * 6}, "weight_decay": 0.5, "embed_dim": 6}
    m = CollapseMonitor(every=50, spec=spec, say=lambda s: None)
    from sslscape.objectives import spectral_loss

    g = torch.Generator().manual_seed(0)
    std = torch.tensor(spec["data"]["cov"]).sqrt()
    w = torch.nn.Parameter(0.1 * torch.randn(6, 6, generator=g))
    opt = torch.optim.Adam([w], lr=1e-2)
    records = []
    for step in range(301):
        x = torch.randn(512, 6, generator=g) * std
        v1, v2 = x + 0.7 * torch.randn(x.shape, generator=g), x + 0.7 * torch.randn(x.shape, generator=g)
        z1, z2 = v1 @ w.T, v2 @ w.T
        loss = spectral_loss(z1, z2) + 0.5 * (w * w).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (r := m(x @ w.detach().T, step, loss=loss)) is not None:
            records.append(r)
    assert records[-1]["predicted_rank"] == 6 and records[-1]["rank"] == 6 and records[-1]["agree"]
    assert all(r["signatures"] == [] for r in records), [names(r) for r in records]


# ---- each signature, triggered by a constructed run ----------------------------------------------------------------

def test_constant_embeddings():
    said: list[str] = []
    m = CollapseMonitor(every=1, objective="spectral", say=said.append)
    g = torch.Generator().manual_seed(0)
    r = run(m, [healthy(0), torch.ones(256, D) * 3 + 1e-7 * torch.randn(256, D, generator=g)])[-1]
    assert r["verdict"] == "complete collapse" and names(r) == ["constant_embeddings"]
    assert len(said) == 1 and "one vector" in said[0] and "weight decay" in said[0]


def test_embeddings_shrinking_to_zero_are_constant_embeddings():
    """A projector whose weight decay killed every direction: the embeddings keep their shape but vanish."""
    m = CollapseMonitor(every=1, say=lambda s: None)
    records = run(m, [healthy(0), healthy(1) * 1e-2, healthy(2) * 1e-4])
    assert [names(r) for r in records] == [[], [], ["constant_embeddings"]]
    assert "shrinking" in records[-1]["signatures"][0]["message"]


@pytest.mark.parametrize("objective", ["simsiam", "byol"])
def test_negative_cosine_near_minus_one_with_vanishing_std(objective):
    g = torch.Generator().manual_seed(0)
    direction = torch.randn(D, generator=g)
    direction = 10 * direction / direction.norm()
    # spread ≈ d σ² / ‖c‖² = 0.004: not one point by diagnose's rule (1e-3), yet std of unit vectors ≈ 0.06 / √d
    almost = direction + 0.16 * torch.randn(512, D, generator=g)
    m = CollapseMonitor(every=1, objective=objective, say=lambda s: None)
    r = run(m, [healthy(0), almost], losses=[-0.4, -0.998])[-1]
    assert r["verdict"] != "complete collapse"
    assert names(r) == ["negative_cosine_collapse"]
    sig = r["signatures"][0]
    assert "predictor" in sig["knob"] and sig["evidence"]["normalized_std_over_healthy"] < 0.1
    m2 = CollapseMonitor(every=1, objective=objective, say=lambda s: None)  # loss near −1 alone is not collapse
    assert names(run(m2, [healthy(0), healthy(1)], losses=[-0.4, -0.998])[-1]) == []


def test_vicreg_variance_saturated_and_covariance_zero():
    m = CollapseMonitor(every=1, objective="vicreg", say=lambda s: None)
    tiny = healthy(1) * 1e-3  # std ≈ 1e-3: hinge ≈ 0.99, covariances ≈ 1e-7
    r = run(m, [healthy(0) * 3, tiny])[-1]
    assert r["vicreg_variance"] > 0.9 and r["vicreg_covariance"] < 1e-3
    assert "vicreg_variance_saturated" in names(r)
    from sslscape.objectives.vicreg import covariance_term, variance_term

    assert r["vicreg_variance"] == pytest.approx(float(variance_term(tiny.double())))
    assert r["vicreg_covariance"] == pytest.approx(float(covariance_term(tiny.double())))
    # the terms are taken from the embeddings, so a user logging weighted terms changes nothing
    m2 = CollapseMonitor(every=1, say=lambda s: None)
    r2 = run(m2, [healthy(0) * 3, tiny], terms=[{"variance": 0.1, "covariance": 3.0}, {"variance": 24.7,
                                                                                         "covariance": 0.0}])[-1]
    assert "vicreg_variance_saturated" in names(r2)


def test_infonce_stuck_at_log_candidates():
    said: list[str] = []
    m = CollapseMonitor(every=1, objective="infonce", candidates=256, say=said.append)
    k = INFONCE_STUCK_LOGS
    records = run(m, [healthy(i) for i in range(k + 1)], losses=[math.log(256) + 0.001 * (-1) ** i
                                                                 for i in range(k + 1)])
    assert [("infonce_stuck" in names(r)) for r in records] == [False] * (k - 1) + [True, True]
    assert len(said) == 1 and "log(256)" in said[0]
    m2 = CollapseMonitor(every=1, objective="infonce", candidates=256, say=said.append)  # it learned: silent
    assert all(r["signatures"] == [] for r in run(m2, [healthy(i) for i in range(k + 1)],
                                                  losses=[math.log(256) * (1 - 0.1 * i) for i in range(k + 1)]))


def test_infonce_candidates_default_to_the_batch():
    m = CollapseMonitor(every=1, objective="infonce", say=lambda s: None)
    records = run(m, [healthy(i, n=300) for i in range(INFONCE_STUCK_LOGS)], losses=[math.log(300)] * 3)
    assert records[-1]["candidates"] == 300 and "infonce_stuck" in names(records[-1])


def test_rank_falling_step_by_step():
    said: list[str] = []
    m = CollapseMonitor(every=5, objective="infonce", say=said.append)
    ranks = [16, 13, 10, 7, 5][: RANK_FALL_LOGS + 2]
    records = run(m, [low_rank(i, r) for i, r in enumerate(ranks)])
    assert [r["rank"] for r in records] == ranks
    flags = [("rank_falling" in names(r)) for r in records]
    assert flags == [False] * RANK_FALL_LOGS + [True] * (len(ranks) - RANK_FALL_LOGS)
    falling = [s for s in said if "rank_falling" in s]
    assert len(falling) == 1 and "16 → 13 → 10 → 7" in falling[0] and "temperature" in falling[0]
    assert any("dimensional_collapse" in s and "temperature" in s for s in said)  # the knees, worded for InfoNCE
    m2 = CollapseMonitor(every=5, say=lambda s: None)  # a single drop, then stable: not a fall
    assert not any("rank_falling" in names(r) for r in run(m2, [low_rank(i, r) for i, r in
                                                                enumerate([16, 8, 8, 8, 8])]))


C6 = [4.0, 2.0, 1.0, 0.5, 0.25, 0.125]


def spec_dict(gamma: float) -> dict:
    return {"objective": "spectral", "data": {"cov": C6}, "augmentation": {"noise_cov": [0.5] * 6},
            "weight_decay": gamma, "embed_dim": 6}


def test_weight_decay_above_critical_with_the_theory_knob():
    """Spectral: γ*_k = 2c_k. With γ = 1.4 directions 4–6 die (γ*_4 = 1.0); to keep all 6: γ < γ*_6 = 0.25."""
    said: list[str] = []
    m = CollapseMonitor(every=1, spec=spec_dict(1.4), say=said.append)
    r = run(m, [low_rank(0, 3, d=6)])[0]
    assert r["predicted_rank"] == 3 and r["rank"] == 3 and r["agree"] is True
    assert names(r) == ["weight_decay_above_critical"]
    ev = r["signatures"][0]["evidence"]
    assert ev["first_dying"] == 4 and ev["critical_value"] == pytest.approx(1.0)
    assert "0.25" in r["signatures"][0]["knob"]  # the knob keeps all 6: weight_decay < γ*_6 = 2 · 0.125
    assert len(said) == 1
    quiet = CollapseMonitor(every=1, spec=spec_dict(0.1), say=said.append)  # below every critical value
    assert names(run(quiet, [healthy(0, d=6)])[0]) == []
    import pickle  # a monitor with a theory travels to spawned processes (Lightning's ddp_spawn)

    copy = pickle.loads(pickle.dumps(CollapseMonitor(every=1, spec=spec_dict(1.4))))
    assert "0.25" in copy.expectation.knob(6)


def test_feature_moments_give_the_projector_prediction():
    """moments= (a backbone's feature moments) + objective + weight decay: the predicted rank of
    `sslscape.projector.predict_projector`, recomputed after `set_moments`."""
    from sslscape.moments import feature_moments
    from sslscape.projector import predict_projector

    g = torch.Generator().manual_seed(0)
    x = torch.randn(20000, 6, generator=g) * torch.tensor(C6).sqrt()
    views = [(x[i::2] + 0.5 * torch.randn(10000, 6, generator=g), x[i::2] + 0.5 * torch.randn(10000, 6, generator=g))
             for i in range(2)]
    fm = feature_moments(lambda v: v, views)
    m = CollapseMonitor(every=1, moments=fm, objective="spectral", weight_decay=1.4, say=lambda s: None)
    r = run(m, [low_rank(0, 3, d=6)])[0]
    assert r["predicted_rank"] == predict_projector(fm, "spectral", 1.4, embed_dim=6).rank == 3
    m.set_moments(fm, weight_decay=0.1)
    assert m(healthy(1, d=6), 1)["predicted_rank"] == 6


def test_nonfinite_embeddings_are_recorded_not_raised(tmp_path):
    z = healthy(0)
    z[3] = float("nan")
    m = CollapseMonitor(tmp_path / "m.jsonl", every=1, say=lambda s: None)
    r = m(z, 0)
    assert r["nonfinite_rows"] == 1 and names(r) == ["nonfinite_embeddings"]
    assert read_jsonl(tmp_path / "m.jsonl")[0]["nonfinite_rows"] == 1


def test_messages_are_said_once_while_a_signature_lasts():
    said: list[str] = []
    m = CollapseMonitor(every=1, objective="spectral", say=said.append)
    const = torch.ones(64, D)
    run(m, [const, const, healthy(2), const])
    assert len(said) == 2 and all("constant_embeddings" in s for s in said)


def test_live_figure(tmp_path):
    m = CollapseMonitor(every=1, spec=spec_dict(1.4), figure=tmp_path / "live.png", say=lambda s: None)
    run(m, [low_rank(i, 3, d=6) for i in range(3)])
    png = (tmp_path / "live.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_importing_the_monitor_imports_neither_lightning_nor_theory():
    code = ("import sys, sslscape.diagnostics, sslscape.monitor; "
            "print(any(m.split('.')[0] in ('lightning', 'pytorch_lightning') or m.startswith('sslscape.theory') "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- DDP: 2 gloo processes -----------------------------------------------------------------------------------------

def _ddp_worker(rank: int, world: int, init: str, path: str, out: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        full = torch.cat([low_rank(0, 5, n=300), low_rank(1, 5, n=300)[:260]])  # ranks hold 300 and 260 rows
        mine = full[:300] if rank == 0 else full[300:]
        said: list[str] = []
        m = CollapseMonitor(path, every=2, objective="spectral", say=said.append)
        records = [m(mine, step, loss=float(rank + 1)) for step in range(4)]
        nt = CollapseMonitor(None, every=2, objective="ntxent", say=said.append)  # K from the batch, and gathered
        ntxent = [nt(mine, step, loss=7.0, z2=mine * 1.01) for step in range(3)]
        torch.save({"records": records, "said": said, "full_rank": diagnose(full).rank, "ntxent": ntxent,
                    "full_eig": diagnose(full).eigenvalues}, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_ddp_gathers_embeddings_across_two_gloo_processes(tmp_path):
    import torch.multiprocessing as mp

    path, out = tmp_path / "ddp.jsonl", str(tmp_path / "result")
    init = f"file://{tmp_path / 'rendezvous'}"
    mp.spawn(_ddp_worker, args=(2, init, str(path), out), nprocs=2, join=True)
    results = [torch.load(f"{out}.{r}", weights_only=False) for r in range(2)]
    for res in results:
        logged = [r for r in res["records"] if r is not None]
        assert [r["step"] for r in logged] == [0, 2]
        rec = logged[-1]
        assert rec["n"] == 560 and rec["world_size"] == 2 and rec["loss"] == 1.5  # gathered; loss averaged
        assert rec["rank"] == res["full_rank"] == 5
        np.testing.assert_allclose(rec["eigenvalues"], res["full_eig"], rtol=1e-6, atol=1e-12)
    assert results[1]["said"] == [] and results[0]["records"][2]["eigenvalues"] == results[1]["records"][2][
        "eigenvalues"]
    assert [r["step"] for r in read_jsonl(path)] == [0, 2]  # written by rank 0 only
    for rank, res in enumerate(results):
        rec = res["ntxent"][2]  # NT-Xent: 2B − 1 candidates locally, 2BW − 1 for a loss that gathers both ranks
        b = 300 if rank == 0 else 260
        assert (rec["candidates"], rec["candidates_gathered"]) == (2 * b - 1, 2 * b * 2 - 1)
        assert rec["n"] == 560 and rec["lidar_views"] == 2 and rec["lidar"] is not None  # views gathered too


# ---- Lightning (the real library) ----------------------------------------------------------------------------------

@functools.cache
def _tiny_class() -> type:
    """A linear encoder trained with the spectral loss; training_step returns the embeddings. Built on first use
    and reachable as a module attribute (`__getattr__` below), so Lightning's ddp_spawn can pickle it while the
    processes of the plain DDP test never import Lightning."""
    import lightning

    class _Tiny(lightning.pytorch.LightningModule):
        def __init__(self, weight_decay: float) -> None:
            super().__init__()
            g = torch.Generator().manual_seed(0)
            self.w = torch.nn.Parameter(0.3 * torch.randn(6, 6, generator=g))
            self.gamma = weight_decay

        def training_step(self, batch, batch_idx):
            from sslscape.objectives import spectral_loss

            (x,) = batch
            g = torch.Generator().manual_seed(int(self.global_step))
            v1, v2 = x + 0.7 * torch.randn(x.shape, generator=g), x + 0.7 * torch.randn(x.shape, generator=g)
            loss = spectral_loss(v1 @ self.w.T, v2 @ self.w.T) + self.gamma * (self.w * self.w).sum()
            return {"loss": loss, "embeddings": (x @ self.w.T).detach()}

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=2e-2)

    _Tiny.__qualname__ = "_Tiny"
    _Tiny.__module__ = __name__
    return _Tiny


def __getattr__(name: str):
    if name == "_Tiny":
        return _tiny_class()
    raise AttributeError(name)


def _tiny_module(lightning, weight_decay: float):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4096, 6, generator=g) * torch.tensor(C6).sqrt()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=512, shuffle=False)
    return _tiny_class()(weight_decay), loader


def test_lightning_callback_with_the_real_library(tmp_path):
    lightning = pytest.importorskip("lightning", reason="pip install 'sslscape[lightning]' (make test installs it)")
    from sslscape.monitor import CollapseMonitorCallback

    assert issubclass(CollapseMonitorCallback, lightning.pytorch.Callback)
    said: list[str] = []
    cb = CollapseMonitorCallback(every=4, path=tmp_path / "pl.jsonl", spec=spec_dict(1.4), say=said.append)
    trainer = lightning.pytorch.Trainer(max_steps=16, accelerator="cpu", devices=1, logger=False,
                                        enable_checkpointing=False, enable_progress_bar=False,
                                        enable_model_summary=False, callbacks=[cb])
    module, loader = _tiny_module(lightning, 1.4)
    trainer.fit(module, loader)
    lines = read_jsonl(tmp_path / "pl.jsonl")
    assert [r["step"] for r in lines] == [4, 8, 12, 16]
    assert lines[-1]["predicted_rank"] == 3 and lines[-1]["rank"] <= 6
    assert trainer.callback_metrics["monitor/rank"] == lines[-1]["rank"]
    assert "monitor/predicted_rank" in trainer.callback_metrics
    assert any("weight_decay_above_critical" in s for s in said)


@pytest.mark.slow
def test_lightning_callback_under_ddp_gathers_both_ranks(tmp_path):
    """Lightning's ddp_spawn, 2 CPU processes (gloo): each rank's 512-row batch is gathered into one record of 1,024
    rows, written once (rank 0)."""
    lightning = pytest.importorskip("lightning", reason="pip install 'sslscape[lightning]' (make test installs it)")
    from sslscape.monitor import CollapseMonitorCallback

    cb = CollapseMonitorCallback(every=2, path=tmp_path / "ddp.jsonl", objective="spectral")
    trainer = lightning.pytorch.Trainer(max_steps=4, accelerator="cpu", devices=2, strategy="ddp_spawn",
                                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                                        enable_model_summary=False, callbacks=[cb])
    module, loader = _tiny_module(lightning, 0.1)
    trainer.fit(module, loader)
    lines = read_jsonl(tmp_path / "ddp.jsonl")
    assert [r["step"] for r in lines] == [2, 4]
    assert all(r["n"] == 1024 and r["world_size"] == 2 for r in lines)


def test_lightning_callback_without_lightning_raises_a_helpful_import_error(monkeypatch):
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        monkeypatch.setitem(sys.modules, name, None)
    monitor_module._build_lightning_callback.cache_clear()
    try:
        with pytest.raises(ImportError, match="sslscape\\[lightning\\]"):
            _ = monitor_module.CollapseMonitorCallback
    finally:
        monitor_module._build_lightning_callback.cache_clear()


# ---- issue 19: dimensional collapse named, a queue of recent rows, LiDAR and α-ReQ, the loss scales --------------

def simsiam_bn(step: int, alive: float, n: int = 512, d: int = 32) -> torch.Tensor:
    """SimSiam without a predictor behind an output BatchNorm: `alive` ∈ [0, 1] scales all but 2 directions of a
    healthy spectrum down (0: a knee after direction 2 onto a floor 3 decades below); every dimension is then
    standardised over the batch, so the std of L2-normalised rows stays healthy."""
    g = torch.Generator().manual_seed(step)
    scale = torch.full((d,), 1e-3 + alive * (1 - 1e-3))
    scale[:2] = 1.0
    rot = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(99)))[0]
    z = (torch.randn(n, d, generator=g) * scale) @ rot
    return (z - z.mean(0)) / z.std(0)  # BatchNorm1d(affine=False)


def test_a_dimensional_collapse_behind_an_output_batchnorm_is_named_with_the_predictor_knob():
    said: list[str] = []
    m = CollapseMonitor(every=1, objective="simsiam", say=said.append)
    alive = [1.0, 1.0, 0.5, 0.01, 0.002, 0.001, 0.001]
    records = run(m, [simsiam_bn(i, a) for i, a in enumerate(alive)], losses=[-0.3, -0.6, -0.8, -0.93, -0.95,
                                                                              -0.95, -0.95])
    assert all(r["normalized_std"] * math.sqrt(32) > 0.9 for r in records)  # the BatchNorm keeps it healthy …
    assert not any("negative_cosine_collapse" in names(r) for r in records)  # … so that signature cannot fire
    fired = [r["step"] for r in records if "dimensional_collapse" in names(r)]
    assert records[3]["verdict"].startswith("dimensional collapse") and not names(records[2])
    assert fired[0] == 3 and fired == [3, 4, 5, 6]  # the effective rank halved at step 3; the knee holds from 4
    assert len(said) == 1 and "predictor" in said[0] and "top 2 of 32" in said[0]
    assert records[-1]["knee"]["start"] <= 2 and records[-1]["alpha"] is None  # no power law below a knee


def test_a_falling_effective_rank_is_named_without_a_knee():
    m = CollapseMonitor(every=1, objective="ntxent", say=lambda s: None)
    steep = [0.3, 0.3, 0.6, 1.2, 2.0]  # a power law steepening: smooth (no knee), effective rank 14 → 3
    zs = [healthy(i) * torch.arange(1, D + 1, dtype=torch.float32) ** (0.5 - a) for i, a in enumerate(steep)]
    records = run(m, zs, losses=[5.0, 4.8, 4.7, 4.6, 4.6])
    assert all(r["verdict"] == "healthy" for r in records)
    sig = next(s for s in records[-1]["signatures"] if s["name"] == "dimensional_collapse")
    assert "down from" in sig["message"] and "temperature" in sig["knob"]


def test_no_dimensional_collapse_on_a_healthy_simsiam_with_a_predictor():
    m = CollapseMonitor(every=1, objective="simsiam", say=lambda s: None)
    records = run(m, [simsiam_bn(i, a) for i, a in enumerate([1.0, 1.0, 0.8, 0.7, 0.7, 0.7])],
                  losses=[-0.3, -0.6, -0.75, -0.8, -0.8, -0.8])
    assert all(r["signatures"] == [] for r in records), [names(r) for r in records]


def test_a_queue_of_recent_rows_lifts_the_batch_cap_and_views_give_lidar():
    from sslscape.diagnostics.lidar import lidar

    m = CollapseMonitor(every=4, say=lambda s: None)  # auto: B = 8 ≤ 2d → the last 4d = 64 rows
    zs = [healthy(i, n=8) for i in range(9)]
    z2s = [z + 0.1 * healthy(100 + i, n=8) for i, z in enumerate(zs)]
    records = [m(z, i, z2=z2) for i, (z, z2) in enumerate(zip(zs, z2s, strict=True))]
    rec = records[8]
    assert rec["n"] == 64 and rec["batch"] == 8 and rec["queue_steps"] == [1, 8] and rec["rank"] == D  # not 7
    views = torch.stack([torch.cat(zs[1:]), torch.cat(z2s[1:])], dim=1)
    assert rec["lidar"] == pytest.approx(lidar(views), rel=1e-9) and rec["lidar_views"] == 2
    assert rec["alpha"] is not None and rec["alpha_fit_rms"] < 0.1  # α-ReQ of the power law, in the record
    one = CollapseMonitor(every=1, queue=0, say=lambda s: None)(zs[0], 0)
    assert one["n"] == 8 and one["rank"] == 7
    with pytest.raises(UserError, match="queue"):
        CollapseMonitor(queue=-1)


@pytest.mark.parametrize("loss, history, fires", [
    (0.004, [1.2], True),  # BYOL's 2 − 2 cos, minimum 0: cos 0.998
    (0.5, [1.2], False),  # cos 0.75
    (-0.998, [-0.4], True),  # a negative-cosine BYOL (lightly's examples): cos 0.998
])
def test_byol_collapse_on_its_own_loss_scale(loss, history, fires):
    g = torch.Generator().manual_seed(0)
    direction = torch.randn(D, generator=g)
    almost = 10 * direction / direction.norm() + 0.16 * torch.randn(512, D, generator=g)  # std of unit rows tiny
    m = CollapseMonitor(every=1, objective="byol", say=lambda s: None)
    r = run(m, [healthy(0), almost], losses=[*history, loss])[-1]
    assert ("negative_cosine_collapse" in names(r)) is fires


def _ntxent_by_hand(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> float:
    """NT-Xent (Chen et al. 2020, Eq. 1) written out: each of the 2B embeddings against the other 2B − 1."""
    z = torch.nn.functional.normalize(torch.cat([z1, z2]).double(), dim=1)
    b = z1.shape[0]
    total = 0.0
    for i in range(2 * b):
        sims = torch.stack([z[i] @ z[j] / tau for j in range(2 * b) if j != i])
        total += float(torch.logsumexp(sims, 0) - z[i] @ z[(i + b) % (2 * b)] / tau)
    return total / (2 * b)


def test_an_ntxent_run_stuck_at_log_2b_minus_1_is_named_without_being_told_k():
    from sslscape.objectives import ntxent_loss

    b, tau = 64, 0.5
    g = torch.Generator().manual_seed(0)
    stuck_z = torch.ones(b, D) + 1e-4 * torch.randn(b, D, generator=g)  # all logits equal
    stuck = float(ntxent_loss(stuck_z, stuck_z, temperature=tau))
    assert stuck == pytest.approx(_ntxent_by_hand(stuck_z, stuck_z, tau), rel=1e-6)
    assert stuck == pytest.approx(math.log(2 * b - 1), rel=1e-4)  # not log B: the CLIP form's count
    said: list[str] = []
    m = CollapseMonitor(every=1, objective="ntxent", say=said.append)
    records = run(m, [healthy(i, n=b) for i in range(INFONCE_STUCK_LOGS)], losses=[stuck] * INFONCE_STUCK_LOGS)
    assert records[-1]["candidates"] == 2 * b - 1 and "infonce_stuck" in names(records[-1])
    assert any(f"log({2 * b - 1})" in s and "NT-Xent" in s for s in said)
    z1 = healthy(7, n=b)
    learned = float(ntxent_loss(z1, z1 + 0.05 * healthy(8, n=b), temperature=tau))  # aligned positives
    m2 = CollapseMonitor(every=1, objective="ntxent", say=lambda s: None)
    quiet = run(m2, [healthy(i, n=b) for i in range(INFONCE_STUCK_LOGS)], losses=[learned] * INFONCE_STUCK_LOGS)
    assert learned < 0.9 * math.log(2 * b - 1) and all("infonce_stuck" not in names(r) for r in quiet)


def test_the_lightning_callback_warns_once_when_training_step_returns_the_loss_alone():
    from types import SimpleNamespace

    said: list[str] = []
    cb = monitor_module._build_lightning_callback()(every=1, say=said.append)
    for step in range(3):
        cb.on_train_batch_end(SimpleNamespace(global_step=step), None, {"loss": torch.tensor(1.0)}, None, step)
    assert len(said) == 1 and "training_step returned" in said[0] and "'embeddings'" in said[0]
    assert cb.monitor.records == []
