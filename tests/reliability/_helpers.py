"""Shared by the reliability tests: a small training config (MLP, InfoNCE, Adam, image augmentations on 8×8
images: every kind of state a checkpoint must carry), and `sslscape` run as a user runs it.

The images are synthetic (ten noisy class templates, `images()`), so a
`sslscape train` subprocess pays for Python, torch and sslscape only — not for scikit-learn's digits loader —
and the crash tests, which start several, stay within the CI budget.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]

CONFIG = {
    "spec": {"objective": "infonce", "similarity": "cosine", "temperature": 0.5, "embed_dim": 16,
             "weight_decay": 1e-4},
    "model": {"kind": "mlp", "hidden": [32]},
    "optimizer": {"name": "adam"},
    "data": {"source": "file", "eval_size": 128, "augment": "image"},  # + path, labels: `images()`
    "schedule": {"steps": 60, "batch_size": 32, "lr": 0.003, "log_every": 10, "checkpoint_every": 20},
    "eval": {"knn": True, "knn_k": 5, "max_train": 256},
    "seed": 3,
    "device": "cpu",
}


@cache
def images() -> dict[str, str]:
    """Ten 8×8 class templates plus noise in [0, 1] (float32) and their labels, written once per process to one
    folder: every config of the process names the same absolute paths, so their trajectory hashes agree."""
    folder = Path(tempfile.mkdtemp(prefix="sslscape-reliability-"))
    rng = np.random.default_rng(0)
    templates = rng.random((10, 8, 8))
    labels = rng.integers(0, 10, 480)
    pictures = np.clip(templates[labels] + 0.2 * rng.standard_normal((480, 8, 8)), 0, 1).astype(np.float32)
    np.save(folder / "images.npy", pictures)
    np.save(folder / "labels.npy", labels)
    return {"path": str(folder / "images.npy"), "labels": str(folder / "labels.npy")}


def write_config(folder: Path, **schedule: int) -> Path:
    """config.yaml in `folder`; keyword arguments override `schedule` entries."""
    raw = {**CONFIG, "data": {**CONFIG["data"], **images()}, "schedule": {**CONFIG["schedule"], **schedule}}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def sslscape(*args: str, fault: str | None = None, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh process (one torch thread, as the in-process reference runs)."""
    full = {k: v for k, v in os.environ.items() if k != "SSLSCAPE_FAULT"}
    full.update({"SSLSCAPE_THREADS": "1", **env})
    if fault is not None:
        full["SSLSCAPE_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "sslscape.cli", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=timeout)


def cli(*args: str) -> tuple[int, str, str]:
    """Run `sslscape ARGS` in this process (no start-up cost); (exit code, stdout, stderr)."""
    from sslscape.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
    return (code if isinstance(code, int) else 1), out.getvalue(), err.getvalue()
