"""Crash safety of `sslscape train` (docs/reliability.md): one run interrupted seven times — SIGKILL inside a metrics
append (before any checkpoint), inside a checkpoint write, between keeping the previous checkpoint and writing the
new one, between the final outputs and inside the summary write; SIGINT and SIGTERM between checkpoints — each
followed by `--resume`; the end state equals an uninterrupted run bit for bit (weights, optimiser, metrics.jsonl,
embeddings, summary). Plus: corrupt and truncated checkpoints, `--resume` on a finished run, torn metrics lines.

The interruptions land deterministically through the fault hook `sslscape.io.fault_point` (SSLSCAPE_FAULT=NAME:K
[:ACTION]): the process signals itself the K-th time it reaches point NAME, leaving the file it was writing half
written. Every interruption is a real `sslscape train` process (they are the slow part of this file).
"""

from __future__ import annotations

import json
import signal
import warnings

import numpy as np
import pytest
import torch

from sslscape.errors import UserError
from sslscape.io import LOCK_FILE
from sslscape.training import load_config, train
from sslscape.training.checkpoint import PREVIOUS, CheckpointWarning, read_checkpoint

from ._helpers import cli, sslscape, write_config

pytestmark = pytest.mark.slow

# (SSLSCAPE_FAULT, exit status, checkpoint step on disk afterwards, what the process had done when it stopped).
# 60 steps, metrics every 10, checkpoints at 20/40/60; each resumed process counts its own hits.
STOPS = [
    ("metrics-append:2", -signal.SIGKILL, None, "half of the step-20 metrics line written, no checkpoint yet"),
    ("checkpoint-write:2", -signal.SIGKILL, 20, "the step-40 checkpoint half written to its temporary file"),
    ("step:15:int", 130, 20, "Ctrl-C at step 35 (resumed at 20)"),
    ("checkpoint-rotate:1", -signal.SIGKILL, 20, "step 40: the previous checkpoint kept, the new one not written"),
    ("step:25:term", 143, 40, "SIGTERM at step 45 (resumed at 20)"),
    ("final-outputs:1", -signal.SIGKILL, 60, "step 60 done, embeddings.npy written, summary.json not"),
    ("summary-write:1", -signal.SIGKILL, 60, "summary.json half written to its temporary file"),
]


def _state(folder):
    ckpt = read_checkpoint(folder / "checkpoint.pt")
    return ckpt["model"], ckpt["optimizer"]["state"], ckpt["step"]


def _same_tensors(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and torch.equal(a, b)
    return a == b


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of the same config, in this process (one thread, like the CLI runs below)."""
    folder = tmp_path_factory.mktemp("reference")
    cfg_path = write_config(folder)
    train(load_config(cfg_path), folder / "run")
    return folder / "run"


@pytest.mark.xdist_group("crash")
def test_interrupted_seven_times_resumes_bit_identically(tmp_path, reference):
    cfg = write_config(tmp_path)
    out = tmp_path / "run"
    args = ["train", str(cfg), "--out", str(out), "--quiet"]
    again = f"resume with: sslscape train {cfg} --out {out} --resume"
    for i, (fault, code, on_disk, where) in enumerate(STOPS):
        proc = sslscape(*args, *(["--resume"] if i else []), fault=fault)
        assert proc.returncode == code, f"{fault} ({where}) was not reached: {proc.stderr[-400:]}"
        step = read_checkpoint(out / "checkpoint.pt")["step"] if on_disk is not None else None
        assert step == on_disk, (fault, step)
        if fault.startswith("metrics-append"):
            assert not (out / "checkpoint.pt").exists()
            last = (out / "metrics.jsonl").read_text().splitlines()[-1]
            with pytest.raises(json.JSONDecodeError):
                json.loads(last)  # a torn line is really there
        if fault.startswith("checkpoint-write"):
            assert list(out.glob(".checkpoint.pt.*.tmp")), "the kill should leave a half-written temporary file"
        if code > 0:  # SIGINT / SIGTERM: one line naming the last checkpoint and the command that resumes
            name, at = ("SIGINT", 35) if code == 130 else ("SIGTERM", 45)
            assert proc.stderr.strip().splitlines()[bool(i):] == [  # after a resume: its "resumed from …" line
                f"stopped by {name} at step {at} of 60; last checkpoint {out / 'checkpoint.pt'} (step {on_disk}); "
                f"{again}"], proc.stderr
        if fault.startswith("final-outputs"):
            assert (out / "embeddings.npy").is_file() and not (out / "summary.json").exists()
    done = sslscape(*args, "--resume")
    assert done.returncode == 0, done.stderr
    assert not list(out.glob(".*.tmp")), "stale temporaries are cleaned up on resume"
    model, opt_state, step = _state(out)
    ref_model, ref_opt, ref_step = _state(reference)
    assert step == ref_step == 60
    assert _same_tensors(model, ref_model) and _same_tensors(opt_state, ref_opt)
    assert (out / "metrics.jsonl").read_text() == (reference / "metrics.jsonl").read_text()
    assert np.array_equal(np.load(out / "embeddings.npy"), np.load(reference / "embeddings.npy"))
    summary, ref_summary = (json.loads((d / "summary.json").read_text()) for d in (out, reference))
    for key in ("steps", "final_loss", "spectrum", "effective_rank", "rank", "knn_accuracy", "config_hash"):
        assert summary[key] == ref_summary[key], key

    # --resume once more (in this process: the same code path without another start-up): nothing changes
    def files():  # every output, bytes and modification time (the lock file is bookkeeping: its pid changes)
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()
                if p.is_file() and p.name != LOCK_FILE}

    before = files()
    code, stdout, stderr = cli(*args, "--resume")
    assert code == 0 and "nothing changed" in stdout and not stderr, stdout + stderr
    assert files() == before


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupt_checkpoint_is_reported_and_the_previous_one_used(tmp_path, reference, damage):
    cfg = load_config(write_config(tmp_path))
    out = tmp_path / "run"
    train(cfg, out, stop_after=40)  # checkpoints at 20 (now checkpoint.prev.pt) and 40
    path = out / "checkpoint.pt"
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:  # one flipped bit inside the stored tensors: only the checksum can tell
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    with pytest.warns(CheckpointWarning, match=r"checkpoint\.pt.*(corrupt|truncated).*previous checkpoint.*step 20"):
        train(cfg, out, resume=True)
    assert (out / "checkpoint.pt.corrupt").is_file()
    model, _, _ = _state(out)
    assert _same_tensors(model, _state(reference)[0])
    assert (out / "metrics.jsonl").read_text() == (reference / "metrics.jsonl").read_text()


def test_both_checkpoints_corrupt_is_one_line(tmp_path):
    cfg = load_config(write_config(tmp_path))
    out = tmp_path / "run"
    train(cfg, out, stop_after=40)
    for name in ("checkpoint.pt", PREVIOUS):
        (out / name).write_bytes((out / name).read_bytes()[:100])
    with pytest.raises(UserError, match="no usable checkpoint") as err:
        train(cfg, out, resume=True)
    assert "\n" not in str(err.value)


def test_corrupt_checkpoint_warning_on_the_command_line(tmp_path):
    cfg = write_config(tmp_path, steps=40)
    out = tmp_path / "run"
    train(load_config(cfg), out, stop_after=40)
    (out / "checkpoint.pt").write_bytes(b"PK\x03\x04 not really a zip")
    code, _, stderr = cli("train", str(cfg), "--out", str(out), "--quiet", "--resume")
    assert code == 0, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("warning: checkpoint") and "step 20" in lines[0]
    assert lines[1] == f"resumed from step 20 of 40 (checkpoint {out / 'checkpoint.prev.pt'})"


def test_resume_on_a_finished_run_changes_nothing(tmp_path):
    cfg = load_config(write_config(tmp_path, steps=20))
    out = tmp_path / "run"
    first = train(cfg, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    again = train(cfg, out, resume=True)
    assert again.already_finished and not first.already_finished
    assert again.final_loss == first.final_loss and again.rank == first.rank
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    summary = json.loads((out / "summary.json").read_text())  # strict JSON: no NaN anywhere
    json.dumps(summary, allow_nan=False)


@pytest.mark.parametrize("tail", ['{"step": 40, "loss": 1.2', '{"step": ', "\x00\x00\x00", '{"step": "x"}', "[1, 2"])
def test_torn_last_metrics_line_never_breaks_resume(tmp_path, reference, tail):
    cfg = load_config(write_config(tmp_path))
    out = tmp_path / "run"
    train(cfg, out, stop_after=40)
    with open(out / "metrics.jsonl", "a") as fh:
        fh.write(tail)
    train(cfg, out, resume=True)
    assert (out / "metrics.jsonl").read_text() == (reference / "metrics.jsonl").read_text()


def test_checkpoints_load_with_weights_only_and_carry_checksum_and_config_hash(tmp_path):
    cfg = load_config(write_config(tmp_path, steps=20))
    res = train(cfg, tmp_path / "run")
    raw = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)  # nothing in it can run code
    assert raw["config_hash"] == res.config_hash and len(raw["checksum"]) == 64
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_checkpoint(tmp_path / "run" / "checkpoint.pt")


def test_a_checkpoint_holding_code_is_refused(tmp_path):
    import os

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    out = tmp_path / "run"
    out.mkdir()
    torch.save({"version": 3, "evil": Evil()}, out / "checkpoint.pt")
    with pytest.raises(UserError, match="truncated or corrupt|no usable checkpoint"):
        train(load_config(write_config(tmp_path, steps=20)), out, resume=True)
