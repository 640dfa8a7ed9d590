"""The one runner: provenance in every result, the one agreement rule, cached reruns, --force and resumption,
and results that accumulate in summary.json and report.html. A fake experiment keeps these tests instant."""

from __future__ import annotations

import json
import platform
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import sslscape
from sslscape.errors import UserError
from sslscape.experiments import provenance as prov
from sslscape.experiments._sweep import POINTS_FILE
from sslscape.experiments.outputs import load_results, write_outputs
from sslscape.experiments.runner import RESULT_FILE, Experiment, majority, size

CALLS: list[tuple[int, int]] = []


def fake_train(params: dict, seed: int) -> dict:
    """'Training' that returns a given rank (module-level, as the runner requires); counts its calls."""
    CALLS.append((params["x"], seed))
    return {"rank": params["trained"] if seed != 99 else 0, "spectrum": [1.0] * params["trained"]}


def fake_theory(params: dict, ctx) -> dict:
    # a predicted spectrum with `predicted` directions at 1 and the rest at 0: the collapse rule cuts it there
    return {"rank": params["predicted"], "spectrum": [1.0] * params["predicted"] + [0.0] * (6 - params["predicted"])}


def fake_figure(points: list[dict], ctx, path: Path) -> Path:
    path.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    return path


def fake_experiment(name: str = "weight_decay_collapse", points=((0, 3, 3), (1, 2, 2), (2, 4, 1)),
                    scored=None) -> Experiment:
    """Points (x, predicted rank, trained rank); its name must be a registered one for the report to read it."""
    return Experiment(
        name=name, paper_result="a fake result", claim="ranks agree", expected="they do",
        sizes={"tiny": size(1, 1), "quick": size(1, 2), "full": size(1, 3)},
        grid=lambda ctx: [{"x": x, "predicted": p, "trained": t} for x, p, t in points],
        train_point=fake_train, theory=fake_theory, label=lambda p: f"x = {p['x']}", figure=fake_figure,
        summary=lambda pts, ctx: f"{len(pts)} points", scored=scored)


def test_the_one_agreement_rule_scores_each_point(tmp_path):
    res = fake_experiment().run(tmp_path, size="tiny", workers=1)
    assert [p["agree"] for p in res.points] == [True, True, False]
    assert (res.n_agree, res.n_scored) == (2, 3)
    assert res.unsupported == ({"claim": "x = 2: trained rank 1 vs predicted 4",
                                "reason": "training did not reach the predicted rank within the step budget"},)
    unscored = fake_experiment(scored=lambda p: p["x"] != 2).run(tmp_path / "u", size="tiny", workers=1)
    assert [p["agree"] for p in unscored.points] == [True, True, None] and unscored.n_scored == 2


def test_majority_over_seeds_breaks_ties_low():
    assert majority([3, 3, 1]) == 3 and majority([2, 1]) == 1


def test_result_records_provenance(tmp_path):
    res = fake_experiment().run(tmp_path, size="quick", workers=1)
    data = json.loads((tmp_path / res.name / RESULT_FILE).read_text())
    p = data["provenance"]
    assert p["sslscape"] == sslscape.__version__ and p["python"] == platform.python_version()
    assert p["numpy"] == np.__version__ and p["torch"] == torch.__version__
    assert p["machine"] == platform.machine() and p["cores"] >= 1 and p["platform"]
    assert (p["size"], p["quick"], p["seeds"]) == ("quick", True, [0, 1]) and data["seeds"] == [0, 1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", p["date"])
    head = subprocess.run(["git", "-C", str(Path(sslscape.__file__).parent), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=False)
    expected = head.stdout.strip() if head.returncode == 0 else "unknown"
    assert p["git_commit"] == expected
    assert data["command"].startswith(f"sslscape reproduce {res.name} --quick --out ")


def test_git_commit_is_unknown_outside_a_checkout(monkeypatch):
    monkeypatch.setattr(prov, "_git", lambda *args: None)
    prov.git_state.cache_clear()
    try:
        assert prov.provenance("full")["git_commit"] == "unknown"
        assert prov.provenance("full")["quick"] is False
    finally:
        prov.git_state.cache_clear()


def test_rerun_is_cached_force_recomputes_and_a_partial_run_resumes(tmp_path):
    exp = fake_experiment()
    CALLS.clear()
    first = exp.run(tmp_path, size="tiny", workers=1)
    assert len(CALLS) == 3 and not first.cached and first.cache["from_cache"] == 0
    CALLS.clear()
    again = exp.run(tmp_path, size="tiny", workers=1)
    points = tmp_path / exp.name / POINTS_FILE
    assert CALLS == [] and again.cached and again.cache["from_cache"] == again.cache["jobs"] == 3
    assert again.cache["computed"] == prov.utc_of_mtime(points)  # when the records were written, not now
    assert [p["agree"] for p in again.points] == [p["agree"] for p in first.points]
    CALLS.clear()
    forced = exp.run(tmp_path, size="tiny", workers=1, force=True)
    assert len(CALLS) == 3 and not forced.cached
    points.write_text("\n".join(points.read_text().splitlines()[:2]) + "\n")  # as if killed after two points
    CALLS.clear()
    resumed = exp.run(tmp_path, size="tiny", workers=1)
    assert len(CALLS) == 1 and not resumed.cached and resumed.cache["from_cache"] == 2


def test_progress_reaches_the_total(tmp_path):
    seen = []
    fake_experiment().run(tmp_path, size="tiny", workers=1, progress=lambda d, t, info="": seen.append((d, t)))
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)


def test_unknown_size_and_clashing_setting_are_refused(tmp_path):
    with pytest.raises(UserError, match="tiny, quick, full"):
        fake_experiment().run(tmp_path, size="huge", workers=1)
    with pytest.raises(ValueError, match="settings"):
        size(1, 1, settings=(1,))


def test_results_accumulate_in_summary_and_report(tmp_path):
    fake_experiment("weight_decay_collapse").run(tmp_path, size="tiny", workers=1)
    fake_experiment("bias", points=((0, 2, 2),)).run(tmp_path, size="tiny", workers=1)
    (tmp_path / "depth").mkdir()
    (tmp_path / "depth" / RESULT_FILE).write_text("{torn")  # a broken result is left out and said, never fatal
    summary_path, report_path, problems = write_outputs(tmp_path, prov.provenance("tiny"))
    summary = json.loads(summary_path.read_text())
    assert list(summary["experiments"]) == ["weight_decay_collapse", "bias"]  # the paper's order
    assert summary["total"] == {"n_agree": 3, "n_scored": 4, "experiments": 2}
    assert summary["paper"]["arxiv"] == "2210.00638" and "git_commit" in summary["provenance"]
    assert all("git_commit" in e["provenance"] for e in summary["experiments"].values())
    assert len(problems) == 1 and "depth" in problems[0] and "--force" in problems[0]
    html = report_path.read_text()
    assert "id='weight_decay_collapse'" in html and "id='bias'" in html and "3 of 4 scored points" in html
    assert "arXiv:2210.00638" in html and "ICLR 2023" in html
    results, _ = load_results(tmp_path)
    assert [r["name"] for r in results] == ["weight_decay_collapse", "bias"]
