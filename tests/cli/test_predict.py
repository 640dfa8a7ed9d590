"""CLI `predict` and `phase`: the JSON contract, the files written, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "examples" / "default.json"


def run_subprocess(*args: str) -> subprocess.CompletedProcess:
    """The real entry point, as a user runs it (slow: imports torch)."""
    return subprocess.run([sys.executable, "-m", "sslscape.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


@pytest.fixture
def run(capsys):
    """`sslscape.cli.main` in-process: returns an object with returncode, stdout, stderr."""

    def _run(*args: str) -> subprocess.CompletedProcess:
        from sslscape.cli import main

        with pytest.raises(SystemExit) as exc:
            main(list(args))
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, exc.value.code, out.out, out.err)

    return _run


def test_predict_json_contract() -> None:
    res = run_subprocess("predict", str(DEFAULT), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)  # exactly one JSON object on stdout
    assert {"rank", "phase", "spectrum", "thresholds", "order"} <= out.keys()
    assert out["order"] == "quartic" and out["phase"] in ("none", "dimensional", "complete")
    assert isinstance(out["rank"], int) and len(out["spectrum"]) == 8
    # default spec: euclidean, clean negatives: direction i survives iff (1 - 1/N)(2c_i - s_i)/(2τ) > γ
    cov, s, gamma, keep = [1.0, 0.8, 0.6, 0.45, 0.3, 0.2, 0.1, 0.05], 0.5, 0.1, 1 - 1 / 512
    assert out["rank"] == sum(keep * (2 * c - s) / 2 > gamma for c in cov)


def test_phase_writes_png_and_json(run, tmp_path: Path) -> None:
    res = run("phase", str(DEFAULT), "--x", "weight_decay:0:1:16", "--y", "noise_scale:0:4:12", "--out",
              str(tmp_path))
    assert res.returncode == 0, res.stderr
    data = json.loads((tmp_path / "phase.json").read_text())
    assert len(data["rank"]) == 12 and len(data["rank"][0]) == 16
    assert (tmp_path / "phase.png").stat().st_size > 10_000
    assert {0, 1, 2} <= {c for row in data["phase"] for c in row}  # the default shows all three phases


def _write(tmp_path: Path, obj: object, name: str = "spec.json") -> str:
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(path)


BAD = [
    ("{not json", "not valid JSON"),
    ({"objective": "simclr", "data": {"cov": [1]}}, "objective"),
    ({"objective": "infonce", "data": {"cov": [1]}, "temperature": -0.5}, "temperature"),
    ({"objective": "infonce", "data": {"cov": [1]}, "tempreature": 0.5}, "tempreature"),
    ({"objective": "infonce", "data": {"cov": [[1, 3], [3, 1]]}}, "positive semi-definite"),
    ({"objective": "infonce", "data": {"cov": [1, 2]}, "augmentation": {"noise_cov": [1, 2, 3]}}, "noise_cov"),
    ({"objective": "infonce", "data": {"samples": "missing.npy"}}, "does not exist"),
]


@pytest.mark.parametrize("spec, needle", BAD)
def test_bad_spec_exits_2_with_one_line(run, tmp_path: Path, spec: object, needle: str) -> None:
    res = run("predict", _write(tmp_path, spec), "--json")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.stderr
    assert res.stdout == ""


def test_bad_spec_from_the_real_entry_point(tmp_path: Path) -> None:
    res = run_subprocess("predict", _write(tmp_path, {"objective": "infonce", "data": {"cov": [1]}, "x": 1}))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


def test_unreadable_sample_file_exits_2(run, tmp_path: Path) -> None:
    (tmp_path / "x.npy").write_bytes(b"garbage")
    res = run("predict", _write(tmp_path, {"objective": "spectral", "data": {"samples": "x.npy"}}))
    assert res.returncode == 2 and "not a .npy file" in res.stderr and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, needle", [
    (["--x", "bogus:0:1:4"], "unknown axis"),
    (["--x", "weight_decay:1:0:4"], "HI > LO"),
    (["--x", "weight_decay:0:1"], "NAME:LO:HI:N"),
    (["--y", "weight_decay:0:1:4"], "different"),
])
def test_bad_phase_axes(run, tmp_path: Path, args: list[str], needle: str) -> None:
    res = run("phase", str(DEFAULT), *args, "--out", str(tmp_path))
    assert res.returncode == 2 and needle in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_out_folder_that_is_a_file(run, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    res = run("phase", str(DEFAULT), "--out", str(tmp_path / "f"))
    assert res.returncode == 2 and "is a file" in res.stderr


def test_bad_order(run) -> None:
    res = run("predict", str(DEFAULT), "--order", "sextic")
    assert res.returncode == 2 and "--order" in res.stderr


def test_phase_without_closed_form_refuses_a_huge_grid(run, tmp_path: Path) -> None:
    spec = _write(tmp_path, {"objective": "vicreg", "data": {"cov": [2.0, 1.0]}, "weight_decay": 0.1})
    res = run("phase", spec, "--x", "weight_decay:0:1:64", "--y", "noise_scale:0:4:64", "--out", str(tmp_path))
    assert res.returncode == 2 and "at most 36 cells" in res.stderr and len(res.stderr.strip().splitlines()) == 1
