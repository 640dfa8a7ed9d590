"""Resumable, parallel sweeps: one record per finished point in `points.jsonl`, local processes or Ray.

A point is a JSON-able parameter dict plus a seed; its key is a hash of both, so a rerun skips every point whose
record is already in the file. A record is one JSON line appended with a single `os.write` on an O_APPEND
descriptor, then fsync'd: a killed run leaves at most one torn last line, which `load_records` ignores (and the
next append starts on a fresh line), so rerunning resumes where the kill happened.

Workers run one torch thread each: tiny models on a busy 2-core machine are ~15× slower with 2 threads per
process (lock contention), and two single-thread workers use both cores.

Failures (docs/reliability.md): one sweep per folder (a lock: a second process refuses); on Ray a task whose worker
dies is retried (`RAY_RETRIES` times) and, if it still fails, every other point is recorded and the sweep ends with
a one-line UserError naming the failed points — a rerun computes only those. A killed driver loses at most the
points in flight; a rerun neither loses nor repeats a point (tests/experiments/test_sweep.py).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..io import append_jsonl, folder_lock, json_default, read_jsonl

POINTS_FILE = "points.jsonl"
RAY_RETRIES = 2  # a task whose worker died (preempted, OOM-killed) runs again up to this often
PointFn = Callable[[dict, int], dict]


@dataclass(frozen=True)
class Point:
    params: dict
    seed: int

    @property
    def key(self) -> str:
        return point_key(self.params, self.seed)


def point_key(params: dict, seed: int) -> str:
    blob = json.dumps({"params": params, "seed": seed}, sort_keys=True, default=float)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def load_records(path: Path) -> dict[str, dict]:
    """Finished records by key; a torn (partially written) line from a killed run is skipped."""
    return {rec["key"]: rec for rec in read_jsonl(path) if isinstance(rec, dict) and "key" in rec}


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _timed(fn: PointFn, params: dict, seed: int) -> dict:
    _init_worker()
    t0 = time.perf_counter()
    out = fn(params, seed)
    return {"result": out, "wall_s": time.perf_counter() - t0}


def run_sweep(fn: PointFn, points: Sequence[Point], out_dir: Path, *, workers: int = 2, use_ray: bool = False,
              label: str = "sweep", progress: Callable[[int, int], None] | None = None) -> dict[str, dict]:
    """Run `fn(params, seed)` for every point not yet in out_dir/points.jsonl; return all records by key.

    `fn` must be a module-level function (it is pickled by reference). Records: {key, params, seed, result,
    wall_s}. workers ≤ 1 runs in this process (no start-up cost; what the tests use). One sweep per folder: a
    second process on `out_dir` gets a UserError. Points that fail (a worker died beyond the retries) are not
    recorded and end the sweep with a UserError after every other point is done.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(out_dir, "sweep"):
        return _run_locked(fn, points, out_dir, workers, use_ray, progress)


def _run_locked(fn: PointFn, points: Sequence[Point], out_dir: Path, workers: int, use_ray: bool,
                progress: Callable[[int, int], None] | None) -> dict[str, dict]:
    path = out_dir / POINTS_FILE
    done = load_records(path)
    unique: dict[str, Point] = {}
    for p in points:
        unique.setdefault(p.key, p)
    todo = [p for k, p in unique.items() if k not in done]
    if todo:
        def record(p: Point, timed: dict) -> None:
            rec = {"key": p.key, "params": p.params, "seed": p.seed, **timed}
            append_jsonl(path, rec)
            done[p.key] = json.loads(json.dumps(rec, default=json_default))
            if progress is not None:
                progress(sum(k in done for k in unique), len(unique))

        if use_ray:
            _run_ray(fn, todo, workers, record)
        elif workers <= 1 or len(todo) == 1:
            from ..threads import torch_threads

            with torch_threads(1):
                for p in todo:
                    record(p, _timed(fn, p.params, p.seed))
        else:
            _run_pool(fn, todo, workers, record)
    return {k: done[k] for k in unique}


def _run_pool(fn: PointFn, todo: list[Point], workers: int, record: Callable[[Point, dict], None]) -> None:
    import multiprocessing as mp
    from concurrent.futures.process import BrokenProcessPool

    # forkserver: no fork of a parent holding torch/OpenMP threads (fork + threads can deadlock)
    ctx = mp.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx,
                             initializer=_init_worker) as pool:
        pending = {pool.submit(_timed, fn, p.params, p.seed): p for p in todo}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                point = pending.pop(fut)
                try:
                    timed = fut.result()
                except BrokenProcessPool as exc:
                    lost = len(pending) + 1
                    raise UserError(f"a worker process died (killed or out of memory); {lost} point(s) of this run "
                                    "were not recorded — run the sweep again to compute only those") from exc
                record(point, timed)


def _run_ray(fn: PointFn, todo: list[Point], workers: int, record: Callable[[Point, dict], None]) -> None:
    """Ray tasks (one CPU each, retried `RAY_RETRIES` times when their worker dies); records as they finish."""
    try:
        import ray
        from ray.exceptions import RayError, RayTaskError
    except ImportError as exc:
        raise UserError("--ray needs Ray: pip install 'sslscape[ray]' (or run without --ray to use local "
                        "processes)") from exc
    if not ray.is_initialized():
        try:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, ignore_reinit_error=True,
                     log_to_driver=False)
        except Exception as exc:  # Ray raises bare Exceptions, e.g. when its raylet misses the 30 s start-up
            ray.shutdown()
            first = " ".join(str(exc).split())[:160]
            raise UserError(f"Ray did not start ({first}); try again, or run without --ray to use local "
                            "processes") from exc
    remote = ray.remote(num_cpus=1, max_retries=RAY_RETRIES, retry_exceptions=False)(_timed)
    pending = {remote.remote(fn, p.params, p.seed): p for p in todo}
    failed: list[tuple[Point, str]] = []
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            point = pending.pop(ref)
            try:
                timed = ray.get(ref)
            except RayTaskError as exc:  # the point's own exception: raised as itself, as without Ray
                raise exc.as_instanceof_cause() from None
            except RayError as exc:  # the worker or node died (beyond the retries): the others go on
                failed.append((point, type(exc).__name__))
                continue
            record(point, timed)
    if failed:
        first, why = failed[0]
        raise UserError(f"{len(failed)} of {len(todo)} sweep point(s) failed on Ray ({why} after {RAY_RETRIES} "
                        f"retries, e.g. {first.params} seed {first.seed}); the others are recorded — run the sweep "
                        "again to compute only the failed ones")
