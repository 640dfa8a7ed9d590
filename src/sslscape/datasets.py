"""Datasets on disk, read without downloading anything: Fashion-MNIST (the Debian package
`dataset-fashion-mnist`, idx files), scikit-learn's bundled digits, image arrays in any common layout, folders of
PNG/JPEG images (grey or RGB, Pillow), and the seeded train/test split of a file or folder. `load_images` is the one
reader of images for `sslscape estimate`, `sslscape projector` and training's file and folder sources.
"""

from __future__ import annotations

import gzip
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def load_image_folder(root: Path, size: int | tuple[int, int] | None = None,
                      limit: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """(images (n, C, H, W) uint8, labels or None) from a folder of PNG/JPEG/… images: C = 3 when any image is
    in colour (the others converted to RGB), else 1; class = sub-folder name when there are sub-folders.

    `size` (an int = square, or (H, W)) resizes every image (Pillow's bilinear); without it the images must share
    one size (a one-line DataError lists the sizes found otherwise). `limit`: a seeded subset of the files, read
    alone. 16-bit images are scaled to 8 bits. Raises DataError (one line) for a missing folder, fewer than 2
    images or an unreadable file (named).
    """
    from PIL import Image

    root = Path(root)
    if not root.is_dir():
        raise DataError(f"image folder {str(root)!r} does not exist")
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    groups = [(i, sorted(p for p in c.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()))
              for i, c in enumerate(classes)]
    if not classes:
        groups = [(-1, sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()))]
    files = [(f, label) for label, fs in groups for f in fs]
    if len(files) < 2:
        raise DataError(f"image folder {str(root)!r} has {len(files)} images (.png, .jpg, …); need at least 2")
    if limit is not None and limit < len(files):
        keep = np.sort(np.random.default_rng(seed).permutation(len(files))[:limit])
        files = [files[i] for i in keep]
    want = None if size is None else ((size, size) if isinstance(size, int) else tuple(size))
    sizes: dict[tuple[int, int], int] = {}
    colour = False
    for f, _ in files:  # headers only: sizes and modes (Pillow reads no pixels here)
        try:
            with Image.open(f) as im:
                sizes[(im.height, im.width)] = sizes.get((im.height, im.width), 0) + 1
                colour = colour or im.mode not in GREY_MODES
        except Exception as exc:
            raise DataError(f"cannot read image {str(f)!r} ({type(exc).__name__}); remove or fix it") from exc
    if want is None and len(sizes) > 1:
        found = ", ".join(f"{h}×{w}: {k}" for (h, w), k in sorted(sizes.items(), key=lambda t: -t[1])[:6])
        raise DataError(f"the images in {str(root)!r} have {len(sizes)} sizes (H×W: count — {found}); give --size H,W "
                        "to resize them all to one size")
    hgt, wid = want if want is not None else next(iter(sizes))
    out = np.empty((len(files), 3 if colour else 1, hgt, wid), np.uint8)
    for i, (f, _) in enumerate(files):  # decoding is per file (Pillow); everything after it is batched
        try:
            with Image.open(f) as im:
                out[i] = _pixels(im, colour, (hgt, wid))
        except Exception as exc:
            raise DataError(f"cannot read image {str(f)!r} ({type(exc).__name__}); remove or fix it") from exc
    y = np.asarray([label for _, label in files]) if classes else None
    return out, y


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def _pixels(im, colour: bool, size: tuple[int, int]) -> np.ndarray:
    """One Pillow image as (C, H, W) uint8: RGB when `colour` (alpha dropped), else grey; 16-bit and float modes
    scaled to 8 bits; resized (bilinear) to `size` (H, W) when it differs."""
    from PIL import Image

    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I") else max(1.0, float(a.max()))
        im = Image.fromarray(np.clip(np.round(a / top * 255), 0, 255).astype(np.uint8))
    im = im.convert("RGB" if colour else "L")
    if (im.height, im.width) != size:
        im = im.resize((size[1], size[0]), Image.BILINEAR)
    a = np.asarray(im, np.uint8)
    return a.transpose(2, 0, 1) if colour else a[None]


LAYOUTS = ("NHWC", "NCHW", "NHW")


@dataclass(frozen=True)
class Images:
    """Images (n, C, H, W) — uint8 with `scale` 1/255, or float as stored — or vectors (n, D) (`shape` (D,)).

    `read_as` says how the input's axes were read (shown by `sslscape estimate`). `float32()` gives the values
    in [0, 1] for uint8 input (as training sees them)."""

    x: np.ndarray = field(repr=False)
    labels: np.ndarray | None = field(repr=False)
    name: str
    read_as: str
    scale: float = 1.0

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.x.shape[1:])

    @property
    def dim(self) -> int:
        return math.prod(self.shape)

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    def float32(self) -> np.ndarray:
        return self.rows(0, self.n, np.float32).reshape(self.x.shape)

    def rows(self, start: int, stop: int, dtype: Any = np.float64, scaled: bool = True) -> np.ndarray:
        """Images start…stop − 1 flattened to (m, D) in `dtype`, times `scale` unless `scaled` is False (the
        streaming unit of `sslscape.moments`)."""
        a = np.asarray(self.x[start:stop])
        a = a.reshape(len(a), -1).astype(dtype)
        return a * dtype(self.scale) if scaled and self.scale != 1.0 else a


def parse_size(text: str | None) -> tuple[int, ...] | None:
    """'H,W' or 'H,W,C' (positive integers) → a tuple; None stays None. One-line DataError otherwise."""
    if text is None or str(text).strip() == "":
        return None
    try:
        vals = tuple(int(v) for v in str(text).replace("x", ",").split(","))
        if len(vals) not in (2, 3) or min(vals) < 1:
            raise ValueError
    except ValueError as exc:
        raise DataError(f"--size {text!r}: give H,W or H,W,C (positive integers), e.g. 32,32 or 32,32,3") from exc
    return vals


def image_array(x: np.ndarray, name: str, size: tuple[int, ...] | None = None,
                layout: str | None = None) -> tuple[np.ndarray, str]:
    """An array of images in a common layout → ((n, C, H, W) or (n, D), how its axes were read): (n, D) flat with
    `size` (H, W[, C]) (RGB also needs `layout` NCHW | NHWC) or a square grey inference, (n, H, W), and (n, H, W, C)
    or (n, C, H, W) told apart when only one candidate axis has 1 or 3 entries (else `layout`). One-line
    DataError otherwise."""
    if layout is not None and layout.upper() not in LAYOUTS:
        raise DataError(f"--layout {layout!r}: use NHWC, NCHW or NHW")
    layout = None if layout is None else layout.upper()
    ask = "give --layout NHWC, NCHW or NHW"
    if x.ndim < 2 or x.ndim > 4 or x.shape[0] < 2:
        raise DataError(f"{name!r} has shape {x.shape}; expected (n, D) vectors or images (n, H, W), (n, H, W, C) or "
                        "(n, C, H, W) with n ≥ 2")
    n = x.shape[0]
    if x.ndim == 2:
        dim = x.shape[1]
        if size is None:
            if layout is not None:
                raise DataError(f"{name!r} holds flat (n, {dim}) rows; with --layout give the image size too: "
                                "--size H,W[,C]")
            side = math.isqrt(dim)
            if side * side == dim and dim > 1:
                return x.reshape(n, 1, side, side), (f"{n} grey {side}×{side} images (flat rows of {dim} = {side}²; "
                                                      "give --size H,W[,C] if not)")
            return x, f"{n} vectors of {dim} features (not a square image; give --size H,W[,C] for images)"
        hgt, wid = size[:2]
        if dim % (hgt * wid):
            raise DataError(f"--size {hgt},{wid} does not fit flat rows of {dim} values (need H·W·C = {dim})")
        c = dim // (hgt * wid)
        if len(size) == 3 and size[2] != c:
            raise DataError(f"--size {','.join(map(str, size))} needs {hgt * wid * size[2]} values per row, the rows "
                            f"hold {dim}")
        if c not in (1, 3):
            raise DataError(f"rows of {dim} values are {c} channels of {hgt}×{wid}; sslscape takes grey (1) or RGB "
                            "(3) images")
        if c == 1:
            return x.reshape(n, 1, hgt, wid), f"{n} grey {hgt}×{wid} images (flat rows)"
        if layout not in ("NCHW", "NHWC"):
            raise DataError(f"flat rows of {dim} = 3·{hgt}·{wid} values: say how the channels are stored — "
                            "--layout NCHW (three channel planes, as CIFAR's files) or NHWC (interleaved RGB)")
        if layout == "NCHW":
            return x.reshape(n, 3, hgt, wid), f"{n} RGB {hgt}×{wid} images (flat rows, channel planes: NCHW)"
        return x.reshape(n, hgt, wid, 3).transpose(0, 3, 1, 2), f"{n} RGB {hgt}×{wid} images (flat rows, NHWC)"
    if size is not None:
        raise DataError(f"--size describes flat (n, D) rows; {name!r} already has image axes {x.shape[1:]}")
    if x.ndim == 3:
        if layout not in (None, "NHW"):
            raise DataError(f"{name!r} has 3 axes {x.shape}: its layout is NHW (grey images), not {layout}")
        return x[:, None], f"{n} grey {x.shape[1]}×{x.shape[2]} images (NHW)"
    a, b, c = x.shape[1:]
    if layout is None:
        last, first = c in (1, 3), a in (1, 3)
        if last == first:
            raise DataError(f"{name!r} has shape {x.shape}: cannot tell the channel axis; {ask}")
        layout = "NHWC" if last else "NCHW"
        how = "channels last, NHWC" if last else "channels first, NCHW"
    else:
        how = layout
    if layout == "NHW":
        raise DataError(f"{name!r} has 4 axes {x.shape}; NHW is for 3 axes — {ask}")
    imgs = x.transpose(0, 3, 1, 2) if layout == "NHWC" else x
    ch = imgs.shape[1]
    if ch not in (1, 3):
        raise DataError(f"{name!r} read as {layout} has {ch} channels; sslscape takes grey (1) or RGB (3) images "
                        "(drop an alpha channel first)")
    kind = "RGB" if ch == 3 else "grey"
    return imgs, f"{n} {kind} {imgs.shape[2]}×{imgs.shape[3]} images ({how})"


def named_dataset_names() -> tuple[str, ...]:
    return ("digits", "fashion-mnist", "fashion_mnist")


def load_images(data: str | Path, *, samples: int | None = None, seed: int = 0, size: tuple[int, ...] | None = None,
                layout: str | None = None, downsample: int = 1) -> Images:
    """The images `sslscape estimate` (and `sslscape projector`) read: 'digits' (1,797 grey 8×8, scikit-learn),
    'fashion-mnist' (60,000 grey 28×28, the Debian package), an array file (.npy/.npz/.pt/.csv) in any common
    layout — (n, D) flat (square grey inferred, else `size` (H, W[, C])), (n, H, W), (n, H, W, C) or (n, C, H, W)
    (the channel axis inferred when only one of the two candidates has 1 or 3 entries, else `layout` NHWC|NCHW|NHW)
    — or a folder of PNG/JPEG images (`load_image_folder`; `size` (H, W) resizes). `samples`: a seeded subset;
    `downsample`: average pooling by this factor. uint8 data stay uint8 (scale 1/255). One-line DataError for
    every bad input."""
    from .io import load_array

    if samples is not None and samples < 1:
        raise DataError(f"--samples must be ≥ 1 (or 0 = all), got {samples}")
    if downsample < 1:
        raise DataError(f"--downsample must be ≥ 1, got {downsample}")
    text = str(data)
    labels = None
    scale = 1.0
    if text in named_dataset_names():
        if size is not None or layout is not None:
            raise DataError(f"{text!r} has a known layout; --size and --layout are for array files and folders")
        if text == "digits":
            from sklearn.datasets import load_digits

            d = load_digits()
            x, labels = (d.images / 16.0)[:, None], d.target
        else:  # the training split only (the test split is not read)
            root = FASHION_MNIST_ROOT
            if not (root / "train-images-idx3-ubyte.gz").is_file():
                load_fashion_mnist(root)  # raises the one-line "install it with …" error
            x = read_idx(root / "train-images-idx3-ubyte.gz")[:, None]
            labels, scale = read_idx(root / "train-labels-idx1-ubyte.gz"), 1.0 / 255.0
        name = text.replace("_", "-")
        read_as = f"{len(x)} grey {x.shape[2]}×{x.shape[3]} images"
        x, labels = _subset(x, labels, samples, seed)
    elif Path(text).is_dir():
        if layout is not None:
            raise DataError("--layout is for array files; a folder's images are read as they are stored")
        if size is not None and len(size) == 3:
            raise DataError("--size for a folder is H,W (channels follow the images: grey or RGB)")
        x, labels = load_image_folder(Path(text), size, samples, seed)
        name, scale = Path(text).name, 1.0 / 255.0
        read_as = f"{len(x)} {'RGB' if x.shape[1] == 3 else 'grey'} {x.shape[2]}×{x.shape[3]} images (folder)"
    elif Path(text).is_file():
        try:
            arr = load_array(Path(text), "data")
        except DataError:
            raise
        except UserError as err:
            raise DataError(str(err)) from err
        name = Path(text).name
        if arr.dtype.kind not in "biuf":
            raise DataError(f"{name!r} holds {arr.dtype} values; save numbers (uint8 images or floats)")
        x, read_as = image_array(arr, name, size, layout)
        if x.dtype == np.uint8:
            scale = 1.0 / 255.0
        elif x.dtype.kind != "f":
            x = x.astype(np.float64)
        bad = ~np.isfinite(x.reshape(len(x), -1)).all(1) if x.dtype.kind == "f" else np.zeros(len(x), bool)
        if bad.any():
            raise DataError(f"{name!r} has {int(bad.sum())} examples with NaN/Inf; clean or drop them first")
        x, _ = _subset(x, None, samples, seed)
    else:
        raise DataError(f"DATA {text!r} is neither 'digits', 'fashion-mnist', an existing array file (.npy, .npz, .pt, "
                        ".csv) nor a folder of images")
    if downsample > 1:
        if x.ndim != 4:
            raise DataError("--downsample needs images; the data are vectors")
        n, c, h, w = x.shape
        s, t = h // downsample, w // downsample
        x = (x[:, :, :s * downsample, :t * downsample].reshape(n, c, s, downsample, t, downsample)
             .mean((3, 5)) * scale)
        scale = 1.0
        read_as += f", average-pooled ×{downsample} to {s}×{t}"
    if len(x) < 2:
        raise DataError(f"{name!r} has {len(x)} example; need at least 2")
    return Images(x=np.ascontiguousarray(x), labels=None if labels is None else np.asarray(labels), name=name,
                  read_as=read_as, scale=scale)


def _subset(x: np.ndarray, y: np.ndarray | None, samples: int | None, seed: int) -> tuple:
    if samples is None or samples >= len(x):
        return x, y
    keep = np.random.default_rng(seed).permutation(len(x))[:samples]
    return x[keep], None if y is None else y[keep]


def split_train_test(x: np.ndarray, y: np.ndarray | None, seed: int, test_fraction: float = 0.2) -> tuple:
    """The seeded train/test split of a file or folder dataset: (train_x, train_y, test_x, test_y)."""
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, int(round(test_fraction * len(x))))
    te, tr = perm[:n_test], perm[n_test:]
    return x[tr], None if y is None else y[tr], x[te], None if y is None else y[te]


def load_named_dataset(name: str, limit: int | None = None,
                       downsample: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    """(x (n, D) float in [0, 1], labels, image side) for 'digits' or 'fashion-mnist' (train split): `load_images`
    flattened (a seeded subset of `limit`, average pooling by `downsample`)."""
    if name not in named_dataset_names():
        raise DataError(f"unknown dataset {name!r}; use 'digits' or 'fashion-mnist'")
    images = load_images(name, samples=limit, seed=0, downsample=downsample)
    return images.rows(0, images.n), np.asarray(images.labels, np.int64), images.shape[-1]
