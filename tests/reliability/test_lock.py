"""One process per output folder: a second `train` (or sweep) on the same folder refuses in one line; a lock left
by a killed process never blocks (flock dies with its holder)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from sslscape.errors import UserError
from sslscape.experiments._sweep import Point, run_sweep
from sslscape.io import LOCK_FILE, folder_lock
from sslscape.training import load_config, train

from ._helpers import ROOT, cli, write_config

HOLD = """
import sys, time
from sslscape.io import folder_lock
with folder_lock(sys.argv[1], "training run"):
    print("locked", flush=True)
    time.sleep(600)
"""


def _holder(folder):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_process_refuses_then_a_killed_holder_releases(tmp_path):
    """The holder is another process; `sslscape train` runs in this one (the lock is per process either way)."""
    cfg = write_config(tmp_path, steps=20)
    out = tmp_path / "run"
    holder = _holder(out)
    try:
        code, _, err = cli("train", str(cfg), "--out", str(out), "--quiet")
        assert code == 2
        assert err.count("\n") == 1
        assert f"is in use by another sslscape training run (pid {holder.pid})" in err
        assert "another --out" in err
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (out / LOCK_FILE).is_file()  # the killed holder's lock file is still there …
    code, _, err = cli("train", str(cfg), "--out", str(out), "--quiet")
    assert code == 0, err  # … and does not block


def test_lock_in_one_process_blocks_train_and_sweep(tmp_path):
    with folder_lock(tmp_path / "a", "training run"):
        with pytest.raises(UserError, match="in use by another sslscape training run"):
            train(load_config(write_config(tmp_path, steps=20)), tmp_path / "a")
    with folder_lock(tmp_path / "s", "sweep"):
        with pytest.raises(UserError, match="in use by another sslscape sweep"):
            run_sweep(_square, [Point({"x": 1}, 0)], tmp_path / "s", workers=1)
    assert run_sweep(_square, [Point({"x": 3}, 0)], tmp_path / "s", workers=1)  # released afterwards


def test_lock_is_released_on_error_and_reacquired(tmp_path):
    with pytest.raises(RuntimeError):
        with folder_lock(tmp_path, "run"):
            raise RuntimeError("boom")
    with folder_lock(tmp_path, "run"):
        assert (tmp_path / LOCK_FILE).read_text().strip() == str(os.getpid())


def test_stale_lock_file_with_a_dead_pid_does_not_block(tmp_path):
    (tmp_path / LOCK_FILE).write_text("999999\n")  # written by a process long gone
    t0 = time.perf_counter()
    with folder_lock(tmp_path, "run"):
        pass
    assert time.perf_counter() - t0 < 5


def _square(params, seed):
    return {"y": params["x"] ** 2}
