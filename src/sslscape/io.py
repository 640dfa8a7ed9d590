"""File I/O shared by every part of sslscape.

Atomic writes: write to a temporary file in the same folder, fsync, then rename over the target, so a reader
(or a resumed run) sees either the old file or the complete new one, never a torn write.

`load_array`: one numeric array from .npy / .npz / .pt / .csv, every failure a one-line UserError. Arrays keep
their dtype (a float32 file stays float32). In .npz and .pt dict files the array is the one named `embeddings`,
`z`, `x`, `views`, `labels` or `y`, or the only one present.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import UserError


def json_default(obj: Any) -> Any:
    """`json.dumps(..., default=json_default)`: numpy arrays become lists, numpy scalars Python numbers."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call `write(fileobj)` on a temp file beside `path`, fsync it, and rename it to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def atomic_save_npy(path: str | Path, arr: np.ndarray) -> Path:
    return atomic_write(path, lambda f: np.save(f, arr))


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode()))


def atomic_write_json(path: str | Path, obj: Any, default: Callable[[Any], Any] | None = None) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, default=default) + "\n")


def atomic_savefig(path: str | Path, fig: Any, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically (format from the target's suffix unless `format=` is given)."""
    kwargs.setdefault("format", Path(path).suffix.lstrip(".") or "png")
    return atomic_write(path, lambda f: fig.savefig(f, **kwargs))


SUFFIXES = (".npy", ".npz", ".pt", ".csv")
_KEYS = ("embeddings", "z", "x", "views", "labels", "y")


def _pick(keys: list[str], path: Path) -> str:
    for k in _KEYS:
        if k in keys:
            return k
    if len(keys) == 1:
        return keys[0]
    raise UserError(f"{path.name} holds arrays {keys}; name the one to diagnose 'embeddings' (or 'z'/'x')")


def _read_csv(path: Path) -> np.ndarray:
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError:
        return np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1)  # a header line


def load_array(path: str | Path, what: str = "embeddings", mmap: bool = False) -> np.ndarray:
    """Load one numeric array from a .npy/.npz/.pt/.csv file (shape checks are the caller's).

    `mmap=True` memory-maps a .npy file: `diagnose` streams rows in chunks, so a matrix larger than RAM works.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} file {str(path)!r} does not exist; check the path")
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"cannot read {what} from {path.name!r}: use a .npy, .npz, .pt or .csv file")
    if path.stat().st_size == 0:
        raise UserError(f"{what} file {path.name!r} is empty (0 bytes); save an array into it")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                arr = z[_pick(list(z.keys()), path)]
        elif suffix == ".pt":
            import torch

            obj = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(obj, dict):
                obj = obj[_pick([str(k) for k in obj], path)]
            if isinstance(obj, torch.Tensor):
                obj = obj.detach()
                arr = (obj.float() if obj.dtype == torch.bfloat16 else obj).numpy()
            else:
                arr = np.asarray(obj)
        else:
            arr = _read_csv(path) if what != "labels" else np.loadtxt(path, delimiter=",", dtype=str, ndmin=1)
    except UserError:
        raise
    except Exception as exc:  # numpy/torch raise many types for corrupt files
        raise UserError(
            f"cannot read {what} file {path.name!r} ({type(exc).__name__}: {exc}); "
            "save the array with numpy.save, numpy.savez, torch.save or as CSV"
        ) from exc
    if arr.size == 0:
        raise UserError(f"{what} file {path.name!r} holds an empty array (shape {arr.shape})")
    if what != "labels" and not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise UserError(f"{what} in {path.name!r} have dtype {arr.dtype}; save a numeric (float) array")
    return arr


def read_mapping_file(path: str | Path, what: str) -> Any:
    """Parse a YAML (.yaml/.yml) or JSON file; a missing file or bad syntax is a one-line UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} file {str(path)!r} does not exist")
    is_yaml = path.suffix in (".yaml", ".yml")
    try:
        if is_yaml:
            import yaml

            return yaml.safe_load(path.read_text())
        return json.loads(path.read_text())
    except Exception as exc:
        detail = " ".join(str(exc).split())  # parser messages span several lines; the CLI prints one
        raise UserError(f"{what} file {path.name!r} is not valid {'YAML' if is_yaml else 'JSON'} ({detail}); "
                        "fix the syntax") from exc
