"""Resumability: finished points are skipped; a torn last line (a killed run) is ignored and redone."""

from __future__ import annotations

import json

import pytest

from sslscape.experiments import weight_decay_collapse as wd
from sslscape.experiments._sweep import POINTS_FILE, Point, load_records, run_sweep
from sslscape.io import append_jsonl

CALLS: list[tuple] = []


def square(params: dict, seed: int) -> dict:
    CALLS.append((params["x"], seed))
    return {"y": params["x"] ** 2 + seed}


def test_rerun_skips_finished_points(tmp_path):
    points = [Point({"x": x}, s) for x in range(4) for s in (0, 1)]
    CALLS.clear()
    first = run_sweep(square, points, tmp_path, workers=1)
    assert len(CALLS) == 8 and len(first) == 8
    CALLS.clear()
    again = run_sweep(square, points, tmp_path, workers=1)
    assert CALLS == [] and again == first


def test_killed_run_resumes(tmp_path):
    points = [Point({"x": x}, 0) for x in range(5)]
    run_sweep(square, points, tmp_path, workers=1)
    path = tmp_path / POINTS_FILE
    lines = path.read_text().splitlines()
    # simulate a kill: two records done, the third torn mid-write
    path.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][: len(lines[2]) // 2])
    assert len(load_records(path)) == 2
    CALLS.clear()
    done = run_sweep(square, points, tmp_path, workers=1)
    assert sorted(c[0] for c in CALLS) == [2, 3, 4]
    assert {r["result"]["y"] for r in done.values()} == {0, 1, 4, 9, 16}
    for line in path.read_text().splitlines()[3:]:
        json.loads(line)  # every appended line is whole


def test_append_is_one_line(tmp_path):
    path = tmp_path / "p.jsonl"
    append_jsonl(path, {"key": "a", "v": 1})
    append_jsonl(path, {"key": "b", "v": 2})
    assert [json.loads(x)["key"] for x in path.read_text().splitlines()] == ["a", "b"]


def test_experiment_resume_after_truncation(tmp_path):
    wd.run(tmp_path, seeds=[0], workers=1, size=wd.TINY)
    path = tmp_path / wd.NAME / POINTS_FILE
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n")
    res = wd.run(tmp_path, seeds=[0], workers=1, size=wd.TINY)
    assert len(res.points) == 2 and len(path.read_text().splitlines()) == 2


def test_process_pool_runs_points(tmp_path):
    points = [Point({"x": x}, 0) for x in range(3)]
    done = run_sweep(square, points, tmp_path, workers=2)
    assert sorted(r["result"]["y"] for r in done.values()) == [0, 1, 4]


def test_ray_backend(tmp_path):
    pytest.importorskip("ray")
    points = [Point({"x": x}, 0) for x in range(3)]
    done = run_sweep(square, points, tmp_path, workers=2, use_ray=True)
    assert sorted(r["result"]["y"] for r in done.values()) == [0, 1, 4]
