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
    assert len(data["alive"]) == 12 and len(data["alive"][0]) == 16
    assert (tmp_path / "phase.png").stat().st_size > 10_000
    from sslscape.spec import load_spec
    from sslscape.theory import plan

    own = plan(load_spec(DEFAULT))  # the cells are the default order's answers, as `predict`'s
    assert json.loads(res.stdout)["solver"] == data["solver"] and own.solver in data["solver"].split("+")
    assert own.order in data["order"].split("+")
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
    spec = _write(tmp_path, {"objective": "infonce", "similarity": "cosine", "data": {"cov": [2.0, 1.0]},
                             "weight_decay": 0.1, "symmetric": True})  # outside §14: an exact solve per cell
    res = run("phase", spec, "--x", "weight_decay:0:1:64", "--y", "noise_scale:0:4:64", "--out", str(tmp_path))
    assert res.returncode == 2 and "exact_lbfgs (numerical): use at most" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


SMALL_FINITE_BATCH = {"objective": "infonce", "data": {"cov": [4.0, 4.0, 4.0, 0.12]},
                      "augmentation": {"noise_cov": [0.01] * 4}, "weight_decay": 0.1, "batch_size": 16}


def test_default_order_is_named_in_the_table_and_the_json(run, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one table row per line
    path = _write(tmp_path, SMALL_FINITE_BATCH)
    res = run("predict", path)
    assert res.returncode == 0, res.stderr
    assert "solver learned_point_dot (order learned_point)" in res.stdout and "learned_point order" in res.stdout
    assert "p̄" in res.stdout
    out = json.loads(run("predict", path, "--json").stdout)
    assert out["order"] == "learned_point" and out["thresholds"]["order"] == "learned_point" and out["rank"] == 3
    quartic = json.loads(run("predict", path, "--json", "--order", "quartic").stdout)
    assert quartic["order"] == "quartic" and quartic["rank"] == 4


def test_exact_output_labels_its_thresholds_and_keeps_no_quartic_note(run, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    res = run("predict", _write(tmp_path, SMALL_FINITE_BATCH), "--order", "exact")
    assert res.returncode == 0, res.stderr
    assert "order exact" in res.stdout and "learned_point order, not this answer's" in res.stdout
    assert "left to order" not in res.stdout and "quartic" not in res.stdout
    assert res.stderr.strip().startswith("solving numerically (solver exact_lbfgs: the exact sample loss")
    assert "about" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_no_closed_form_says_so_up_front_and_max_seconds_marks_the_answer(run, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    spec = {"objective": "infonce", "similarity": "cosine", "temperature": 0.5, "weight_decay": 0.1,
            "data": {"cov": [2.0, 1.0, 0.5]}, "batch_size": 32, "symmetric": True}  # outside docs/theory.md §14
    res = run("predict", _write(tmp_path, spec), "--json", "--max-seconds", "0.001")
    assert res.returncode == 0, res.stderr
    line = res.stderr.strip().splitlines()
    assert len(line) == 1 and line[0].startswith("no faster solver applies (learned_point_cosine: symmetric InfoNCE")
    assert "solving numerically (solver exact_lbfgs" in line[0] and ", about " in line[0]
    assert "best answer so far" in line[0]
    out = json.loads(res.stdout)
    assert out["order"] == "exact" and out["converged"] is False
    assert any("best answer so far" in n for n in out["notes"])
    res = run("predict", _write(tmp_path, spec), "--max-seconds", "0.001")
    assert "NOT CONVERGED" in res.stdout


@pytest.mark.parametrize("args, needle", [(["--order", "per_direction"], "per_direction does not apply"),
                                          (["--max-seconds", "-1"], "--max-seconds")])
def test_orders_and_budgets_that_cannot_apply_exit_2(run, args: list[str], needle: str) -> None:
    res = run("predict", str(DEFAULT), *args)
    assert res.returncode == 2 and needle in res.stderr and len(res.stderr.strip().splitlines()) == 1


def write_moments(path: Path, cross: list[float], noise: list[float]) -> str:
    """A moments file as `sslscape estimate` writes it (A = diag(cross), B = A + diag(noise), μ = 0)."""
    import numpy as np

    from sslscape.moments import AugmentationMoments, save_moments

    a = np.diag(cross)
    est = AugmentationMoments(dataset="test", pipeline="noise", n_images=100, dim=len(cross), method="exact",
                              mean=np.zeros(len(cross)), cross_cov=a, view_cov=a + np.diag(noise), noise_floor=0.0,
                              eigenvalues=np.sort(cross)[::-1], below_floor=0)
    return str(save_moments(est, path))


def test_predict_from_a_moments_file_alone_and_over_a_spec(run, tmp_path: Path) -> None:
    moments = write_moments(tmp_path / "m.npz", [2.0, 1.0, 0.5], [0.3, 0.2, 0.1])
    # no SPEC: the spec `sslscape estimate` writes (spectral); direction i survives iff 2c_i > γ
    out = json.loads(run("predict", "--moments", moments, "--weight-decay", "1.5", "--json").stdout)
    assert out["rank"] == 2 and len(out["spectrum"]) == 3
    assert json.loads(run("predict", "--moments", moments, "--json").stdout)["rank"] == 3  # γ = 0.01
    # SPEC + --moments: the spec's data and noise are replaced (4-D spec → the file's 3-D moments)
    spec = _write(tmp_path, {"objective": "spectral", "data": {"cov": [9.0] * 4}, "weight_decay": 1.5})
    res = run("predict", spec, "--moments", moments, "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["rank"] == 2 and len(out["spectrum"]) == 3
    res = run("phase", "--moments", moments, "--x", "weight_decay:0:3:8", "--y", "noise_scale:0:2:4", "--out",
              str(tmp_path / "ph"))
    assert res.returncode == 0, res.stderr
    data = json.loads((tmp_path / "ph" / "phase.json").read_text())
    # the file's moments at noise_scale 0: 3 directions at γ = 0, only 2c = 4 > γ = 3 at the right edge
    assert data["capacity"] == 3 and data["alive"][0][0] == 3 and data["alive"][0][-1] == 1


@pytest.mark.parametrize("args, needle", [
    ([], "give a SPEC file"),
    (["--moments", "missing.npz"], "does not exist"),
    (["SPEC", "--objective", "infonce"], "only apply with --moments"),
])
def test_moments_misuse_exits_2_with_one_line(run, tmp_path: Path, args: list[str], needle: str) -> None:
    args = [str(DEFAULT) if a == "SPEC" else (str(tmp_path / a) if a.endswith(".npz") else a) for a in args]
    for command in ("predict", "phase"):
        res = run(command, *args)
        assert res.returncode == 2 and needle in res.stderr and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("extra, field", [({"depth": 2}, "depth"), ({"bias": True}, "bias"),
                                          ({"normalization": "l2"}, "normalization")])
def test_theory_gaps_are_refused_by_predict_and_phase(run, tmp_path: Path, extra: dict, field: str) -> None:
    """A deep / biased / normalised BYOL is a valid spec (training runs it) that the theory cannot model: predict
    and phase say so in one line naming the field (exit 2) instead of answering another problem."""
    spec = _write(tmp_path, {"objective": "byol", "similarity": "cosine", "data": {"cov": [2.0, 1.0]}, **extra})
    for args in (["predict", spec], ["predict", spec, "--order", "exact"],
                 ["phase", spec, "--x", "weight_decay:0:1:2", "--y", "noise_scale:0:1:2", "--out", str(tmp_path)]):
        res = run(*args)
        assert res.returncode == 2 and field in res.stderr and "training can" in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1


def test_closed_form_predict_imports_no_torch(tmp_path: Path) -> None:
    """`sslscape predict` on a closed-form spec (quartic and learned point) stays light: torch (~5 s to import on
    a loaded machine) is imported only where the exact solver or a polynomial minimiser runs."""
    spec = _write(tmp_path, SMALL_FINITE_BATCH)
    code = ("import sys\nfrom sslscape.cli import main\n"
            f"for args in (['predict', {str(DEFAULT)!r}, '--json'], ['predict', {spec!r}, '--json']):\n"
            "    try:\n        main(args)\n    except SystemExit as exc:\n        assert exc.code in (0, None), exc\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO_TORCH')\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "NO_TORCH"
