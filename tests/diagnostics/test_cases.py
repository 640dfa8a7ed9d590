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


# ---- the files of issue 19 (cases 41–45), through the CLI ----------------------------------------------------

def test_knee_shapes_of_real_runs(tmp_path, capsys, make_embeddings):
    y = np.r_[-np.linspace(0, 0.6, 16), -0.6 - np.cumsum([0.49, 0.72, 0.41]), -2.27 - np.linspace(0.05, 2.4, 109)]
    np.save(tmp_path / "simclr.npy", make_embeddings(np.sqrt(4000 * 10.0**y), n=4000).astype(np.float32))
    j = cli_json([str(tmp_path / "simclr.npy")], capsys)
    lam = 10.0**y
    assert j["verdict"] == "dimensional collapse (17 of 128)" and j["knee"]["start"] == 16
    assert j["surviving_variance_share"] == pytest.approx(lam[:17].sum() / lam.sum(), rel=1e-5)


def test_pandas_csv_with_a_nan_cell_is_refused_with_counts(tmp_path, capsys):
    z = np.random.default_rng(42).standard_normal((500, 16))
    cell = lambda i, j, v: "" if (i, j) == (57, 3) else f"{v:.6f}"  # noqa: E731 — pandas writes NaN as ''
    lines = [",".join([""] + [f"f{j}" for j in range(16)])] + [
        ",".join([str(i)] + [cell(i, j, v) for j, v in enumerate(r)]) for i, r in enumerate(z)]
    (tmp_path / "nan.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(SystemExit) as info:
        main(["diagnose", str(tmp_path / "nan.csv"), "--json"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and "1 empty/NaN cell in 1 of 500 rows" in err


def test_rows_repeated_by_a_padded_sampler(tmp_path, capsys):
    rows = np.random.default_rng(43).standard_normal((60, 128)).astype(np.float32)
    np.save(tmp_path / "rep.npy", np.tile(rows, (8, 1)))
    j = cli_json([str(tmp_path / "rep.npy")], capsys)
    assert (j["verdict"], j["max_rank"], j["duplicate_rows"]) == ("healthy", 59, 420)


def test_a_list_of_batch_tensors_in_a_pth_file(tmp_path, capsys):
    z = np.random.default_rng(44).standard_normal((488, 32)).astype(np.float32)
    torch.save(tuple(torch.from_numpy(z[i:i + 64]) for i in range(0, 488, 64)), tmp_path / "b.pth")
    j = cli_json([str(tmp_path / "b.pth")], capsys)
    lam = np.linalg.svd(z.astype(np.float64) - z.mean(0, dtype=np.float64), compute_uv=False) ** 2 / 488
    np.testing.assert_allclose(j["eigenvalues"], lam, rtol=1e-6, atol=1e-9 * lam[0])
    assert "concatenated" in j["notes"][0]


def test_lightly_csv_with_metadata_columns_first(tmp_path, capsys):
    rng = np.random.default_rng(45)
    f = np.round(rng.standard_normal((300, 12)), 6)
    header = ["filenames", "masked", "selected", "labels"] + [f"embedding_{k}" for k in range(12)]
    lines = [",".join(header)] + [",".join([f"img_{i}.png", "0", str(i % 2), str(i % 4)] + [f"{v:.6f}" for v in r])
                                  for i, r in enumerate(f)]
    (tmp_path / "embeddings.csv").write_text("\n".join(lines) + "\n")
    j = cli_json([str(tmp_path / "embeddings.csv")], capsys)
    lam = np.linalg.svd(f - f.mean(0), compute_uv=False) ** 2 / 300
    assert j["dim"] == 12
    np.testing.assert_allclose(j["eigenvalues"], lam, rtol=1e-6, atol=1e-9 * lam[0])
