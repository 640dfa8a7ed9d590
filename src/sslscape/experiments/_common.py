"""What every experiment shares: the result type, sizes, seeds, scoring and writing.

An experiment's JSON (`result.json` in its folder) holds, per point: the parameters, the theory value, the
trained values (one per seed) and an `agree` flag (None where the point is shown but not scored, with the reason
in `unsupported`). `n_agree` / `n_scored` count the scored points.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..io import atomic_write_text, json_default
from ..spec import Spec, parse_spec

RESULT_FILE = "result.json"


@dataclass(frozen=True)
class ExperimentResult:
    name: str
    claim: str
    command: str
    quick: bool
    seeds: tuple[int, ...]
    points: tuple[dict, ...]
    n_agree: int
    n_scored: int
    unsupported: tuple[dict, ...]       # {"claim": ..., "reason": ...}: what theory or training did not support
    figures: tuple[str, ...]            # PNG paths
    wall_s: float
    summary: str                        # one or two sentences: what came out
    extras: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=json_default))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def check_out_dir(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"output folder {str(out)!r} is a file; give a folder (it is created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create output folder {str(out)!r} ({exc.strerror}); give a writable folder") \
            from exc
    return out


def start(name: str, out_dir: str | Path, quick: bool, seeds: list[int] | None,
          size: Any) -> tuple[float, Any, tuple[int, ...], Path]:
    """What every experiment's `run` begins with: a clock, its size, its seeds and its checked output folder."""
    return (time.perf_counter(), size, seeds_for(quick, seeds, size.n_seeds, size.n_seeds),
            check_out_dir(Path(out_dir) / name))


def sweep_grid(fn: Any, grid: list[dict], seeds: tuple[int, ...], out: Path, workers: int, use_ray: bool,
               name: str) -> dict[str, dict]:
    """Train every grid point with every seed (resumable, parallel; see `_sweep.run_sweep`)."""
    from ._sweep import Point, run_sweep

    return run_sweep(fn, [Point(p, s) for p in grid for s in seeds], out, workers=workers, use_ray=use_ray,
                     label=name)


def spec_of(**fields: Any) -> Spec:
    return parse_spec(fields)


def majority(values: list[int]) -> int:
    """The most common value (ties: the smallest) — a point's trained rank over seeds."""
    vals, counts = np.unique(np.asarray(values, int), return_counts=True)
    return int(vals[np.argmax(counts)])


def seeds_for(quick: bool, seeds: list[int] | tuple[int, ...] | None, quick_n: int, full_n: int) -> tuple[int, ...]:
    if seeds:
        return tuple(int(s) for s in seeds)
    return tuple(range(quick_n if quick else full_n))


def trained_by_params(records: dict[str, dict]) -> dict[str, list[dict]]:
    """Records grouped by their params (JSON key), each list sorted by seed: {"seed", **result}."""
    out: dict[str, list[dict]] = {}
    for rec in records.values():
        out.setdefault(params_key(rec["params"]), []).append({"seed": rec["seed"], **rec["result"],
                                                              "wall_s": round(rec["wall_s"], 3)})
    for v in out.values():
        v.sort(key=lambda r: r["seed"])
    return out


def params_key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=float)


def count(points: list[dict]) -> tuple[int, int]:
    scored = [p for p in points if p.get("agree") is not None]
    return sum(bool(p["agree"]) for p in scored), len(scored)


def finish(out: Path, name: str, claim: str, quick: bool, seeds: tuple[int, ...], points: list[dict],
           unsupported: list[dict], figures: list[Path], t0: float, summary: str,
           extras: dict | None = None) -> ExperimentResult:
    n_agree, n_scored = count(points)
    cmd = f"sslscape reproduce {name}{' --quick' if quick else ''} --out {out.parent}"
    result = ExperimentResult(name, claim, cmd, quick, seeds, tuple(points), n_agree, n_scored, tuple(unsupported),
                              tuple(str(f) for f in figures), round(time.perf_counter() - t0, 2), summary,
                              extras or {})
    atomic_write_text(out / RESULT_FILE, result.to_json() + "\n")
    return result


def round_list(values: Any, digits: int = 5) -> list[float]:
    return [float(f"{float(v):.{digits}g}") for v in values]
