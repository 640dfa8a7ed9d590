"""Where and how a result was computed: sslscape version, git commit, library versions, machine, date.

Every `result.json` and `summary.json` carries this record, so a number in a report can be traced to the code
and the machine that produced it.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

UNKNOWN = "unknown"


def utc_now() -> str:
    """The current time as 'YYYY-MM-DD HH:MM:SS UTC' (what reports and consoles show)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def utc_of_mtime(path: Path) -> str:
    """A file's modification time in the format of `utc_now`."""
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


PACKAGE = Path(__file__).resolve().parent.parent  # src/sslscape


def _git(*args: str) -> str | None:
    here = PACKAGE
    try:
        out = subprocess.run(["git", "-C", str(here), *args], capture_output=True, text=True, timeout=10,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@lru_cache(maxsize=1)
def git_state() -> tuple[str, bool | None]:
    """(commit, dirty) of the checkout sslscape runs from; ('unknown', None) outside a checkout.

    The package file must be tracked by that checkout: an installed copy inside some other repository (a
    virtual environment in a project folder) reports 'unknown' rather than that repository's commit.
    """
    commit = _git("rev-parse", "HEAD")
    if not commit or _git("ls-files", "--error-unmatch", "__init__.py") is None:
        return UNKNOWN, None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return commit, (None if status is None else bool(status))


def _version(module: str) -> str:
    try:
        return str(__import__(module).__version__)
    except Exception:  # noqa: BLE001 - a missing or broken library is recorded, never fatal
        return UNKNOWN


def provenance(size: str, seeds: tuple[int, ...] | list[int] | None = None, **extra: Any) -> dict[str, Any]:
    """The provenance record: versions (sslscape, python, numpy, torch), git commit (and whether the working tree
    differs from it), platform, machine, CPU cores, UTC date, run size ('tiny' | 'quick' | 'full'), quick
    (size ≠ 'full') and seeds; `extra` (workers, …) is added as given."""
    from .. import __version__

    commit, dirty = git_state()
    return {"sslscape": __version__, "git_commit": commit, "git_dirty": dirty,
            "python": platform.python_version(), "numpy": _version("numpy"), "torch": _version("torch"),
            "platform": platform.platform(), "machine": platform.machine(), "cores": os.cpu_count(),
            "date": utc_now(), "size": size, "quick": size != "full",
            "seeds": None if seeds is None else [int(s) for s in seeds], **extra}
