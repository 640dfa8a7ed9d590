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

import functools
import json
import math
import os
import re
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
    if len(keys) == 1 and keys[0].lower().strip() not in others:  # the one array, unless it is named for another role
        return keys[0]
    options = "/".join(wanted[:3]) or role
    raise UserError(f"{name} holds {len(keys)} arrays — {_describe(arrays)} — and none is clearly the {role}; "
                    f"pass --key NAME (or name it {options!r})")


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


MISSING_CELLS = ("", "nan", "-nan", "na", "n/a", "null", "none", "<na>")  # what pandas/spreadsheets write for NaN
CHECKPOINT_KEYS = ("model", "state_dict", "model_state_dict", "optimizer", "optimizer_state_dict", "optimizer_states",
                   "epoch", "global_step", "lr_schedulers", "scheduler", "config", "hyper_parameters")
_SERIES = re.compile(r"^(?P<prefix>[^\d]*?)[_\-. ]?(?P<index>\d+)$")  # embedding_0, emb.1, f2, dim 3, x10
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def plain(text: str) -> str:
    """One line of plain text: terminal escape codes removed (torch's unpickler messages carry bold codes), runs
    of whitespace collapsed."""
    return " ".join(_ANSI.sub("", text).split())


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING_CELLS or (_is_number(cell) and math.isnan(float(cell)))


def _parse_vector(cell: str) -> list[float] | None:
    """A bracketed list "[0.1, -2, 3e-4]" (pandas writing a column of lists; numpy's "[0.1 -2 3e-4]") as floats."""
    text = cell.strip()
    if len(text) < 2 or text[0] != "[" or text[-1] != "]":
        return None
    parts = text[1:-1].replace(",", " ").split()
    if not parts or not all(_is_number(p) for p in parts):
        return None
    return [float(p) for p in parts]


def _series(names: list[str], cols: list[int]) -> dict[str, list[int]]:
    """Columns named PREFIX + index (embedding_0 …, f0 …), grouped by prefix (lower case), ordered by index."""
    groups: dict[str, list[tuple[int, int]]] = {}
    for j in cols:
        match = _SERIES.match(names[j].strip())
        if match:
            groups.setdefault(match["prefix"].strip().lower(), []).append((int(match["index"]), j))
    return {p: [j for _, j in sorted(v)] for p, v in groups.items() if len(v) >= 2}


def _span(names: list[str], cols: list[int]) -> str:
    return names[cols[0]] if len(cols) == 1 else f"{names[cols[0]]} … {names[cols[-1]]}"


def _missing_message(name: str, role: str, cells: np.ndarray, names: list[str], cols: list[int], offset: int) -> str:
    """One line: how many missing/NaN cells, in how many rows and columns, the first one, and whole rows."""
    rows_bad = np.flatnonzero(cells.any(1))
    cols_bad = np.flatnonzero(cells.any(0))
    first = rows_bad[0]
    where = f"first on line {first + offset} of the file, column {names[cols[np.flatnonzero(cells[first])[0]]]!r}"
    full = np.flatnonzero(cells.all(1))
    more = ", …" if full.size > 1 else ""
    whole = (f"; {full.size} row{'s' if full.size > 1 else ''} (line {full[0] + offset}{more}) entirely empty — a "
             "diverged or padded sample?" if full.size else "")
    return (f"{name!r} has {int(cells.sum())} empty/NaN cell{'s' if cells.sum() > 1 else ''} in {rows_bad.size} of "
            f"{cells.shape[0]} rows and {cols_bad.size} of {len(cols)} {role} columns ({where}){whole}; NaN cells are "
            "never dropped silently — drop or fill those rows first (e.g. df.dropna())")


def array_names(path: Path) -> list[str]:
    """The names a file gives its arrays — .npz keys, the keys of a .pt/.pth dict, the first row of a CSV/TSV (its
    header, if it has one) — or [] (one array, or a file that cannot be read: `load_array` says why)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                return list(z.files)
        if suffix in (".pt", ".pth"):
            import torch

            obj = torch.load(path, map_location="cpu", weights_only=True)
            return [str(k) for k in obj] if isinstance(obj, dict) else []
        if suffix in (".csv", ".tsv"):
            return [c.strip() for c in _split_rows(path)[0]]
    except (UserError, *torch_load_errors()):
        return []
    return []


def read_table(path: Path, role: str, key: str | None = None) -> np.ndarray:
    """A numeric array (or, for labels, a column of strings/numbers) from a CSV/TSV file, read as spreadsheets,
    pandas, numpy and SSL tools write them — never by guessing:

    - a header or none, a row-index column, non-numeric columns (file names, class names) beside the numbers;
    - columns named as a numbered series for the role (lightly's `embedding_0 …`, `emb_3`, `feature_12`, any case):
      those columns only, in index order — other numeric columns beside them (lightly's `selected`, `masked`,
      labels) are metadata, never dimensions. `key` names a column or a series prefix (`--key f` reads f0, f1, …);
    - a column of bracketed lists ("[0.1, 0.2, …]", what pandas writes for a column of vectors): parsed;
    - otherwise the numeric columns that are neither a row index nor named as labels — refused in one line when
      integer or differently named numeric columns sit beside them (ids? flags? labels?), saying which;
    - empty or NaN cells: refused with their row and column counts (a row of NaNs: said so), never dropped.
    labels: the one column named for labels, or the only column.
    """
    rows = _split_rows(path)
    width = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != width:
            raise UserError(f"{path.name!r}: row {i + 1} has {len(r)} fields but row 1 has {width}; "
                            "every row needs the same columns")
    known = {w for ws in ROLE_KEYS.values() for w in ws}
    # a header: a non-number above a column of numbers (missing cells allowed), or a name any role uses
    numberish = [all(_is_number(r[j]) or _is_missing(r[j]) for r in rows[1:]) for j in range(width)]
    header = len(rows) > 1 and any(((not _is_number(c) and not _is_missing(c)) and numberish[j])
                                   or c.strip().lower() in known or _SERIES.match(c.strip()) is not None
                                   and not _is_number(c) for j, c in enumerate(rows[0]))
    names = [c.strip() for c in rows[0]] if header else [f"column {j + 1}" for j in range(width)]
    body = rows[1:] if header else rows
    if not body:
        raise UserError(f"{path.name!r} has a header but no data rows")
    n, offset = len(body), 2 if header else 1  # offset: the file line (1-based, blank/comment lines aside) of row 0
    cells = np.array(body, dtype=object)  # (n, width) strings
    missing = np.vectorize(_is_missing, otypes=[bool])(cells)
    number = np.vectorize(_is_number, otypes=[bool])(cells)
    numeric = [bool((number[:, j] | missing[:, j]).all() and (number[:, j] & ~missing[:, j]).any())
               for j in range(width)]

    vals = {j: np.array([np.nan if m else float(c) for c, m in zip(cells[:, j], missing[:, j], strict=True)])
            for j in range(width) if numeric[j]}

    def values(j: int) -> np.ndarray:
        return vals[j]

    def is_index(j: int) -> bool:
        if j != 0 or not numeric[j] or width == 1 or missing[:, j].any():
            return False
        v = values(j)
        named_index = header and names[j].lower() in INDEX_HEADERS
        consecutive = np.array_equal(v, np.arange(n) + v[0]) and v[0] in (0.0, 1.0)
        return consecutive and (named_index or not header)

    def take(cols: list[int]) -> np.ndarray:
        bad = missing[:, cols]
        if bad.any():
            raise UserError(_missing_message(path.name, role, bad, names, cols, offset))
        return np.column_stack([values(j) for j in cols])

    label_named = [j for j in range(width) if header and names[j].lower() in ROLE_KEYS["labels"]]
    series = _series(names, [j for j in range(width) if numeric[j]]) if header else {}
    if key is not None:
        chosen = [j for j in range(width) if header and names[j] == key]
        if chosen:
            j = chosen[0]
            return take([j]) if numeric[j] else np.array([r[j] for r in body])
        if key.lower() in series:
            return take(series[key.lower()])
        raise UserError(f"{path.name!r} has no column or numbered series {key!r}; its columns are {names}")
    if role == "labels":
        candidates = label_named or [j for j in range(width) if not is_index(j)]
        if len(candidates) != 1:
            raise UserError(f"{path.name!r} has columns {names}; name the label column 'label' (or give a file with "
                            "one column)")
        j = candidates[0]
        return take([j]).reshape(-1) if numeric[j] else np.array([r[j] for r in body])
    named = [p for p in series if p in ROLE_KEYS.get(role, ())]
    if len(named) == 1:  # lightly's embedding_0 … embedding_{d−1}: those, and nothing else
        return take(series[named[0]])
    vectors = [j for j in range(width) if not numeric[j] and all(_parse_vector(c) is not None for c in cells[:, j])]
    if vectors and (len(vectors) == 1 or any(names[j].lower() in ROLE_KEYS.get(role, ()) for j in vectors)):
        j = next((j for j in vectors if names[j].lower() in ROLE_KEYS.get(role, ())), vectors[0])
        parsed = [_parse_vector(c) for c in cells[:, j]]
        if len({len(v) for v in parsed}) != 1:
            raise UserError(f"{path.name!r}: the lists in column {names[j]!r} have different lengths "
                            f"({sorted({len(v) for v in parsed})[:4]}); every embedding needs the same d")
        return np.array(parsed, dtype=np.float64)
    cols = [j for j in range(width) if numeric[j] and not is_index(j) and j not in label_named]
    if not cols:
        raise UserError(f"{path.name!r} has no numeric columns to read as {role} (columns: {names})")
    if len(series) == 1:  # one numbered series (f0 … f15) and numeric columns outside it: which are the embeddings?
        ((prefix, inside),) = series.items()
        extra = [j for j in cols if j not in inside]
        if extra:
            raise UserError(f"{path.name!r}: numeric columns {[names[j] for j in extra][:6]} sit beside the series "
                            f"{_span(names, inside)}; which are the {role} cannot be told — pass --key {prefix} for "
                            f"the series, or name the columns embedding_0 …")
    ints = [j for j in cols if not missing[:, j].any() and np.all(values(j) == np.round(values(j)))
            and 1 < len(np.unique(values(j))) <= 1000]  # a constant column is a dead unit, not an id or a flag
    if ints and len(ints) < len(cols) and (header or (ints[0] in (cols[0], cols[-1]) and len(ints) <= 2)):
        kept = [j for j in cols if j not in ints]
        raise UserError(f"{path.name!r}: {_span(names, ints) if len(ints) <= 2 else f'{len(ints)} columns'} "
                        f"hold{'s' if len(ints) == 1 else ''} integers (labels, ids or flags?) beside "
                        f"{len(kept)} float columns; add a header naming it 'label' or 'id', name the embedding "
                        f"columns embedding_0 …, or drop it — the {role} would be {_span(names, kept)}")
    return take(cols)


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
    import struct
    import zipfile

    return (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, OSError, AttributeError,
            TypeError, KeyError, IndexError, UnicodeDecodeError, struct.error, OverflowError, MemoryError)


def _checkpoint_message(name: str, keys: list[str]) -> str:
    return (f"{name!r} is a training checkpoint (keys {keys[:6]}), not embeddings; diagnose the embeddings the run "
            "saved — `sslscape train` writes embeddings.npy beside its checkpoint — or save yours with "
            "numpy.save('embeddings.npy', z)")


def _stack_batches(items: list[Any], name: str, role: str, notes: list[str]) -> np.ndarray:
    """A list/tuple of per-batch arrays (N_b, d) — what a loop appending each batch's embeddings saves — stacked
    along rows, and said so in `notes`; anything else is refused naming torch.cat / a dict."""
    arrays = [np.asarray(_tensor_to_numpy(v)) if hasattr(v, "shape") else None for v in items]
    shapes = [tuple(a.shape) if a is not None else type(v).__name__ for a, v in zip(arrays, items, strict=True)]
    listed = ", ".join(map(str, shapes[:4])) + (", …" if len(shapes) > 4 else "")
    ndim = 1 if role == "labels" else 2
    if arrays and all(a is not None and a.ndim == ndim for a in arrays) \
            and len({a.shape[1:] for a in arrays}) == 1 and len({a.dtype.kind for a in arrays}) == 1:
        out = np.concatenate(arrays)
        notes.append(f"{name} holds a {type(items).__name__} of {len(items)} batches ({listed}): concatenated along "
                     f"rows into {tuple(out.shape)} (torch.cat(batches))")
        return out
    raise UserError(f"{name!r} holds a {type(items).__name__} of {len(items)} items ({listed}) that are not "
                    f"batches of one (N, d) {role} array, and which is the {role} cannot be told from positions — "
                    "concatenate batches with torch.cat(batches) and save one tensor, or save a dict, e.g. "
                    "torch.save({'embeddings': z, 'labels': y}, path)")


def _load_pt(path: Path, role: str, key: str | None, mmap: bool, notes: list[str]) -> np.ndarray:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)  # never unpickle code from a file
    except torch_load_errors() as exc:
        first = plain(str(exc))[:160]
        if any(w in path.name.lower() for w in ("ckpt", "checkpoint")):
            raise UserError(_checkpoint_message(path.name, ["(not readable as plain tensors)"])) from exc
        raise UserError(f"cannot read {path.name!r} as a torch.save file of tensors ({type(exc).__name__}: {first}); "
                        "save tensors or a dict of tensors with torch.save") from exc
    if isinstance(obj, dict):
        # candidates: tensors and arrays, and lists / tuples of them (per-batch tensors, stacked once picked)
        arrays = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor | np.ndarray)
                  or (isinstance(v, list | tuple) and v and all(isinstance(x, torch.Tensor | np.ndarray) for x in v))}
        named = [k for k in arrays if k.lower().strip() in ROLE_KEYS.get(role, ())]
        if key is None and not named and any(str(k).lower() in CHECKPOINT_KEYS for k in obj):
            raise UserError(_checkpoint_message(path.name, [str(k) for k in obj]))
        if not arrays:
            raise UserError(f"{path.name!r} holds a dict without tensors (keys {list(obj)[:8]}); save the arrays")
        pick = pick_by_role(arrays, role, repr(path.name), key)
        if isinstance(arrays[pick], list | tuple):
            return _stack_batches(list(arrays[pick]), f"{path.name}[{pick!r}]", role, notes)
        obj = arrays[pick]
    elif isinstance(obj, list | tuple):
        return _stack_batches(list(obj), path.name, role, notes)
    return np.asarray(_tensor_to_numpy(obj))


def _load_npz(path: Path, role: str, key: str | None, mmap: bool, notes: list[str]) -> np.ndarray:
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UserError(f"{path.name!r} is not a valid .npz archive ({type(exc).__name__}); save it with "
                        "numpy.savez") from exc
    if not arrays:
        raise UserError(f"{path.name!r} holds no arrays; save one with numpy.savez")
    return arrays[pick_by_role(arrays, role, repr(path.name), key)]


def _load_checkpoint(path: Path, role: str, key: str | None, mmap: bool, notes: list[str]) -> np.ndarray:
    raise UserError(_checkpoint_message(path.name, ["(a Lightning .ckpt file)"]))


Loader = Callable[[Path, str, "str | None", bool, list[str]], np.ndarray]
# suffix → loader(path, role, key, mmap, notes); every message about formats is built from these keys
LOADERS: dict[str, Loader] = {
    ".npy": lambda path, role, key, mmap, notes: _load_npy(path, mmap),
    ".npz": _load_npz,
    ".pt": _load_pt,
    ".pth": _load_pt,
    ".csv": lambda path, role, key, mmap, notes: read_table(path, role, key),
    ".tsv": lambda path, role, key, mmap, notes: read_table(path, role, key),
    ".ckpt": _load_checkpoint,
}
SUFFIXES = tuple(s for s in LOADERS if LOADERS[s] is not _load_checkpoint)


def formats() -> str:
    """The readable formats, in words (for help and error messages): '.npy, .npz, .pt, .pth, .csv or .tsv'."""
    return ", ".join(SUFFIXES[:-1]) + f" or {SUFFIXES[-1]}"


def array_files(folder: Path) -> list[Path]:
    """The files in `folder` (not recursive) that `load_array` reads, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def load_array(path: str | Path, what: str = "embeddings", mmap: bool = False, key: str | None = None,
               notes: list[str] | None = None) -> np.ndarray:
    """Load the array that plays role `what` ('embeddings', 'views', 'labels', 'samples', 'data') from a file of
    one of the `LOADERS` formats; every failure is a one-line plain-text UserError about the file.

    .npz / .pt dicts: the array is chosen by role (`pick_by_role`: the key named for it, or `key`), never by
    position; a .pt/.pth list or tuple of per-batch tensors is stacked along rows (said in `notes`); a training
    checkpoint is named as such. CSV/TSV: `read_table`. Arrays keep their dtype (float32 stays float32);
    `mmap=True` memory-maps a .npy file. .pt files load with `weights_only=True` and .npy without pickles: a file
    cannot run code. `notes`: a list that receives what was done beyond reading (one sentence each).
    """
    path = Path(path)
    notes = [] if notes is None else notes
    if path.is_dir():
        inside = [p.name for p in array_files(path)]
        listed = f"; it holds {', '.join(inside[:5])}{', …' if len(inside) > 5 else ''}" if inside else \
            f"; it holds no {formats()} file"
        raise UserError(f"{what} path {str(path)!r} is a directory, not a file — name a file in it{listed}")
    if not path.is_file():
        raise UserError(f"{what} file {str(path)!r} does not exist; check the path")
    suffix = path.suffix.lower()
    if suffix not in LOADERS:
        raise UserError(f"cannot read {what} from {path.name!r}: use a {formats()} file")
    if path.stat().st_size == 0:
        raise UserError(f"{what} file {path.name!r} is empty (0 bytes); save an array into it")
    try:
        arr = LOADERS[suffix](path, what, key, mmap, notes)
    except UserError as exc:
        raise UserError(plain(str(exc))) from exc.__cause__
    except (ValueError, OSError, UnicodeDecodeError) as exc:  # numpy raises several types for corrupt files
        detail = plain(str(exc))[:160]
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


def load_embeddings(path: str | Path, key: str | None = None, notes: list[str] | None = None) -> np.ndarray:
    """An (N, d) array, memory-mapped when it is a .npy file. N ≤ d is accepted: only N − 1 directions are
    measurable after centring, and the diagnosis says so. `notes` receives what was done beyond reading."""
    arr = load_array(path, "embeddings", mmap=True, key=key, notes=notes)
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


@functools.cache
def yaml_loader() -> Any:
    """PyYAML's safe loader (libyaml's where installed) that also reads 1e-6 as a number: YAML 1.1 wants a dot
    (1.0e-6) and PyYAML would hand a spec the string '1e-6', which the spec's numeric fields refuse."""
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    exponent = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
    Loader.add_implicit_resolver("tag:yaml.org,2002:float", exponent, list("-+0123456789"))
    return Loader


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
            return yaml.load(path.read_text(), Loader=yaml_loader())
        return json.loads(path.read_text())
    except Exception as exc:
        detail = " ".join(str(exc).split())  # parser messages span several lines; the CLI prints one
        raise UserError(f"{what} file {path.name!r} is not valid {'YAML' if is_yaml else 'JSON'} ({detail}); "
                        "fix the syntax") from exc
