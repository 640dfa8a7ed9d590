"""File I/O shared by every part of sslscape.

Atomic writes: write to a temporary file in the same folder, fsync, then rename over the target, so a reader
(or a resumed run) sees either the old file or the complete new one, never a torn write. New files get the
user's umask (0644 under the usual 022), like any other tool; so does a file they replace.

`folder_lock`: one sslscape process per output folder (an `flock` on OUT/.sslscape.lock; the kernel drops it when
the process dies, so a killed run never leaves a stale lock).

`load_array`: the array that plays a role (embeddings, views, labels, samples) in a .npy / .npz / .pt / .csv /
.tsv file, chosen by name — never by position — with every failure a one-line UserError. Arrays keep their dtype
(a float32 file stays float32).

`fault_point`: a testing hook (SSLSCAPE_FAULT) that kills the process at a named point, so the crash-safety tests
(tests/reliability/, docs/reliability.md) can land a SIGKILL inside a checkpoint write or a metrics append.
"""

from __future__ import annotations

import json
import math
import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import UserError

FAULT_ENV = "SSLSCAPE_FAULT"
LOCK_FILE = ".sslscape.lock"
_FAULT_SIGNALS = {"kill": signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM,
                  "term": signal.SIGTERM, "int": signal.SIGINT}
_fault_hits: dict[str, int] = {}


def fault_point(name: str) -> str | None:
    """Testing hook: the action due at point `name` now, or None (always None unless SSLSCAPE_FAULT is set).

    SSLSCAPE_FAULT='NAME:K[:ACTION][,…]' fires on the K-th time this process reaches point NAME; ACTION is 'kill'
    (SIGKILL, the default), 'term' (SIGTERM) or 'int' (SIGINT). The caller leaves its file in the state a crash
    at that point would (e.g. half a line written), then calls `fault_fire(action)`.
    """
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return None
    _fault_hits[name] = hits = _fault_hits.get(name, 0) + 1
    for item in spec.split(","):
        parts = item.strip().split(":")
        if parts[0] == name and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) == hits:
            return parts[2] if len(parts) > 2 else "kill"
    return None


def fault_fire(action: str) -> None:
    """Send this process the signal `action` names ('kill' never returns; 'int'/'term' run Python's handler)."""
    os.kill(os.getpid(), _FAULT_SIGNALS[action])


def json_default(obj: Any) -> Any:
    """`json.dumps(..., default=json_default)`: numpy arrays become lists, numpy scalars Python numbers."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows (Linux /proc), else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no getter elsewhere: set and put back at once
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any], *, fault: str | None = None) -> Path:
    """Call `write(fileobj)` on a temp file beside `path`, fsync it, and rename it to `path`.

    The file gets 0666 minus the user's umask, as a file `open()` creates (mkstemp's private 0600 is replaced
    before the rename; a file it replaces gets the same, which also repairs 0600 files of older versions).
    `fault` names a `fault_point` at which a test kills the process with the temp file half written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o666 & ~current_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if fault is not None and (action := fault_point(fault)) is not None:
                f.truncate(f.tell() // 2)  # a crash mid-write: half the bytes on disk, never renamed
                f.flush()
                os.fsync(f.fileno())
                fault_fire(action)
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        if not hasattr(os, "fchmod"):
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX: the directory entry is data of the folder); a no-op where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: str | Path, names: tuple[str, ...]) -> int:
    """Delete temp files a killed `atomic_write` left beside `names` in `folder` (.NAME.*.tmp); returns how many."""
    folder = Path(folder)
    removed = 0
    for name in names:
        for tmp in folder.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


@contextmanager
def folder_lock(folder: str | Path, what: str = "run") -> Iterator[Path]:
    """Hold an exclusive lock on `folder` (FOLDER/.sslscape.lock) for the duration; a second process refuses.

    `flock` locks belong to the open file and the kernel releases them when the process ends (SIGKILL included),
    so a stale lock file never blocks: only a live holder does. The holder's pid is written into the file for the
    message. Where `fcntl` is missing (Windows) no lock is taken.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield path
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            raise UserError(f"{str(folder)!r} is in use by another sslscape {what} (pid {holder}); wait for it to "
                            "finish or give another --out") from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def append_jsonl(path: str | Path, record: Any) -> None:
    """Append one JSON line as one `os.write` on an O_APPEND descriptor, then fsync: a crash loses at most this
    line and leaves at most one torn line at the end, after which the next append starts a fresh line
    (`read_jsonl` skips a torn line). Fault point 'metrics-append' tears the line (tests)."""
    line = json.dumps(record, default=json_default) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    try:
        if os.fstat(fd).st_size > 0:
            with open(path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    line = "\n" + line
        data = line.encode()
        if (action := fault_point("metrics-append")) is not None:
            os.write(fd, data[: len(data) // 2])
            os.fsync(fd)
            fault_fire(action)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_jsonl(path: str | Path) -> list[Any]:
    """The records of a JSON-lines file; blank lines and a torn (partially written) line are skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def atomic_write_bytes(path: str | Path, data: bytes, *, fault: str | None = None) -> Path:
    return atomic_write(path, lambda f: f.write(data), fault=fault)


def atomic_save_npy(path: str | Path, arr: np.ndarray) -> Path:
    return atomic_write(path, lambda f: np.save(f, arr))


def atomic_write_text(path: str | Path, text: str, *, fault: str | None = None) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode()), fault=fault)


def atomic_write_json(path: str | Path, obj: Any, default: Callable[[Any], Any] | None = None, *,
                      fault: str | None = None) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, default=default) + "\n", fault=fault)


def atomic_savefig(path: str | Path, fig: Any, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically (format from the target's suffix unless `format=` is given)."""
    kwargs.setdefault("format", Path(path).suffix.lstrip(".") or "png")
    return atomic_write(path, lambda f: fig.savefig(f, **kwargs))


SUFFIXES = (".npy", ".npz", ".pt", ".csv", ".tsv")

# Array roles and the dict keys / table headers that name them (compared case-insensitively).
ROLE_KEYS: dict[str, tuple[str, ...]] = {
    "embeddings": ("embeddings", "embedding", "emb", "embs", "z", "features", "feature", "feats", "feat", "x",
                   "representations", "representation", "reps", "latents", "latent", "outputs", "projections",
                   "vectors", "h"),
    "views": ("views", "view", "z_views", "augmented_views"),
    "labels": ("labels", "label", "y", "targets", "target", "classes", "class", "class_id", "class_ids"),
    "samples": ("samples", "x", "data", "inputs", "features", "images", "embeddings"),
}
ROLE_KEYS["data"] = ROLE_KEYS["samples"]
INDEX_HEADERS = ("", "index", "idx", "id", "unnamed: 0", "row", "#")
NPY_MAGIC = b"\x93NUMPY"


def _describe(arrays: dict[str, Any]) -> str:
    return ", ".join(f"{k!r} {tuple(getattr(v, 'shape', ()))}" for k, v in arrays.items())


def pick_by_role(arrays: dict[str, Any], role: str, name: str, key: str | None = None) -> str:
    """The key of the array that plays `role` in a dict of arrays (a .npz / .pt file) — never a guess.

    `key` (the user's choice) wins; else the one key named for the role (ROLE_KEYS, any case); else, when every
    other key is named for another role (e.g. 'labels'), the one left. Anything else is a one-line UserError
    listing the keys and their shapes.
    """
    keys = list(arrays)
    if key is not None:
        if key in arrays:
            return key
        folded = [k for k in keys if k.lower() == key.lower()]
        if len(folded) == 1:
            return folded[0]
        raise UserError(f"{name} has no array {key!r}; it holds {_describe(arrays)}")
    wanted = ROLE_KEYS.get(role, ())
    named = [k for k in keys if k.lower().strip() in wanted]
    if len(named) == 1:
        return named[0]
    others = {w for r, ws in ROLE_KEYS.items() if r != role and not (role in ("samples", "data") and r in (
        "embeddings", "samples", "data")) for w in ws} - set(wanted)
    rest = [k for k in keys if k.lower().strip() not in others]
    if not named and len(rest) == 1:
        return rest[0]
    if len(keys) == 1:
        return keys[0]
    options = "/".join(wanted[:3]) or role
    raise UserError(f"{name} holds {len(keys)} arrays — {_describe(arrays)} — and none is clearly the {role}; "
                    f"pass --key NAME (or name it {options!r})")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _split_rows(path: Path) -> list[list[str]]:
    import csv

    text = path.read_text(encoding="utf-8-sig")  # utf-8-sig drops a spreadsheet's byte-order mark
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise UserError(f"{path.name!r} holds no data rows")
    if path.suffix.lower() == ".tsv":
        delim = "\t"
    else:
        counts = {c: lines[0].count(c) for c in (",", "\t", ";")}
        delim = max(counts, key=counts.get) if max(counts.values()) else None
    if delim is None:  # whitespace-separated (numpy.savetxt's default)
        return [ln.split() for ln in lines]
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(lines, delimiter=delim)]
    except csv.Error as exc:  # NUL bytes, a field over the csv module's size limit
        raise UserError(f"{path.name!r} is not a readable CSV/TSV table ({exc}); save plain numbers, one row per "
                        "line") from exc


def read_table(path: Path, role: str, key: str | None = None) -> np.ndarray:
    """A numeric array (or, for labels, a column of strings/numbers) from a CSV/TSV file, read as spreadsheets,
    pandas and numpy write them: with or without a header, with a row-index column, with non-numeric columns
    (file names, class names) beside the numbers. Columns are taken by role: embeddings/samples = the numeric
    columns that are neither a row index nor named as labels; labels = the one column named for labels, or the
    only column. An ambiguous layout is refused in one line that says which columns would be taken.
    """
    rows = _split_rows(path)
    width = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != width:
            raise UserError(f"{path.name!r}: row {i + 1} has {len(r)} fields but row 1 has {width}; "
                            "every row needs the same columns")
    numeric_body = [all(_is_number(r[j]) for r in rows[1:]) for j in range(width)]
    # a header: a non-number above a numeric column, or a name any role uses (a column of class names)
    known = {w for ws in ROLE_KEYS.values() for w in ws}
    header = len(rows) > 1 and any((not _is_number(c) and numeric_body[j]) or c.lower() in known
                                   for j, c in enumerate(rows[0]))
    names = [c.strip() for c in rows[0]] if header else [f"column {j + 1}" for j in range(width)]
    body = rows[1:] if header else rows
    if not body:
        raise UserError(f"{path.name!r} has a header but no data rows")
    numeric = [all(_is_number(r[j]) for r in body) for j in range(width)]
    values = {j: np.array([float(r[j]) for r in body]) for j in range(width) if numeric[j]}
    n = len(body)

    def is_index(j: int) -> bool:
        if j != 0 or not numeric[j] or width == 1:
            return False
        v = values[j]
        named_index = header and names[j].lower() in INDEX_HEADERS
        consecutive = np.array_equal(v, np.arange(n) + v[0]) and v[0] in (0.0, 1.0)
        return consecutive and (named_index or not header)

    label_named = [j for j in range(width) if header and names[j].lower() in ROLE_KEYS["labels"]]
    if key is not None:
        chosen = [j for j in range(width) if header and names[j] == key]
        if not chosen:
            raise UserError(f"{path.name!r} has no column {key!r}; its columns are {names}")
        return values[chosen[0]] if numeric[chosen[0]] else np.array([r[chosen[0]] for r in body])
    if role == "labels":
        candidates = label_named or [j for j in range(width) if not is_index(j)]
        if len(candidates) != 1:
            raise UserError(f"{path.name!r} has columns {names}; name the label column 'label' (or give a file with "
                            "one column)")
        j = candidates[0]
        return values[j] if numeric[j] else np.array([r[j] for r in body])
    take = [j for j in range(width) if numeric[j] and not is_index(j) and j not in label_named]
    if not take:
        raise UserError(f"{path.name!r} has no numeric columns to read as {role} (columns: {names})")
    if not header:  # an integer column beside float columns: labels or an index we cannot be sure of
        ints = [j for j in take if np.all(values[j] == np.round(values[j])) and len(np.unique(values[j])) <= 1000]
        if ints and len(ints) < len(take) and ints[0] in (take[0], take[-1]) and len(ints) <= 2:
            kept = [names[j] for j in take if j not in ints]
            raise UserError(f"{path.name!r}: {names[ints[0]]} holds integers (labels or ids?) beside "
                            f"{len(take) - len(ints)} float columns; add a header naming it 'label' or 'id', or drop "
                            f"it — the {role} would be {kept[0]} … {kept[-1]}")
    return np.column_stack([values[j] for j in take])


def _load_npy(path: Path, mmap: bool) -> np.ndarray:
    with open(path, "rb") as fh:
        magic = fh.read(len(NPY_MAGIC))
        if magic != NPY_MAGIC:
            raise UserError(f"{path.name!r} is not a .npy file (no NUMPY header: it is another format or corrupt); "
                            "save the array with numpy.save")
        fh.seek(0)
        try:  # the header first: a tiny file declaring a huge shape must not make numpy allocate it
            version = np.lib.format.read_magic(fh)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(fh)
            offset = fh.tell()
        except (ValueError, TypeError, SyntaxError, EOFError, OverflowError) as exc:
            raise UserError(f"{path.name!r} has a corrupt .npy header ({' '.join(str(exc).split())[:120]}); save "
                            "it again with numpy.save") from exc
    if dtype.hasobject:
        raise UserError(f"{path.name!r} holds Python objects (dtype object), which are not loaded (they can run "
                        "code); save a numeric array")
    need = math.prod(shape) * dtype.itemsize
    if path.stat().st_size - offset < need:
        raise UserError(f"{path.name!r} is truncated: its header declares shape {tuple(shape)} ({need:,} bytes) but "
                        f"{path.stat().st_size - offset:,} bytes follow; save it again with numpy.save")
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except ValueError as exc:
        if "pickle" in str(exc) or "object" in str(exc):
            raise UserError(f"{path.name!r} holds Python objects (dtype object), which are not loaded (they can run "
                            "code); save a numeric array") from exc
        raise UserError(f"{path.name!r} is truncated or corrupt ({exc}); save it again with numpy.save") from exc
    except EOFError as exc:
        raise UserError(f"{path.name!r} is truncated (the data ends early); save it again with numpy.save") from exc


def _tensor_to_numpy(obj: Any) -> Any:
    import torch

    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    return obj


def torch_load_errors() -> tuple[type[BaseException], ...]:
    """What `torch.load(..., weights_only=True)` raises on a truncated, corrupt or foreign file: its restricted
    unpickler surfaces malformed pickle streams as IndexError/KeyError/TypeError too (found by fuzzing)."""
    import pickle
    import zipfile

    return (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, OSError, AttributeError,
            TypeError, KeyError, IndexError, UnicodeDecodeError)


def _load_pt(path: Path, role: str, key: str | None) -> np.ndarray:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)  # never unpickle code from a file
    except torch_load_errors() as exc:
        first = " ".join(str(exc).split())[:160]
        raise UserError(f"cannot read {path.name!r} as a torch.save file of tensors ({type(exc).__name__}: {first}); "
                        "save tensors or a dict of tensors with torch.save") from exc
    if isinstance(obj, dict):
        arrays = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor | np.ndarray)}
        if not arrays:
            raise UserError(f"{path.name!r} holds a dict without tensors (keys {list(obj)[:8]}); save the arrays")
        obj = arrays[pick_by_role(arrays, role, repr(path.name), key)]
    elif isinstance(obj, list | tuple):
        shapes = ", ".join(str(tuple(getattr(v, "shape", ()))) for v in obj)
        raise UserError(f"{path.name!r} holds a {type(obj).__name__} of {len(obj)} items ({shapes}); which is the "
                        f"{role} cannot be told from positions — save a dict, e.g. "
                        "torch.save({'embeddings': z, 'labels': y}, path)")
    return np.asarray(_tensor_to_numpy(obj))


def load_array(path: str | Path, what: str = "embeddings", mmap: bool = False, key: str | None = None) -> np.ndarray:
    """Load the array that plays role `what` ('embeddings', 'views', 'labels', 'samples', 'data') from a
    .npy / .npz / .pt / .csv / .tsv file; every failure is a one-line UserError about the file.

    .npz / .pt dicts: the array is chosen by role (`pick_by_role`: the key named for it, or `key`), never by
    position. CSV/TSV: `read_table`. Arrays keep their dtype (float32 stays float32); `mmap=True` memory-maps a
    .npy file. .pt files load with `weights_only=True` and .npy without pickles: a file cannot run code.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} file {str(path)!r} does not exist; check the path")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"cannot read {what} from {path.name!r}: use a .npy, .npz, .pt or .csv/.tsv file")
    if path.stat().st_size == 0:
        raise UserError(f"{what} file {path.name!r} is empty (0 bytes); save an array into it")
    try:
        if suffix == ".npy":
            arr = _load_npy(path, mmap)
        elif suffix == ".npz":
            import zipfile

            try:
                with np.load(path, allow_pickle=False) as z:
                    arrays = {k: z[k] for k in z.files}
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise UserError(f"{path.name!r} is not a valid .npz archive ({type(exc).__name__}); save it with "
                                "numpy.savez") from exc
            if not arrays:
                raise UserError(f"{path.name!r} holds no arrays; save one with numpy.savez")
            arr = arrays[pick_by_role(arrays, what, repr(path.name), key)]
        elif suffix == ".pt":
            arr = _load_pt(path, what, key)
        else:
            arr = read_table(path, what, key)
    except UserError:
        raise
    except (ValueError, OSError, UnicodeDecodeError) as exc:  # numpy raises several types for corrupt files
        detail = " ".join(str(exc).split())[:160]
        raise UserError(f"cannot read {what} file {path.name!r} ({type(exc).__name__}: {detail}); save the array with "
                        "numpy.save, numpy.savez, torch.save or as CSV") from exc
    except MemoryError as exc:  # a corrupt archive member declaring an enormous shape
        raise UserError(f"{what} file {path.name!r} declares an array too large for memory (corrupt?); save it "
                        "again") from exc
    if arr.size == 0:
        raise UserError(f"{what} file {path.name!r} holds an empty array (shape {arr.shape})")
    # real numbers only (bool, int, float): complex, dates, durations, records and strings are refused by name;
    # labels may also be strings
    allowed = "biufUS" if what == "labels" else "biuf"
    if arr.dtype.kind not in allowed:
        need = "integer or string labels" if what == "labels" else "a real-valued (float) array"
        raise UserError(f"{what} in {path.name!r} have dtype {arr.dtype}; save {need}")
    return arr


def load_samples(path: str | Path) -> np.ndarray:
    """An (n, D) float64 array of data samples (a spec's `data.samples`), finite, n ≥ 2; one-line UserError."""
    path = Path(path)
    x = np.asarray(load_array(path, "samples"), dtype=float)
    if x.ndim != 2 or x.shape[0] < 2:
        raise UserError(f"sample file {path.name!r} has shape {x.shape}; it must be (n, D) with n ≥ 2")
    if not np.all(np.isfinite(x)):
        bad = int((~np.isfinite(x)).any(axis=1).sum())
        raise UserError(f"sample file {path.name!r} has {bad} rows with NaN/Inf; clean or drop them first")
    return x


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


def read_mapping_file(path: str | Path, what: str) -> Any:
    """Parse a YAML (.yaml/.yml) or JSON file; a missing file or bad syntax is a one-line UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} file {str(path)!r} does not exist")
    is_yaml = path.suffix in (".yaml", ".yml")
    try:
        if is_yaml:
            import yaml

            # the safe loader (plain data only: no tags that build Python objects), libyaml's where installed
            return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return json.loads(path.read_text())
    except Exception as exc:
        detail = " ".join(str(exc).split())  # parser messages span several lines; the CLI prints one
        raise UserError(f"{what} file {path.name!r} is not valid {'YAML' if is_yaml else 'JSON'} ({detail}); "
                        "fix the syntax") from exc
