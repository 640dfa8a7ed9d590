"""CLI `advise`: intervals from a spec or a moments file, and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_predict import _write, run, write_moments  # noqa: F401  (run: the in-process CLI fixture)


def test_advise_from_a_moments_file(run, tmp_path: Path) -> None:  # noqa: F811
    """Spectral (the spec `sslscape estimate` writes): direction i survives iff γ < 2c_i, so keeping exactly 2 of
    c = (2, 1, 0.5) needs γ ∈ [1, 2)."""
    moments = write_moments(tmp_path / "m.npz", [2.0, 1.0, 0.5], [0.3, 0.2, 0.1])
    res = run("advise", "--moments", moments, "--keep", "2", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["possible"] and out["intervals"][0][0] == pytest.approx(1.0) and out["intervals"][0][1] == \
        pytest.approx(2.0)
    spec = _write(tmp_path, {"objective": "spectral", "data": {"cov": [9.0] * 4}, "weight_decay": 1.5})
    res = run("advise", spec, "--moments", moments, "--keep", "2", "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["current_alive"] == 2


@pytest.mark.parametrize("args, needle", [
    (["--keep", "1"], "give a SPEC file"),
    (["--keep", "1", "--moments", "missing.npz"], "does not exist"),
    (["--keep", "1", "--order", "sextic", "--moments", "M"], "--order"),
])
def test_advise_misuse_exits_2_with_one_line(run, tmp_path: Path, args: list[str], needle: str) -> None:  # noqa: F811
    moments = write_moments(tmp_path / "m.npz", [2.0, 1.0], [0.1, 0.1])
    args = [moments if a == "M" else (str(tmp_path / a) if a.endswith(".npz") else a) for a in args]
    res = run("advise", *args)
    assert res.returncode == 2 and needle in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_advise_refuses_a_theory_gap(run, tmp_path: Path) -> None:  # noqa: F811
    spec = _write(tmp_path, {"objective": "simsiam", "similarity": "cosine", "depth": 2, "data": {"cov": [2.0, 1.0]}})
    res = run("advise", spec, "--keep", "1")
    assert res.returncode == 2 and "depth" in res.stderr and len(res.stderr.strip().splitlines()) == 1
