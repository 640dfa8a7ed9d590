"""sslscape installs beside lightly, stable-pretraining or a CUDA torch: its metadata states lower bounds only.

An exact pin (`torch==2.13.0`) in a library's dependencies makes pip replace the user's torch (a CUDA build, or the
one lightly brought) or refuse to resolve. The Makefile installs the CPU build it tests with before the package; the
package itself only says which versions it was tested down to (README, "Install into an existing environment").
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11; the package itself supports 3.10

ROOT = Path(__file__).resolve().parents[1]
OLDEST_TESTED_TORCH = "2.5"  # README: the suite passed on torch 2.5.1 (CUDA build on CPU) and 2.13.0 (CPU build)


def _runtime_requirements(lines: list[str]) -> list[Requirement]:
    reqs = [Requirement(line) for line in lines]
    return [r for r in reqs if r.marker is None or "extra" not in str(r.marker)]


def _exact_pins(reqs: list[Requirement]) -> list[str]:
    return [str(r) for r in reqs if any(s.operator in ("==", "===") for s in r.specifier)]


def test_pyproject_states_lower_bounds_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = _runtime_requirements(project["dependencies"])
    assert _exact_pins(reqs) == [], "a library pins no exact version (see README, install beside lightly)"
    torch = next(r for r in reqs if r.name == "torch")
    assert {s.operator for s in torch.specifier} <= {">=", "<", "!="}
    assert any(s.operator == ">=" and s.version == OLDEST_TESTED_TORCH for s in torch.specifier), torch


def test_installed_metadata_carries_no_exact_pin() -> None:
    """What pip sees in an environment (the installed distribution's Requires-Dist), not only the source file."""
    reqs = _runtime_requirements(importlib.metadata.requires("sslscape") or [])
    assert reqs and _exact_pins(reqs) == []


def test_the_makefile_still_installs_the_cpu_build_it_tests_with() -> None:
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"pip install -q torch==\d+\.\d+\.\d+", make)
    assert make.index("torch==") < make.index('-e ".[')  # torch first, so the package's bound is already met


def test_the_check_can_fail() -> None:
    assert _exact_pins(_runtime_requirements(["torch==2.13.0", "numpy>=1.26"])) == ["torch==2.13.0"]
    assert _exact_pins(_runtime_requirements(['pytest==8.0; extra == "dev"'])) == []
