"""Datasets on disk, read without downloading anything: Fashion-MNIST (the Debian package
`dataset-fashion-mnist`, idx files), scikit-learn's bundled digits, folders of images, and the seeded train/test
split of a file or folder. Used by training (`sslscape.training.data`) and by `sslscape.moments` alike.
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np

from .errors import UserError

FASHION_MNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_INSTALL = "apt-get update && apt-get install -y dataset-fashion-mnist (or: make fashion-mnist)"


class DataError(UserError, ValueError):
    """A dataset or data file is missing or malformed; the message says how to fix it."""


def read_idx(path: Path) -> np.ndarray:
    """The idx format: 2 zero bytes, dtype code (0x08 = uint8), ndim; big-endian uint32 dims; raw data."""
    with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as f:
        data = f.read()
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code != 0x08:
        raise DataError(f"{path} is not a uint8 idx file (magic {data[:4].hex()}); reinstall the dataset")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != math.prod(dims):
        raise DataError(f"{path} is truncated ({arr.size} of {math.prod(dims)} bytes); reinstall the dataset")
    return arr.reshape(dims).copy()  # frombuffer is read-only; torch wants writable memory


def load_fashion_mnist(root: Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x (60000, 28, 28) uint8, train_y, test_x (10000, 28, 28), test_y) from the Debian package."""
    root = Path(root) if root is not None else FASHION_MNIST_ROOT
    files = {f"{split}-{kind}": root / f"{split}-{kind}-ubyte.gz"
             for split in ("train", "t10k") for kind in ("images-idx3", "labels-idx1")}
    missing = [p.name for p in files.values() if not p.is_file()]
    if missing:
        raise DataError(f"Fashion-MNIST not found under {root} (missing {missing[0]}); install it with: "
                        f"{FASHION_MNIST_INSTALL}")
    return tuple(read_idx(files[k]) for k in ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3",
                                               "t10k-labels-idx1"))  # type: ignore[return-value]


def load_digits_arrays(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8×8 digits (1,797 images, values 0–16 → [0, 1]); seeded 1,500 / 297 split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(x))
    tr, te = perm[:1500], perm[1500:]
    return x[tr], y[tr], x[te], y[te]


def load_image_folder(root: Path, size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Grey images (png/jpg/...) resized to size×size; class = sub-folder name when there are sub-folders."""
    from PIL import Image

    if not root.is_dir():
        raise DataError(f"image folder {str(root)!r} does not exist")
    exts = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    groups = [(i, sorted(p for p in c.rglob("*") if p.suffix.lower() in exts)) for i, c in enumerate(classes)]
    if not classes:
        groups = [(-1, sorted(p for p in root.iterdir() if p.suffix.lower() in exts))]
    images, labels = [], []
    for label, files in groups:
        for f in files:
            try:
                with Image.open(f) as im:
                    images.append(np.asarray(im.convert("L").resize((size, size), Image.BILINEAR), np.uint8))
            except Exception as exc:
                raise DataError(f"cannot read image {str(f)!r} ({exc}); remove or fix it") from exc
            labels.append(label)
    if len(images) < 2:
        raise DataError(f"image folder {str(root)!r} has {len(images)} readable images; need at least 2")
    y = np.asarray(labels) if classes else None
    return np.stack(images)[:, None], y


def split_train_test(x: np.ndarray, y: np.ndarray | None, seed: int, test_fraction: float = 0.2) -> tuple:
    """The seeded train/test split of a file or folder dataset: (train_x, train_y, test_x, test_y)."""
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, int(round(test_fraction * len(x))))
    te, tr = perm[:n_test], perm[n_test:]
    return x[tr], None if y is None else y[tr], x[te], None if y is None else y[te]


def load_named_dataset(name: str, limit: int | None = None,
                       downsample: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    """(x (n, D) float in [0, 1], labels, image side) for 'digits' or 'fashion-mnist' (train split)."""
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        x, y, side = d.images / 16.0, d.target, 8
    elif name in ("fashion-mnist", "fashion_mnist"):
        tx, ty, _, _ = load_fashion_mnist()
        x, y, side = tx / 255.0, ty, 28
    else:
        raise DataError(f"unknown dataset {name!r}; use 'digits' or 'fashion-mnist'")
    if downsample > 1:
        n, s = x.shape[0], side // downsample
        x = x[:, : s * downsample, : s * downsample].reshape(n, s, downsample, s, downsample).mean((2, 4))
        side = s
    x = x.reshape(len(x), -1)
    if limit is not None and limit < len(x):
        keep = np.random.default_rng(0).permutation(len(x))[:limit]
        x, y = x[keep], y[keep]
    return x.astype(np.float64), np.asarray(y, np.int64), side
