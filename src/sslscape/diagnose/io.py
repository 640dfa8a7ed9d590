"""Read embeddings, views and labels from .npy / .npz / .pt / .csv; every failure is one UserError line.

Arrays keep their dtype (a float32 file stays float32: no float64 copy of a large matrix). In .npz and .pt
dict files the array is the one named `embeddings`, `z`, `x` or `labels`/`y`, or the only one present.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UserError

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


def load_embeddings(path: str | Path) -> np.ndarray:
    """An (N, d) array with N > d: fewer samples than dimensions cannot show which directions collapsed."""
    arr = load_array(path, "embeddings", mmap=True)
    name = Path(path).name
    if arr.ndim != 2:
        hint = (
            "; save a 2-D (N, d) array, one embedding per row"
            if arr.ndim == 1
            else "; for views use --views with shape (N, q, d)"
        )
        raise UserError(f"embeddings in {name!r} have shape {arr.shape}, need (N, d){hint}")
    n, d = arr.shape
    if n <= d:
        raise UserError(
            f"embeddings in {name!r} have N = {n} samples ≤ d = {d} dimensions: after centring at "
            f"most N − 1 = {n - 1} directions are measurable; give more than {d} samples"
        )
    return arr  # NaN/Inf rows are counted (and refused) by `diagnose`, in its streaming pass


def load_views(path: str | Path, n_views: int | None) -> np.ndarray:
    """(N, q, d) views; a 2-D file is (N·q, d) grouped by sample (rows i·q … i·q + q − 1 are sample i)."""
    arr = load_array(path, "views")
    name = Path(path).name
    if arr.ndim == 2:
        if n_views is None:
            raise UserError(
                f"views in {name!r} are 2-D {arr.shape}; pass --n-views q (rows grouped by sample) "
                "or save them as (N, q, d)"
            )
        if n_views < 2 or arr.shape[0] % n_views:
            raise UserError(
                f"--n-views {n_views} does not divide the {arr.shape[0]} rows of {name!r} into "
                "groups of q ≥ 2 views"
            )
        arr = arr.reshape(arr.shape[0] // n_views, n_views, arr.shape[1])
    elif arr.ndim != 3:
        raise UserError(
            f"views in {name!r} have shape {arr.shape}; need (N, q, d) or (N·q, d) with --n-views"
        )
    elif n_views is not None and n_views != arr.shape[1]:
        raise UserError(f"--n-views {n_views} disagrees with the {arr.shape[1]} views per sample in {name!r}")
    return arr


def load_labels(path: str | Path, n: int) -> np.ndarray:
    """(N,) labels (any type: ints or strings), one per embedding row."""
    arr = load_array(path, "labels")
    name = Path(path).name
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise UserError(
            f"labels in {name!r} have shape {arr.shape}; need ({n},), one label per embedding row"
        )
    return arr
