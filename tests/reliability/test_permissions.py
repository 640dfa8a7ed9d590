"""Files are created with the user's umask (0644 under 022), atomically — like any other tool, not mkstemp's 0600."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager

import numpy as np
import pytest

from sslscape.io import (
    append_jsonl,
    atomic_save_npy,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    current_umask,
)
from sslscape.training import load_config, train

from ._helpers import write_config


@contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664), (0o027, 0o640)])
def test_atomic_writers_follow_the_umask(tmp_path, mask, expected):
    with umask(mask):
        assert current_umask() == mask
        written = [atomic_write_text(tmp_path / "a.txt", "x"), atomic_write_bytes(tmp_path / "b.bin", b"x"),
                   atomic_write_json(tmp_path / "c.json", {"a": 1}), atomic_save_npy(tmp_path / "d.npy", np.ones(3))]
        append_jsonl(tmp_path / "e.jsonl", {"a": 1})
    for path in [*written, tmp_path / "e.jsonl"]:
        assert mode(path) == expected, path.name
    assert not list(tmp_path.glob(".*.tmp"))


def test_rewriting_a_private_file_of_an_older_version_makes_it_readable(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text("{}")
    path.chmod(0o600)
    with umask(0o022):
        atomic_write_json(path, {"b": 2})
    assert mode(path) == 0o644


def test_training_outputs_are_readable_by_collaborators(tmp_path):
    with umask(0o022):
        train(load_config(write_config(tmp_path, steps=20)), tmp_path / "run")
    files = [p for p in (tmp_path / "run").iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"checkpoint.pt", "metrics.jsonl", "summary.json", "embeddings.npy"}
    assert {p.name: mode(p) for p in files} == {p.name: 0o644 for p in files}


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = atomic_write_text(tmp_path / "f.txt", "old")

    def boom(fh):
        fh.write(b"half")
        raise OSError("disk full")

    from sslscape.io import atomic_write

    with pytest.raises(OSError):
        atomic_write(path, boom)
    assert path.read_text() == "old" and not list(tmp_path.glob(".*.tmp"))
