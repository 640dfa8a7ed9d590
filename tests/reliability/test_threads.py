"""Thread count: sslscape's default, SSLSCAPE_THREADS / OMP_NUM_THREADS / --threads, and no permanent change of the
caller's setting (docs/reliability.md; the measurements behind the default: benchmarks/bench_reliability.py)."""

from __future__ import annotations

import json
import os

import pytest
import torch

from sslscape.errors import UserError
from sslscape.threads import MAX_DEFAULT, default_threads, resolve_threads, torch_threads, usable_cpus
from sslscape.training import load_config, train
from sslscape.training import loop as train_module

from ._helpers import cli, sslscape, write_config


@pytest.fixture
def no_thread_env(monkeypatch):
    for var in ("SSLSCAPE_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_default_is_half_the_usable_cpus(no_thread_env, monkeypatch):
    assert default_threads() == max(1, min(MAX_DEFAULT, usable_cpus() // 2))
    for cpus, expected in [(1, 1), (2, 1), (3, 1), (4, 2), (16, 8), (128, MAX_DEFAULT)]:
        monkeypatch.setattr("sslscape.threads.usable_cpus", lambda c=cpus: c)
        assert default_threads() == expected
    assert resolve_threads() == default_threads()


def test_precedence_explicit_then_sslscape_then_omp(no_thread_env):
    no_thread_env.setenv("OMP_NUM_THREADS", "3")
    assert resolve_threads() == 3
    no_thread_env.setenv("SSLSCAPE_THREADS", "2")
    assert resolve_threads() == 2
    assert resolve_threads(5) == 5
    no_thread_env.setenv("SSLSCAPE_THREADS", "0")
    assert resolve_threads() is None  # torch's own default


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "", " ", "99999"])
def test_bad_values_are_one_line_errors(no_thread_env, bad):
    if not bad.strip():
        no_thread_env.setenv("SSLSCAPE_THREADS", bad)
        assert resolve_threads() == default_threads()  # empty = unset
        return
    no_thread_env.setenv("SSLSCAPE_THREADS", bad)
    with pytest.raises(UserError, match="SSLSCAPE_THREADS must be a whole number"):
        resolve_threads()


def test_torch_threads_restores_even_on_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        with torch_threads(before + 1):
            assert torch.get_num_threads() == before + 1
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_train_uses_the_setting_and_restores_the_callers(tmp_path, no_thread_env):
    seen = []
    before = torch.get_num_threads()
    train(load_config(write_config(tmp_path, steps=20)), threads=2,
          progress=lambda *a: seen.append(torch.get_num_threads()))
    assert seen and set(seen) == {2}
    assert torch.get_num_threads() == before


def test_cli_threads_option_and_env(tmp_path, monkeypatch):
    cfg = write_config(tmp_path, steps=20)
    seen = []
    real = train_module.train

    def spy(*args, **kwargs):
        seen.append(os.environ.get("SSLSCAPE_THREADS"))
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "train", spy)
    code, _, err = cli("--threads", "2", "train", str(cfg), "--out", str(tmp_path / "a"), "--quiet")
    assert code == 0, err
    assert seen == ["2"] and json.loads((tmp_path / "a" / "summary.json").read_text())["steps"] == 20
    code, _, err = cli("--threads", "-1", "train", str(cfg), "--out", str(tmp_path / "b"))
    assert code == 2 and err.count("\n") == 1
    # a fresh process, as a user starts it: the variable is read before anything else
    proc = sslscape("train", str(cfg), "--out", str(tmp_path / "c"), SSLSCAPE_THREADS="many")
    assert proc.returncode == 2 and "SSLSCAPE_THREADS must be a whole number" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not (tmp_path / "c").exists()


def test_cli_exports_the_thread_count_to_the_command(tmp_path, monkeypatch):
    """`sslscape --threads N` reaches torch, numpy's BLAS and the library before they start their pools."""
    from sslscape import cli

    seen = {}

    def fake_run(args):
        cli.get_app()  # build as main does
        cli.apply_threads(3)
        seen.update({v: os.environ.get(v) for v in ("SSLSCAPE_THREADS", *cli.THREAD_VARS)})
        return 0

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(cli, "_run", fake_run)
    with pytest.raises(SystemExit):
        cli.main(["--threads", "3", "predict", "x"])
    assert set(seen.values()) == {"3"}
    assert os.environ["OMP_NUM_THREADS"] == "1"  # main puts the caller's environment back
