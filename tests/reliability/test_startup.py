"""Start-up stays cheap: which heavy modules each kind of call imports (timings: benchmarks/bench_reliability.py
startup — never timed assertions)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ._helpers import ROOT

PROBE = """
import json, sys
from sslscape.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = ("torch", "numpy", "scipy", "rich", "pydantic", "matplotlib", "sklearn")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)
"""


def run_probe(*args: str) -> tuple[list[str], str]:
    """`sslscape ARGS` in a fresh process: (the heavy modules it imported, its stdout)."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    return json.loads(proc.stderr.strip().splitlines()[-1]), proc.stdout


def imported(*args: str) -> list[str]:
    return run_probe(*args)[0]


def test_version_imports_nothing_heavy():
    assert imported("--version") == []


def test_help_imports_neither_torch_nor_numpy_nor_rich():
    assert imported("--help") == []
    # a command's help: typer (≥ 0.2x) builds its parameter converters with pydantic; nothing else
    assert set(imported("train", "--help")) <= {"pydantic"}


@pytest.mark.parametrize("command", ["predict", "phase", "advise", "train", "compare", "diagnose", "estimate",
                                     "projector", "explore", "reproduce"])
def test_every_command_is_registered_and_its_help_stays_light(command):
    modules, stdout = run_probe(command, "--help")
    assert f"Usage: sslscape {command}" in stdout
    assert set(modules) <= {"pydantic"}


@pytest.mark.parametrize("spec", [
    {"objective": "spectral", "data": {"cov": [4, 3, 2, 1]}, "augmentation": {"noise_cov": [0.5] * 4},
     "weight_decay": 1.5},
    {"objective": "infonce", "similarity": "euclidean", "data": {"cov": [1.0, 0.5, 0.2]}, "weight_decay": 0.1},
    {"objective": "spectral", "data": {"cov": [[2.0, 0.5], [0.5, 1.0]]}, "augmentation": {"noise_scale": 0.3},
     "weight_decay": 0.2},
])
def test_closed_form_predict_does_not_import_torch(tmp_path, spec):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    mods = imported("predict", str(path), "--json")
    assert "torch" not in mods and "numpy" in mods
