"""Atomic, checksummed checkpoints that load with `torch.load(..., weights_only=True)`.

A checkpoint holds everything the next step depends on — model, EMA target, optimiser state, the run's generator,
the step, the open metrics window, the last logged loss and the training time so far — plus the config's
trajectory hash (so that `resume` refuses a checkpoint from another config) and a SHA-256 of all of it (so that a
truncated or bit-flipped file is recognised instead of resumed from). Only tensors, numbers, strings, lists and
dicts are stored: `torch.load(path, weights_only=True)` reads it, and nothing in it can run code.

Writing: the new file goes to a temporary file, is fsync'ed and renamed over OUT/checkpoint.pt; just before that
the previous checkpoint is kept as OUT/checkpoint.prev.pt (a hard link, so at every instant both names hold a
complete file). `load_latest` takes checkpoint.pt, or — when it is missing, truncated or corrupt — the previous
one, with a warning that says so. Global RNGs are neither used nor touched.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch

from ..errors import UserError
from ..io import (  # noqa: F401  (re-exported: the loop writes its outputs through these)
    atomic_save_npy,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    fault_fire,
    fault_point,
    torch_load_errors,
)

CHECKPOINT = "checkpoint.pt"
PREVIOUS = "checkpoint.prev.pt"
FORMAT_VERSION = 3


class CheckpointWarning(UserWarning):
    """A checkpoint could not be used (truncated, corrupt) and an older one was taken instead."""


class CorruptCheckpoint(UserError):
    """A checkpoint file is unreadable, truncated, or its checksum does not match its contents."""


def rng_state(gen: torch.Generator) -> dict[str, Any]:
    """The run's generator state: every random draw of a run comes from it (no global RNG is used or changed)."""
    return {"generator": gen.get_state()}


def set_rng_state(gen: torch.Generator, state: dict[str, Any]) -> None:
    gen.set_state(state["generator"])


def _digest(obj: Any, h: Any) -> None:
    """Feed a canonical byte form of a nested payload to hash `h` (tensors by dtype, shape and raw bytes; dict keys
    in a fixed order; lists and tuples alike, since a round trip through torch.save keeps them but need not)."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().to("cpu").contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}|".encode())
        for key in sorted(obj, key=repr):
            _digest(key, h)
            _digest(obj[key], h)
    elif isinstance(obj, list | tuple):
        h.update(f"L{len(obj)}|".encode())
        for item in obj:
            _digest(item, h)
    else:
        h.update(f"{type(obj).__name__}:{obj!r}|".encode())


def checksum(payload: dict[str, Any]) -> str:
    """SHA-256 of everything in a checkpoint except its own `checksum` entry."""
    h = hashlib.sha256()
    _digest({k: v for k, v in payload.items() if k != "checksum"}, h)
    return h.hexdigest()


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write `payload` (+ version and checksum) atomically to `path`, keeping the previous file as checkpoint.prev.pt.

    Fault points (tests): 'checkpoint-write' kills with the temporary file half written, 'checkpoint-rotate' after
    the previous checkpoint is kept but before the new one is in place.
    """
    path = Path(path)
    full = {"version": FORMAT_VERSION, **payload}
    full["checksum"] = checksum(full)
    buf = io.BytesIO()
    torch.save(full, buf)
    data = buf.getvalue()
    keep_previous(path)
    if (action := fault_point("checkpoint-rotate")) is not None:
        fault_fire(action)
    atomic_write_bytes(path, data, fault="checkpoint-write")


def keep_previous(path: Path) -> None:
    """Make OUT/checkpoint.prev.pt the current checkpoint.pt (if any), atomically: a hard link under a temporary
    name renamed over the old previous one (a copy where links are unsupported)."""
    if not path.is_file():
        return
    prev = path.with_name(PREVIOUS)
    tmp = path.with_name(f".{PREVIOUS}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(path, tmp)
    except OSError:
        shutil.copy2(path, tmp)
    os.replace(tmp, prev)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint at `path`, verified (format and checksum); CorruptCheckpoint otherwise. weights_only=True."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except torch_load_errors() as exc:
        first = " ".join(str(exc).split())[:120]
        raise CorruptCheckpoint(f"checkpoint {str(path)!r} is truncated or corrupt ({type(exc).__name__}: "
                                f"{first})") from exc
    if not isinstance(ckpt, dict) or ckpt.get("version") != FORMAT_VERSION:
        version = ckpt.get("version") if isinstance(ckpt, dict) else None
        raise UserError(f"{str(path)!r} is not an sslscape checkpoint of format {FORMAT_VERSION} (found "
                        f"{version!r}); delete it to start over or use another --out")
    if ckpt.get("checksum") != checksum(ckpt):
        raise CorruptCheckpoint(f"checkpoint {str(path)!r} is corrupt (its SHA-256 does not match its contents)")
    return ckpt


def load_checkpoint(path: Path, config_hash: str) -> dict[str, Any]:
    """The checkpoint at `path`, verified and checked to come from a config with the same trajectory hash."""
    ckpt = read_checkpoint(path)
    if ckpt.get("config_hash") != config_hash:
        raise UserError(f"checkpoint {str(path)!r} was written by a different config (hash "
                        f"{ckpt.get('config_hash')} ≠ {config_hash}); resume with the original config or use "
                        "another --out")
    return ckpt


def load_latest(folder: Path, config_hash: str) -> tuple[dict[str, Any], Path] | None:
    """The newest usable checkpoint in `folder` and its path, or None when there is none.

    checkpoint.pt first; when it is missing, truncated or corrupt, checkpoint.prev.pt, with a CheckpointWarning
    naming the bad file (moved to checkpoint.pt.corrupt for inspection). Both bad: a
    one-line UserError. A checkpoint of another config is refused (UserError), never skipped.
    """
    folder = Path(folder)
    errors, bad = [], []
    for name in (CHECKPOINT, PREVIOUS):
        path = folder / name
        if not path.is_file():
            continue
        try:
            ckpt = load_checkpoint(path, config_hash)
        except CorruptCheckpoint as exc:
            errors.append(str(exc))
            bad.append(path)
            continue
        if bad:  # set the bad file aside, so that the next checkpoint does not keep it as "previous"
            aside = bad[0].with_name(bad[0].name + ".corrupt")
            os.replace(bad[0], aside)
            warnings.warn(f"{errors[0]}; moved it to {aside.name} and resuming from the previous checkpoint "
                          f"{str(path)!r} (step {ckpt['step']})", CheckpointWarning, stacklevel=2)
        return ckpt, path
    if errors:
        raise UserError(f"{'; '.join(errors)}; no usable checkpoint is left — delete them to start over")
    return None
