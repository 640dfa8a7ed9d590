"""Resumability: finished points are skipped; a torn last line (a killed run) is ignored and redone. The Ray path
runs for real (local `ray.init`, 2 CPUs, no dashboard): a worker killed mid-sweep, a point that keeps killing its
worker, and a driver killed mid-sweep — each resumed without lost or duplicated points."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

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


def die_once(params: dict, seed: int) -> dict:
    """Kills its own worker process the first time it meets x = 2 (a marker file remembers), like a preempted node."""
    marker = Path(params["marker"])
    if params["x"] == params["kill_at"] and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return {"y": params["x"] ** 2 + seed}


def always_dies(params: dict, seed: int) -> dict:
    """Kills its worker every time while the `poison` file exists (an input that crashes its worker)."""
    if params["x"] == 1 and Path(params["poison"]).exists():
        os.kill(os.getpid(), signal.SIGKILL)
    return {"y": params["x"] ** 2 + seed}


def _one_record_per_point(path, keys):
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert sorted(r["key"] for r in recs) == sorted(keys), "every point exactly once, no duplicate"


@pytest.fixture(scope="module")
def ray_session():
    """A local Ray instance as `sslscape reproduce --ray` starts it (2 CPUs, no dashboard). Ray gives its raylet a
    fixed 30 s to register; on a heavily loaded machine that can pass, so start-up is tried three times."""
    ray = pytest.importorskip("ray")
    for attempt in range(3):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
            break
        except Exception:  # "The current node timed out during startup"
            ray.shutdown()
            if attempt == 2:
                raise
    yield ray
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one Ray instance (the module fixture) in one worker
def test_ray_backend(tmp_path, ray_session):
    points = [Point({"x": x}, 0) for x in range(3)]
    done = run_sweep(square, points, tmp_path, workers=2, use_ray=True)
    assert sorted(r["result"]["y"] for r in done.values()) == [0, 1, 4]


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one Ray instance (the module fixture) in one worker
def test_ray_worker_killed_mid_sweep_is_retried_without_duplicates(tmp_path, ray_session):
    marker = tmp_path / "killed"
    points = [Point({"x": x, "kill_at": 2, "marker": str(marker)}, s) for x in range(5) for s in (0, 1)]
    done = run_sweep(die_once, points, tmp_path / "sweep", workers=2, use_ray=True)
    assert marker.exists(), "a worker was killed"
    assert sorted(r["result"]["y"] for r in done.values()) == sorted(x * x + s for x in range(5) for s in (0, 1))
    _one_record_per_point(tmp_path / "sweep" / POINTS_FILE, [p.key for p in points])


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one Ray instance (the module fixture) in one worker
def test_ray_point_that_keeps_killing_its_worker_fails_alone_and_resumes(tmp_path, ray_session):
    from sslscape.errors import UserError

    poison = tmp_path / "poison"
    poison.write_text("")
    points = [Point({"x": x, "poison": str(poison)}, 0) for x in range(4)]
    with pytest.raises(UserError, match=r"1 of 4 sweep point\(s\) failed on Ray .*run the sweep again") as err:
        run_sweep(always_dies, points, tmp_path / "sweep", workers=2, use_ray=True)
    assert "\n" not in str(err.value)
    assert len(load_records(tmp_path / "sweep" / POINTS_FILE)) == 3  # the other points are kept
    poison.unlink()
    done = run_sweep(always_dies, points, tmp_path / "sweep", workers=2, use_ray=True)
    assert sorted(r["result"]["y"] for r in done.values()) == [0, 1, 4, 9]
    _one_record_per_point(tmp_path / "sweep" / POINTS_FILE, [p.key for p in points])


DRIVER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
import ray
from sslscape.experiments._sweep import Point, run_sweep
from tests.experiments.test_sweep import slow_square

ray.init(address=sys.argv[3], log_to_driver=False)  # the test's Ray instance: a second start-up costs 10-30 s

points = [Point({"x": x}, 0) for x in range(8)]
run_sweep(slow_square, points, Path(sys.argv[1]), workers=2, use_ray=True)
"""


def slow_square(params: dict, seed: int) -> dict:
    import time

    time.sleep(0.5)
    return {"y": params["x"] ** 2}


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one Ray instance (the module fixture) in one worker
def test_ray_driver_killed_mid_sweep_resumes_without_lost_or_duplicated_points(tmp_path, ray_session):
    pytest.importorskip("ray")
    import time

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "sweep"
    path = out / POINTS_FILE
    address = ray_session.get_runtime_context().gcs_address
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(out), str(root), address], cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and len(load_records(path)) < 3:
            if driver.poll() is not None:
                break
            time.sleep(0.2)
        assert driver.poll() is None, "the sweep finished before it could be killed"
        driver.send_signal(signal.SIGKILL)  # the whole driver, mid-sweep
    finally:
        driver.wait()
    recorded = len(load_records(path))
    assert 3 <= recorded < 8
    points = [Point({"x": x}, 0) for x in range(8)]
    done = run_sweep(slow_square, points, out, workers=2, use_ray=True)
    assert sorted(r["result"]["y"] for r in done.values()) == [x * x for x in range(8)]
    _one_record_per_point(path, [p.key for p in points])


def test_two_sweeps_on_one_folder_the_second_refuses(tmp_path):
    from sslscape.errors import UserError
    from sslscape.io import folder_lock

    with folder_lock(tmp_path, "sweep"):
        with pytest.raises(UserError, match="in use by another sslscape sweep"):
            run_sweep(square, [Point({"x": 1}, 0)], tmp_path, workers=1)
