"""The embedding files of issue 9 (real SSL situations), rebuilt here and run through the CLI, with the right
answers computed independently with numpy — regression tests for each *kind* of input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sslscape.cli import main
from sslscape.diagnostics.metrics import RANKME_EPS


def cli_json(argv: list[str], capsys) -> dict:
    with pytest.raises(SystemExit) as info:
        main(["diagnose", *argv, "--json"])
    out, err = capsys.readouterr()
    assert int(info.value.code or 0) == 0, err
    return json.loads(out)


def test_batch_smaller_than_the_projector_width(tmp_path, capsys):
    # per-batch monitor on a wide projector: N = 128 < d = 512
    z = np.random.default_rng(5).standard_normal((128, 512)).astype(np.float32)
    np.save(tmp_path / "batch.npy", z)
    z64 = z.astype(np.float64)
    s_raw = np.linalg.svd(z64, compute_uv=False)
    p = s_raw / s_raw.sum() + RANKME_EPS
    j = cli_json([str(tmp_path / "batch.npy")], capsys)
    assert (j["rank"], j["max_rank"]) == (127, 127) and j["verdict"].startswith("healthy")
    assert j["rankme"] == pytest.approx(float(np.exp(-(p * np.log(p)).sum())), rel=1e-6)


@pytest.mark.parametrize("save", [
    lambda d, f, y: torch.save({"features": torch.from_numpy(f), "labels": torch.from_numpy(y)}, d / "a.pt"),
    lambda d, f, y: np.savez(d / "a.npz", features=f, labels=y),
    lambda d, f, y: np.savez(d / "a.npz", X=f, y=y),
    lambda d, f, y: np.savez(d / "a.npz", features=f, y=np.eye(10, dtype=np.float32)[y]),
])
def test_features_and_labels_in_one_file(tmp_path, capsys, save):
    rng = np.random.default_rng(7)
    f = (rng.standard_normal((500, 16)) * np.linspace(2, 0.2, 16)).astype(np.float32)
    y = rng.integers(0, 10, 500)
    save(tmp_path, f, y)
    lam = np.linalg.svd(f.astype(np.float64) - f.mean(0, dtype=np.float64), compute_uv=False) ** 2 / 500
    j = cli_json([str(next(tmp_path.glob("a.*")))], capsys)
    assert j["dim"] == 16
    np.testing.assert_allclose(j["eigenvalues"], lam, rtol=1e-6, atol=1e-9 * lam[0])


def test_power_law_float32_and_its_float64_copy(tmp_path, capsys):
    rng = np.random.default_rng(15)
    n, d = 1500, 768
    lam = np.arange(1, d + 1, dtype=float) ** -1.5
    rot = np.linalg.qr(rng.standard_normal((d, d)))[0]
    z = ((rng.standard_normal((n, d)) * np.sqrt(lam)) @ rot.T).astype(np.float32)
    np.save(tmp_path / "z32.npy", z)
    np.save(tmp_path / "z64.npy", z.astype(np.float64))
    zc = z.astype(np.float64) - z.astype(np.float64).mean(0)
    ev = np.linalg.eigvalsh(zc.T @ zc / n)[::-1]
    rank_ref = int(np.sum(np.sqrt(np.clip(ev, 0, None) / ev[0]) > max(n, d) * np.finfo(np.float32).eps))
    a, b = cli_json([str(tmp_path / "z32.npy")], capsys), cli_json([str(tmp_path / "z64.npy")], capsys)
    assert a["rank"] == b["rank"] == rank_ref == 768
    assert a["verdict"] == b["verdict"] == "healthy"
