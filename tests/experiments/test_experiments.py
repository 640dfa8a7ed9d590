"""Each of the nine experiments, at its tiny size, reproduces its claim on points far from every threshold.

The tiny grids are chosen so that (a) every point sits at least 10 % (relative) away from each critical value of
the axis it varies, so training converges to the predicted side in a couple of hundred steps, and (b) the points
have at least two different predicted ranks, so a trainer or a theory that answered a constant would fail.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from sslscape.experiments import EXPERIMENTS, PAPER, PAPER_RESULTS, get_experiment
from sslscape.experiments._theory import agrees
from sslscape.experiments.runner import RESULT_FILE

REQUIRED = {"name", "paper_result", "claim", "expected", "command", "size", "quick", "seeds", "points", "n_agree",
            "n_scored", "unsupported", "figures", "wall_s", "summary", "cache", "provenance", "extras"}
PROVENANCE = {"sslscape", "git_commit", "git_dirty", "python", "numpy", "torch", "platform", "machine", "cores",
              "date", "size", "quick", "seeds"}
MARGIN = 0.10  # relative distance of a tiny point from every critical value of the axis it varies


def relative_margin(point: dict) -> float:
    """min over the varied axes (weight decay, noise scale) and their positive critical values t of |x − t| / t."""
    margins = [np.inf]
    thresholds = point["theory"].get("thresholds") or {}
    for axis in ("weight_decay", "noise_scale"):
        crit = [t for t in (thresholds.get(f"critical_{axis}") or []) if t > 0]
        if axis in point["params"] and crit:
            x = point["params"][axis]
            margins.append(min(abs(x - t) / t for t in crit))
    return float(min(margins))


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    """Every experiment run once at its tiny size (one seed, in this process)."""
    out = tmp_path_factory.mktemp("tiny")
    return out, {name: get_experiment(name).run(out, seeds=[0], workers=1, size="tiny") for name in EXPERIMENTS}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_tiny_run_reproduces_the_claim(name, tiny_results):
    out, results = tiny_results
    result = results[name]
    assert result.n_scored >= 2, "a tiny run must score at least two points"
    assert result.n_agree == result.n_scored, [u["claim"] for u in result.unsupported]
    scored = [p for p in result.points if p["agree"] is not None]
    assert len({p["theory"]["rank"] for p in scored}) >= 2, "tiny points must predict different ranks"
    for p in scored:
        assert relative_margin(p) >= MARGIN, f"{p['label']} sits too close to a critical value"
        assert all(agrees(p["theory"], run["rank"]) for run in p["trained"])  # every seed, not just the majority


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_tiny_run_writes_its_result_with_provenance(name, tiny_results):
    out, results = tiny_results
    data = json.loads((out / name / RESULT_FILE).read_text())
    assert REQUIRED <= set(data) and data == results[name].to_dict()
    assert data["paper_result"] == PAPER_RESULTS[name] and data["size"] == "tiny" and data["seeds"] == [0]
    assert PROVENANCE <= set(data["provenance"]) and data["provenance"]["seeds"] == [0]
    assert data["n_scored"] == sum(p["agree"] is not None for p in data["points"])
    for point in data["points"]:
        assert {"params", "label", "theory", "trained", "trained_rank", "agree"} <= set(point)
        assert [run["seed"] for run in point["trained"]] == [0]
    for u in data["unsupported"]:
        assert set(u) == {"claim", "reason"}
    for fig in data["figures"]:
        assert (out / name / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not data["cache"]["cached"] and data["cache"]["from_cache"] == 0


def test_figures_staircase_is_the_pointwise_theory(tiny_results):
    """The figures draw the theory's rank from the critical values (r(γ) = #{k: γ*_k > γ}); at every tiny point
    whose answering solver's own thresholds are global that count is the point's own theory count (depth ≥ 2 from
    the trainer's start shows the quartic order's values beside its answer: not counted)."""
    _, results = tiny_results
    checked = 0
    for result in results.values():
        for p in result.points:
            thresholds = p["theory"].get("thresholds") or {}
            crit = thresholds.get("critical_weight_decay")
            own = thresholds.get("order") == p["theory"].get("order")  # the values decide this answer's count
            if own and thresholds.get("kind") == "global" and "weight_decay" in p["params"] and crit:
                count = sum(t > p["params"]["weight_decay"] for t in crit)
                assert min(count, len(p["theory"]["spectrum"])) == p["theory"]["alive"], p["label"]
                checked += 1
    assert checked >= 6


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_declaration_cites_the_paper_and_has_three_sizes(name):
    exp = get_experiment(name)
    module = __import__(f"sslscape.experiments.{name}", fromlist=["x"])
    assert f"arXiv:{PAPER['arxiv']}" in module.__doc__ and "Command:" in module.__doc__
    assert set(exp.sizes) == {"tiny", "quick", "full"} and exp.name == name
    assert pickle.loads(pickle.dumps(exp.train_point)) is not None  # workers receive it pickled (by reference)
    assert exp.command("quick", "out") == f"sslscape reproduce {name} --quick --out out"


def test_unknown_experiment_lists_valid_names():
    from sslscape.errors import UserError

    with pytest.raises(UserError, match="augmentation_collapse"):
        get_experiment("nope")
