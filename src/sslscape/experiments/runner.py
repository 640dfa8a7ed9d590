"""The one runner of the paper's experiments (Ziyin, Lubana, Ueda & Tanaka, "What shapes the loss landscape of
self-supervised learning?", ICLR 2023, arXiv:2210.00638).

An experiment is declared by a module with module-level constants and small pure functions (`declare` turns them
into an `Experiment`): its claim, its sizes, a grid of points, the spec of a point (or its own module-level
`train_point(params, seed)`), the theory of a point, a figure and a summary. `run_experiment` does the rest, the
same way for all nine:

  1. size and seeds, the experiment's folder (`force`: that experiment's records are discarded first);
  2. `prepare` (data files, moments), then the grid;
  3. the sweeps — exact-solver jobs (if any) and training jobs, resumable and parallel (`_sweep.run_sweep`),
     counting how many jobs were already in `points.jsonl` (all of them: the result is *cached*);
  4. per point: the theory, the trained runs by seed, their majority rank and the ONE agreement rule
     (`_theory.agrees`, i.e. `sslscape.diagnostics.rank.agreement`); optionally the surviving input axes too;
  5. the list of what was not supported (with reasons), the figure, the summary and the provenance, written to
     `FOLDER/NAME/result.json`.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..io import atomic_write_text
from ..result import Result
from ._sweep import POINTS_FILE, Point, PointFn, load_records, run_sweep
from ._theory import agrees, theory_point
from .provenance import provenance, utc_now, utc_of_mtime

RESULT_FILE = "result.json"
SIZES = ("tiny", "quick", "full")
DEFAULT_REASON = "training did not reach the predicted rank within the step budget"
Progress = Callable[..., None]  # progress(done, total, info): what the CLI's progress bar draws


@dataclass(frozen=True)
class Size:
    """How big a run is: training steps, seeds, Adam's learning rate, and the experiment's own settings (grid
    axes, sample sizes), read as attributes (`size.scales` is `size.settings['scales']`)."""

    steps: int
    n_seeds: int
    lr: float
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:  # called only when no field has the name
        settings = self.__dict__.get("settings") or {}
        if name in settings:
            return settings[name]
        raise AttributeError(f"Size has no setting {name!r}")


def size(steps: int, n_seeds: int, lr: float = 0.1, **settings: Any) -> Size:
    """A `Size` with the experiment's own settings as keywords (no setting may be called like a field)."""
    clash = {"settings"} & settings.keys()
    if clash:
        raise ValueError(f"a size setting may not be called {clash.pop()!r} (a Size field)")
    return Size(steps=steps, n_seeds=n_seeds, lr=lr, settings=settings)


@dataclass(frozen=True)
class Context:
    """What an experiment's functions see: the size (and its name), the seeds, the experiment's folder, what
    `prepare` returned (`data`) and the exact-solver results by point (`solution(params)`)."""

    size_name: str
    size: Size
    seeds: tuple[int, ...]
    folder: Path
    data: Mapping[str, Any] = field(default_factory=dict)
    solved: Mapping[str, dict] = field(default_factory=dict)

    def solution(self, params: dict) -> dict:
        return self.solved[params_key(params)]


@dataclass(frozen=True)
class Experiment:
    """A paper claim as data and small pure functions (module docstring; `declare` builds one from a module).

    grid(ctx) → [params]                 the points (JSON-able dicts; `steps`/`lr` included where training uses them)
    spec(params) → Spec                  the point's problem; default training and theory use it
    train_point(params, seed) → dict     module-level (pickled to workers); at least {'rank', …}; default: train
                                         spec(params) with the point's steps and lr (`_training.train_at`)
    theory(params, ctx) → dict           at least {'rank', 'spectrum'} (the agreement rule's input); optional
                                         'rank_max' (depth ≥ 2 metastable band) and 'alive_axes'; default:
                                         `_theory.theory_point(spec(params))`
    label(params) → str                  a point in words ("spectral at γ = 2.5")
    figure(points, ctx, path) → path(s)  drawn with `sslscape.report.figures`
    summary(points, ctx) → str           one or two sentences: what came out
    Optional: prepare(size, seeds, folder) → ctx.data; solve_point/solve_params (exact-solver jobs run in the
    sweep, one per point at seed 0); scored(params) (False: shown, not scored); directions (the surviving input
    axes must match too); describe(point, ctx) → extra point fields; reason(point) → why a point disagrees;
    notes(points, ctx) → more 'unsupported' entries; extras(points, ctx) → result extras.
    """

    name: str
    paper_result: str
    claim: str
    expected: str
    sizes: Mapping[str, Size]
    grid: Callable[[Context], list[dict]]
    train_point: PointFn
    theory: Callable[[dict, Context], dict]
    label: Callable[[dict], str]
    figure: Callable[[list[dict], Context, Path], Any]
    summary: Callable[[list[dict], Context], str]
    spec: Callable[[dict], Any] | None = None
    prepare: Callable[[Size, tuple[int, ...], Path], dict] | None = None
    solve_point: PointFn | None = None
    solve_params: Callable[[dict, Context], dict] | None = None
    scored: Callable[[dict], bool] | None = None
    directions: bool = False
    describe: Callable[[dict, Context], dict] | None = None
    reason: Callable[[dict], str] | None = None
    notes: Callable[[list[dict], Context], list[dict]] | None = None
    extras: Callable[[list[dict], Context], dict] | None = None

    def command(self, size_name: str, out_dir: str | Path) -> str:
        flag = {"quick": " --quick", "tiny": " --size tiny"}.get(size_name, "")
        return f"sslscape reproduce {self.name}{flag} --out {out_dir}"

    def run(self, out_dir: str | Path, quick: bool = True, seeds: Sequence[int] | None = None, workers: int = 2,
            use_ray: bool = False, size: Size | str | None = None, force: bool = False,
            progress: Progress | None = None) -> ExperimentResult:
        """`run_experiment(self, …)`."""
        return run_experiment(self, out_dir, quick=quick, seeds=seeds, workers=workers, use_ray=use_ray,
                              size=size, force=force, progress=progress)


REQUIRED = ("grid", "label", "figure", "summary")
OPTIONAL = ("spec", "prepare", "solve_point", "solve_params", "scored", "describe", "reason", "notes", "extras")


def train_spec_point(module: str, params: dict, seed: int) -> dict:
    """The default training of a point: the declaring module's `spec(params)`, trained with the point's steps and
    lr. Bound to the module's name with `functools.partial`, it pickles by reference like any module function."""
    from ._training import train_at

    return train_at(importlib.import_module(module).spec(params), params, seed).summary()


def declare(module_name: str) -> Experiment:
    """The `Experiment` a module declares with module-level names: NAME, CLAIM, EXPECTED, SIZES ({'tiny', 'quick',
    'full'} → Size), grid, label, figure, summary, and spec and/or train_point; optionally theory, prepare,
    solve_point, solve_params, scored, describe, reason, notes, extras and DIRECTIONS. The paper's result comes
    from the registry (`sslscape.experiments.PAPER_RESULTS`). Call it at the end of the module:
    `EXPERIMENT = declare(__name__)`."""
    from . import PAPER_RESULTS

    module = sys.modules[module_name]
    spec = getattr(module, "spec", None)
    for own in ("train_point", "theory"):
        if spec is None and not hasattr(module, own):
            raise TypeError(f"{module_name} declares neither spec(params) nor {own}")
    missing = [n for n in ("NAME", "CLAIM", "EXPECTED", "SIZES", *REQUIRED) if not hasattr(module, n)]
    if missing:
        raise TypeError(f"{module_name} does not declare {', '.join(missing)}")
    declared = {n: getattr(module, n) for n in REQUIRED + OPTIONAL if hasattr(module, n)}
    return Experiment(**{**declared,
                         "name": module.NAME, "paper_result": PAPER_RESULTS[module.NAME], "claim": module.CLAIM,
                         "expected": module.EXPECTED, "sizes": module.SIZES,
                         "directions": getattr(module, "DIRECTIONS", False),
                         "train_point": getattr(module, "train_point", None) or partial(train_spec_point, module_name),
                         "theory": getattr(module, "theory", None) or (lambda params, ctx: theory_point(spec(params)))})


@dataclass(frozen=True, kw_only=True)
class ExperimentResult(Result):
    """One experiment's outcome (`FOLDER/NAME/result.json`). Per point: params, label, theory, trained runs (one
    per seed), trained_rank (their majority) and agree (None: shown, not scored). `cache`: jobs, from_cache,
    cached (every job came from an earlier run), computed (when the records were computed), compute_s (their
    summed training time). `figures`: file names in the experiment's folder."""

    name: str
    paper_result: str
    claim: str
    expected: str = ""
    command: str
    size: str = "quick"
    quick: bool = True
    seeds: tuple[int, ...]
    points: tuple[dict, ...]
    n_agree: int
    n_scored: int
    unsupported: tuple[dict, ...] = ()
    figures: tuple[str, ...] = ()
    summary: str
    wall_s: float
    cache: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)

    @property
    def cached(self) -> bool:
        return bool(self.cache.get("cached"))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def check_out_dir(out_dir: str | Path) -> Path:
    """The output folder, created if missing; a UserError if it is a file or cannot be created."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"output folder {str(out)!r} is a file; give a folder (it is created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create output folder {str(out)!r} ({exc.strerror}); give a writable folder") \
            from exc
    return out


def params_key(params: dict) -> str:
    """A point's parameters as a canonical JSON string (the key that groups its seeds)."""
    return json.dumps(params, sort_keys=True, default=float)


def majority(values: Sequence[int]) -> int:
    """The most common value (ties: the smallest) — a point's trained rank over seeds."""
    vals, counts = np.unique(np.asarray(values, int), return_counts=True)
    return int(vals[np.argmax(counts)])


def pick_size(experiment: Experiment, quick: bool, chosen: Size | str | None) -> tuple[str, Size]:
    """(name, Size): `chosen` by name ('tiny' | 'quick' | 'full') or object, else 'quick' / 'full' by `quick`."""
    if isinstance(chosen, Size):
        name = next((k for k, v in experiment.sizes.items() if v is chosen), "custom")
        return name, chosen
    name = chosen or ("quick" if quick else "full")
    if name not in experiment.sizes:
        raise UserError(f"unknown size {name!r}; choose one of: {', '.join(experiment.sizes)}")
    return name, experiment.sizes[name]


def discard_records(folder: Path) -> None:
    """Forget an experiment's earlier results (`--force`): its sweep records and its result.json."""
    for name in (POINTS_FILE, RESULT_FILE):
        (folder / name).unlink(missing_ok=True)


def runs_by_point(records: Mapping[str, dict]) -> dict[str, list[dict]]:
    """Sweep records grouped by their params (`params_key`), each list sorted by seed: {"seed", **result}."""
    out: dict[str, list[dict]] = {}
    for rec in records.values():
        out.setdefault(params_key(rec["params"]), []).append({"seed": rec["seed"], **rec["result"],
                                                              "wall_s": round(rec["wall_s"], 3)})
    for runs in out.values():
        runs.sort(key=lambda r: r["seed"])
    return out


def score_point(experiment: Experiment, params: dict, theory: dict, runs: list[dict]) -> dict:
    """A point's record: majority trained rank, the agreement rule, and (where both sides say which input axes
    survive) the share of runs whose surviving axes equal the theory's."""
    rank = majority([r["rank"] for r in runs])
    scored = experiment.scored(params) if experiment.scored else True
    point = {"params": params, "label": experiment.label(params), "theory": theory, "trained": runs,
             "trained_rank": rank, "agree": agrees(theory, rank) if scored else None}
    if theory.get("alive_axes") is not None and all(r.get("alive_axes") is not None for r in runs):
        same = [r["alive_axes"] == theory["alive_axes"] for r in runs]
        point["directions_agree"] = sum(same) / len(same)
        if experiment.directions and scored:
            point["agree"] = point["agree"] and all(same)
    return point


def unsupported_of(experiment: Experiment, points: list[dict]) -> list[dict]:
    """{claim, reason} for every scored point that disagrees (the experiment's `reason`, else the default)."""
    out = []
    for p in points:
        if p["agree"] is not False:
            continue
        claim = f"{p['label']}: trained rank {p['trained_rank']} vs predicted {p['theory']['rank']}"
        if p.get("directions_agree", 1.0) < 1.0:
            claim += (f"; surviving axes trained {p['trained'][0]['alive_axes']} vs theory "
                      f"{p['theory']['alive_axes']}")
        out.append({"claim": claim, "reason": experiment.reason(p) if experiment.reason else DEFAULT_REASON})
    return out


def _sweep(fn: PointFn | None, jobs: list[Point], folder: Path, workers: int, use_ray: bool, label: str,
           progress: Progress | None, offset: int, total: int, info: str) -> dict[str, dict]:
    if not jobs or fn is None:
        return {}
    tell = None if progress is None else (lambda done, _n: progress(offset + done, total, info))
    return run_sweep(fn, jobs, folder, workers=workers, use_ray=use_ray, label=label, progress=tell)


def run_experiment(experiment: Experiment, out_dir: str | Path, *, quick: bool = True,
                   seeds: Sequence[int] | None = None, workers: int = 2, use_ray: bool = False,
                   size: Size | str | None = None, force: bool = False,
                   progress: Progress | None = None) -> ExperimentResult:
    """Run `experiment` into `out_dir/NAME/` (module docstring) and return what it wrote to result.json.

    size: 'tiny' (seconds; the tests), 'quick' (CPU minutes) or 'full', or a `Size`; default by `quick`.
    seeds: default range(size.n_seeds). workers ≤ 1: in this process. force: recompute every job.
    progress(done, total, info) is called as jobs finish. Errors: UserError for a bad folder or size name.
    """
    t0 = time.perf_counter()
    size_name, chosen = pick_size(experiment, quick, size)
    seeds_ = tuple(int(s) for s in seeds) if seeds else tuple(range(chosen.n_seeds))
    folder = check_out_dir(Path(out_dir) / experiment.name)
    if force:
        discard_records(folder)
    ctx = Context(size_name, chosen, seeds_, folder,
                  experiment.prepare(chosen, seeds_, folder) if experiment.prepare else {})
    grid = experiment.grid(ctx)
    solve_jobs = ([Point(experiment.solve_params(p, ctx), 0) for p in grid]
                  if experiment.solve_point and experiment.solve_params else [])
    train_jobs = [Point(p, s) for p in grid for s in seeds_]
    keys = {j.key for j in solve_jobs + train_jobs}
    n_cached = len(keys & load_records(folder / POINTS_FILE).keys())
    if progress is not None:
        progress(n_cached, len(keys), "from cache" if n_cached else "")
    n_solve = len({j.key for j in solve_jobs})
    solved = _sweep(experiment.solve_point, solve_jobs, folder, workers, use_ray, experiment.name, progress,
                    0, len(keys), "exact solver")
    records = _sweep(experiment.train_point, train_jobs, folder, workers, use_ray, experiment.name, progress,
                     n_solve, len(keys), "training")
    if solve_jobs:
        ctx = replace(ctx, solved={params_key(p): solved[j.key]["result"] for p, j in zip(grid, solve_jobs,
                                                                                           strict=True)})
    runs = runs_by_point(records)
    points = []
    for p in grid:
        point = score_point(experiment, p, experiment.theory(p, ctx), runs[params_key(p)])
        if experiment.describe:
            point.update(experiment.describe(point, ctx))
        points.append(point)
    unsupported = unsupported_of(experiment, points) + (experiment.notes(points, ctx) if experiment.notes else [])
    drawn = experiment.figure(points, ctx, folder / f"{experiment.name}.png")
    figures = tuple(Path(f).name for f in (drawn if isinstance(drawn, list | tuple) else [drawn]))
    cached = n_cached == len(keys) > 0
    all_records = {**solved, **records}
    cache = {"jobs": len(keys), "from_cache": n_cached, "cached": cached,
             "computed": utc_of_mtime(folder / POINTS_FILE) if cached else utc_now(),
             "compute_s": round(sum(r["wall_s"] for r in all_records.values()), 2)}
    scored = [p for p in points if p["agree"] is not None]
    result = ExperimentResult(
        name=experiment.name, paper_result=experiment.paper_result, claim=experiment.claim,
        expected=experiment.expected, command=experiment.command(size_name, out_dir), size=size_name,
        quick=size_name != "full", seeds=seeds_, points=tuple(points), n_agree=sum(bool(p["agree"]) for p in scored),
        n_scored=len(scored), unsupported=tuple(unsupported), figures=figures,
        wall_s=round(time.perf_counter() - t0, 2), summary=experiment.summary(points, ctx), cache=cache,
        provenance=provenance(size_name, seeds_, workers=workers, ray=use_ray),
        extras=experiment.extras(points, ctx) if experiment.extras else {})
    atomic_write_text(folder / RESULT_FILE, result.to_json() + "\n")
    return result
