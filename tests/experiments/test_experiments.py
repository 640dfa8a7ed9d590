"""Every experiment runs at a tiny size and writes a result JSON with the required keys."""

from __future__ import annotations

import importlib
import json

import pytest

from sslscape.experiments import EXPERIMENTS, get_experiment
from sslscape.experiments._common import RESULT_FILE

REQUIRED = {"name", "claim", "command", "quick", "seeds", "points", "n_agree", "n_scored", "unsupported",
            "figures", "wall_s", "summary"}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_tiny_run_writes_required_keys(name, tmp_path):
    module = importlib.import_module(f"sslscape.experiments.{name}")
    assert module.__doc__ and "Command:" in module.__doc__ and "Expected:" in module.__doc__
    assert hasattr(module, "QUICK") and hasattr(module, "FULL")
    result = module.run(tmp_path, quick=True, seeds=[0], workers=1, size=module.TINY)
    data = json.loads((tmp_path / name / RESULT_FILE).read_text())
    assert REQUIRED <= set(data)
    assert data["n_scored"] == sum(p["agree"] is not None for p in data["points"])
    assert 0 <= data["n_agree"] <= data["n_scored"]
    for point in data["points"]:
        assert {"params", "theory", "trained", "agree"} <= set(point)
        assert all("seed" in run for run in point["trained"])
    for u in data["unsupported"]:
        assert set(u) == {"claim", "reason"}
    assert all((tmp_path / name / f.split("/")[-1]).is_file() for f in data["figures"])
    assert result.to_dict()["name"] == name


def test_unknown_experiment_lists_valid_names():
    from sslscape.errors import UserError

    with pytest.raises(UserError, match="augmentation_collapse"):
        get_experiment("nope")
