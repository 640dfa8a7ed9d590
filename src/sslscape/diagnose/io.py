"""Read embeddings, views and labels by role (through `sslscape.io.load_array`) and check their shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UserError
from ..io import SUFFIXES, load_array  # noqa: F401  (SUFFIXES re-exported for the CLI)


def load_embeddings(path: str | Path, key: str | None = None) -> np.ndarray:
    """An (N, d) array, memory-mapped when it is a .npy file. N ≤ d is accepted: only N − 1 directions are
    measurable after centring, and the diagnosis says so."""
    arr = load_array(path, "embeddings", mmap=True, key=key)
    name = Path(path).name
    if arr.ndim != 2:
        hint = ("; save a 2-D (N, d) array, one embedding per row" if arr.ndim == 1
                else "; for views use --views with shape (N, q, d)")
        raise UserError(f"embeddings in {name!r} have shape {arr.shape}, need (N, d){hint}")
    if arr.shape[0] < 2:
        raise UserError(f"embeddings in {name!r} have a single row; a spectrum needs N ≥ 2 samples")
    return arr  # NaN/Inf rows are counted (and refused) by `diagnose`, in its streaming pass


def load_views(path: str | Path, n_views: int | None, n: int | None = None) -> np.ndarray:
    """(N, q, d) views; a 2-D file is (N·q, d) grouped by sample (rows i·q … i·q + q − 1 are sample i).

    `n`: the number of embedding rows the views must match (views of other samples are refused).
    """
    arr = load_array(path, "views")
    name = Path(path).name
    if arr.ndim == 2:
        if n_views is None:
            raise UserError(f"views in {name!r} are 2-D {arr.shape}; pass --n-views q (rows grouped by sample) "
                            "or save them as (N, q, d)")
        if n_views < 2 or arr.shape[0] % n_views:
            raise UserError(f"--n-views {n_views} does not divide the {arr.shape[0]} rows of {name!r} into "
                            "groups of q ≥ 2 views")
        arr = arr.reshape(arr.shape[0] // n_views, n_views, arr.shape[1])
    elif arr.ndim != 3:
        raise UserError(f"views in {name!r} have shape {arr.shape}; need (N, q, d) or (N·q, d) with --n-views")
    elif n_views is not None and n_views != arr.shape[1]:
        raise UserError(f"--n-views {n_views} disagrees with the {arr.shape[1]} views per sample in {name!r}")
    if n is not None and arr.shape[0] != n:
        raise UserError(f"views in {name!r} are of {arr.shape[0]} samples but the embeddings have N = {n}; give "
                        "the views of the same samples, in the same order")
    return arr


def load_labels(path: str | Path, n: int) -> np.ndarray:
    """(N,) labels (ints or strings), one per embedding row; a one-hot (N, C) matrix becomes class indices."""
    arr = load_array(path, "labels")
    name = Path(path).name
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    elif arr.ndim == 2 and np.issubdtype(arr.dtype, np.number) and np.isin(arr, (0, 1)).all() \
            and (arr.sum(1) == 1).all():
        arr = arr.argmax(1)  # one-hot rows
    if arr.ndim != 1 or arr.shape[0] != n:
        raise UserError(f"labels in {name!r} have shape {arr.shape}; need ({n},), one label per embedding row")
    return arr
