"""`sslscape diagnose` through the real CLI entry point: JSON, table, plot, spec, bad input → exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from sslscape.cli import main


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((600, 8)) * np.array([3, 2, 1, 1, 0.5, 0, 0, 0])).astype(np.float32)
    np.save(d / "z.npy", z)
    np.save(d / "y.npy", (z[:, 0] > 0).astype(int))
    views = z[:, None, :] + 0.1 * rng.standard_normal((600, 4, 8)).astype(np.float32)
    np.save(d / "v3.npy", views)
    np.save(d / "v2.npy", views.reshape(2400, 8))
    np.save(d / "v_other.npy", views[:100])
    bad = z.copy()
    bad[[5, 9, 11]] = np.nan
    np.save(d / "nan.npy", bad)
    np.save(d / "wide.npy", z[:6])
    np.save(d / "vec.npy", z[:, 0])
    (d / "empty.npy").write_bytes(b"")
    (d / "z.txt").write_text("1,2,3\n")
    (d / "spec.json").write_text(
        json.dumps(
            {
                "objective": "spectral",
                "weight_decay": 1.0,
                "embed_dim": 8,
                "data": {"cov": [4, 3, 2, 1.5, 1, 0.5, 0.25, 0.1]},
            }
        )
    )
    return d


def test_json_is_exactly_one_object_with_the_contract_keys(files, capsys):
    code, out, err = run(
        [
            "diagnose",
            str(files / "z.npy"),
            "--json",
            "--views",
            str(files / "v3.npy"),
            "--labels",
            str(files / "y.npy"),
        ],
        capsys,
    )
    assert code == 0, err
    obj = json.loads(out)  # the whole stdout is one JSON object
    for key in ("n", "dim", "rank", "effective_rank", "rankme", "alpha", "verdict", "lidar", "probe"):
        assert key in obj
    assert (obj["n"], obj["dim"], obj["rank"]) == (600, 8, 5)
    assert obj["verdict"] == "dimensional collapse (5 of 8)"
    assert 0.0 <= obj["probe"]["knn_accuracy"] <= 1.0


def test_two_dimensional_views_with_n_views_give_the_same_lidar(files, capsys):
    a = json.loads(
        run(["diagnose", str(files / "z.npy"), "--json", "--views", str(files / "v3.npy")], capsys)[1]
    )
    b = json.loads(
        run(
            ["diagnose", str(files / "z.npy"), "--json", "--views", str(files / "v2.npy"), "--n-views", "4"],
            capsys,
        )[1]
    )
    assert a["lidar"] == pytest.approx(b["lidar"], rel=1e-12)


def test_table_plot_and_spec(files, capsys, tmp_path):
    png = tmp_path / "s.png"
    code, out, err = run(
        ["diagnose", str(files / "z.npy"), "--plot", str(png), "--spec", str(files / "spec.json")], capsys
    )
    assert code == 0, err
    assert "dimensional collapse (5 of 8)" in out and "theory rank" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_spec_json_reports_agreement(files, capsys):
    obj = json.loads(
        run(["diagnose", str(files / "z.npy"), "--json", "--spec", str(files / "spec.json")], capsys)[1]
    )
    assert obj["theory"]["predicted_rank"] == 5 and obj["theory"]["agree"] is True


@pytest.mark.parametrize(
    "argv, message",
    [
        (["nan.npy"], "3 of 600 rows with NaN/Inf"),
        (["z.npy", "--views", "v_other.npy"], "are of 100 samples but the embeddings have N = 600"),
        (["vec.npy"], "need (N, d)"),
        (["empty.npy"], "is empty"),
        (["z.txt"], "use a .npy, .npz, .pt, .pth, .csv or .tsv file"),
        (["missing.npy"], "does not exist"),
        (["z.npy", "--views", "v2.npy"], "--n-views"),
        (["z.npy", "--labels", "wide.npy"], "one label per embedding row"),
        (["z.npy", "--order", "sextic"], "--order"),
    (["z.npy", "--n-views", "4"], "--n-views needs --views"),
    ],
)
def test_bad_input_exits_2_with_one_line(files, capsys, argv, message):
    argv = [str(files / a) if a.endswith((".npy", ".txt")) else a for a in argv]
    code, out, err = run(["diagnose", *argv], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message in err


def test_fewer_samples_than_dimensions_is_answered(files, capsys):
    code, out, err = run(["diagnose", str(files / "wide.npy"), "--json"], capsys)
    assert code == 0, err
    obj = json.loads(out)
    assert obj["max_rank"] == 5 and "N − 1 = 5" in obj["reason"]


def test_module_entry_point_prints_one_line_and_no_traceback(files):
    r = subprocess.run(
        [sys.executable, "-m", "sslscape.cli", "diagnose", str(files / "nan.npy")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_key_picks_the_array_of_an_ambiguous_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "m.npz", a=rng.standard_normal((50, 4)), b=rng.standard_normal((50, 3)))
    code, out, err = run(["diagnose", str(tmp_path / "m.npz"), "--json"], capsys)
    assert code == 2 and "--key NAME" in err and "'a' (50, 4)" in err
    code, out, err = run(["diagnose", str(tmp_path / "m.npz"), "--key", "b", "--json"], capsys)
    assert code == 0 and json.loads(out)["dim"] == 3


# ---- issue 19: several files ranked in one call; run folders; files as tools export them -----------------------

@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Embeddings of three 'checkpoints' (numpy ranks them: effective rank 8 > 5 > 2) and a labels file."""
    d = tmp_path_factory.mktemp("ckpts")
    rng = np.random.default_rng(1)
    for step, r in ((100, 2), (200, 8), (300, 5)):
        np.save(d / f"step_{step}.npy", (rng.standard_normal((400, 8)) * (np.arange(8) < r)).astype(np.float32))
    np.save(d / "labels.npy", rng.integers(0, 3, 400))
    z = np.load(d / "step_200.npy")
    np.savez(d / "with_views.npz", embeddings=z, views=z[:, None] + 0.1 * rng.standard_normal((400, 2, 8)))
    return d


def test_several_files_are_ranked_in_one_call_with_the_best_marked(checkpoints, capsys):
    files = sorted(str(p) for p in checkpoints.glob("step_*.npy"))
    code, out, err = run(["diagnose", *files, "--json"], capsys)
    assert code == 0, err
    obj = json.loads(out)
    assert [r["file"] for r in obj["files"]] == files and obj["best_by"] == "rankme"
    assert obj["best"].endswith("step_200.npy") and [r["best"] for r in obj["files"]] == [False, True, False]
    assert [r["rank"] for r in obj["files"]] == [2, 8, 5]
    code, out, err = run(["diagnose", str(checkpoints / "step_*.npy")], capsys)  # a quoted glob; the table
    assert code == 0 and "★" in out and out.count("step_") == 3


def test_a_folder_is_ranked_leaving_out_labels_and_views_come_from_the_file(checkpoints, capsys):
    obj = json.loads(run(["diagnose", str(checkpoints), "--json"], capsys)[1])
    names = [r["file"].rsplit("/", 1)[-1] for r in obj["files"]]
    assert names == ["step_100.npy", "step_200.npy", "step_300.npy", "with_views.npz"]
    assert "left out labels.npy" in obj["notes"][0]
    assert obj["files"][3]["lidar"] is not None and obj["files"][3]["n_views"] == 2
    assert obj["files"][0]["lidar"] is None


def test_a_run_folder_gives_its_embeddings_and_labels_saying_so(checkpoints, capsys, tmp_path):
    np.save(tmp_path / "embeddings.npy", np.load(checkpoints / "step_200.npy"))
    np.save(tmp_path / "labels.npy", np.load(checkpoints / "labels.npy"))
    obj = json.loads(run(["diagnose", str(tmp_path), "--json"], capsys)[1])
    assert obj["n"] == 400 and "probe" in obj and "embeddings.npy and labels.npy" in obj["notes"][0]


@pytest.mark.parametrize("argv, message", [
    (["step_100.npy", "step_200.npy", "--labels", "labels.npy"], "--labels apply to one embeddings file"),
    (["nothing_*.npy"], "no file matches"),
])
def test_bad_rankings_exit_2_with_one_line(checkpoints, capsys, argv, message):
    argv = [str(checkpoints / a) if a.endswith(".npy") else a for a in argv]
    code, out, err = run(["diagnose", *argv], capsys)
    assert code == 2 and err.count("\n") == 1 and message in err


def test_no_terminal_codes_in_a_refusal_off_a_terminal(tmp_path, capsys):
    import argparse

    import torch

    torch.save({"args": argparse.Namespace(a=1), "z": torch.ones(4, 2)}, tmp_path / "ns.pt")  # torch's unpickler
    code, out, err = run(["diagnose", str(tmp_path / "ns.pt")], capsys)  # error carries bold escape codes
    assert code == 2 and "\x1b" not in err and err.count("\n") == 1


def test_labels_in_the_same_file_are_used_saying_so(tmp_path, capsys):
    rng = np.random.default_rng(4)
    np.savez(tmp_path / "fl.npz", features=rng.standard_normal((300, 6)), labels=rng.integers(0, 3, 300))
    obj = json.loads(run(["diagnose", str(tmp_path / "fl.npz"), "--json"], capsys)[1])
    assert "probe" in obj and "labels read from the same file" in obj["notes"][0]
    np.savetxt(tmp_path / "one.csv", rng.standard_normal((50, 3)))  # no header: no label column named
    assert "probe" not in json.loads(run(["diagnose", str(tmp_path / "one.csv"), "--json"], capsys)[1])
