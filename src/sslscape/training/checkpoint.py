"""Atomic files and checkpoints.

Every file is written to a temporary file in the same folder, fsync'ed, then `os.replace`d over the target,
so a crash leaves either the old or the new file, never half of one. A checkpoint holds everything the next
step depends on — model, EMA target, optimiser state, the run's generator and the global RNG states, the step
and the open metrics window — plus the config's trajectory hash, so that `resume` refuses a checkpoint from another
config and otherwise continues bit-identically. Global RNGs are neither used nor touched.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from ..errors import UserError
from ..io import atomic_save_npy, atomic_write_bytes, atomic_write_json, atomic_write_text  # noqa: F401

CHECKPOINT = "checkpoint.pt"
FORMAT_VERSION = 2


def rng_state(gen: torch.Generator) -> dict[str, Any]:
    """The run's generator state: every random draw of a run comes from it (no global RNG is used or changed)."""
    return {"generator": gen.get_state()}


def set_rng_state(gen: torch.Generator, state: dict[str, Any]) -> None:
    gen.set_state(state["generator"])


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    buf = io.BytesIO()
    torch.save({"version": FORMAT_VERSION, **payload}, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path, config_hash: str) -> dict[str, Any]:
    """The checkpoint at `path`, checked to come from a config with the same trajectory hash."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise UserError(f"cannot read checkpoint {str(path)!r} ({type(exc).__name__}); "
                        "delete it to start over") from exc
    if not isinstance(ckpt, dict) or ckpt.get("version") != FORMAT_VERSION:
        raise UserError(f"{str(path)!r} is not an sslscape checkpoint (format {FORMAT_VERSION}); "
                        "delete it or use another --out")
    if ckpt.get("config_hash") != config_hash:
        raise UserError(f"checkpoint {str(path)!r} was written by a different config (hash "
                        f"{ckpt.get('config_hash')} ≠ {config_hash}); resume with the original config or use "
                        "another --out")
    return ckpt
