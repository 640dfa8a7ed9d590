"""Measurements behind issue 13 (docs/reliability.md): thread defaults under contention, CLI start-up, moments cache.

    .venv/bin/python benchmarks/bench_reliability.py all          # the three below in one run (for RESULTS.md)
    .venv/bin/python benchmarks/bench_reliability.py all --smoke  # seconds: checks the script, numbers mean nothing
    .venv/bin/python benchmarks/bench_reliability.py threads [--steps 150] [--repeats 1]
    .venv/bin/python benchmarks/bench_reliability.py startup [--repeats 5] [--tree DIR]
    .venv/bin/python benchmarks/bench_reliability.py estimate [--data fashion-mnist] [--augment flip+shift:2]

threads: `sslscape train configs/simclr_fmnist_mlp.yaml` with a short schedule (`--steps`, checkpoint at the end),
run as a user would (a fresh process), for each thread setting: sslscape's default (no variable set: half the
CPUs, 1 thread on 2 cores), torch's own default (SSLSCAPE_THREADS=0: one thread per core) and 2 threads — alone
("idle": nothing of ours beside it) and beside a competing multi-threaded torch job (a second `sslscape train` of
the same config with torch's default threads, running through the whole measurement). The issue's target: the
loaded default run ≤ 2.5× the idle one. Reported: the command's wall time, the
training loop's own time (summary.json wall_s), and the load average at the start. Other users of a shared
machine add their own load: the load column says how much.

startup: wall and CPU time (user + sys) of `sslscape --version`, `sslscape --help`, `sslscape predict` on a
closed-form spectral spec and on examples/default.json (InfoNCE with a batch size: its Monte-Carlo p̄ needs torch),
with `python -c pass` and `python -c 'import torch'` for reference, and "before": what a start-up cost when the
CLI imported the package eagerly (every command module and the libraries behind them: torch, numpy, scipy, rich,
the theory, training, diagnostics and experiments packages); the median of `--repeats`. `--tree DIR`
runs the CLI of another source tree (PYTHONPATH=DIR/src), e.g. the code before the change, for a before/after.

estimate: `sslscape estimate DATA --augment PIPELINE` twice with an empty moments cache ($SSLSCAPE_CACHE = a
temporary folder): the first computes the exact moments and stores them, the second reads them.
Prints markdown tables (machine, load and date included) for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "sslscape.cli"]
THREAD_VARS = ("SSLSCAPE_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def machine() -> str:
    return (f"{platform.node() or 'host'}: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
            f"Python {platform.python_version()}, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}")


def load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env.update(extra)
    return env


def short_config(folder: Path, steps: int, smoke: bool = False) -> Path:
    """configs/simclr_fmnist_mlp.yaml with `steps` steps on the CPU (smoke: a small evaluation set too)."""
    import yaml

    raw = yaml.safe_load((ROOT / "configs" / "simclr_fmnist_mlp.yaml").read_text())
    raw["schedule"].update(steps=steps, checkpoint_every=steps, log_every=min(50, steps), warmup_steps=0)
    raw["device"] = "cpu"
    if smoke:
        raw["data"]["eval_size"] = 256
        raw["eval"]["max_train"] = 512
    path = folder / f"simclr_{steps}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def timed_train(config: Path, out: Path, env: dict[str, str]) -> tuple[float, float]:
    """(command wall s, training-loop wall s from summary.json)."""
    t0 = time.perf_counter()
    proc = subprocess.run([*CLI, "train", str(config), "--out", str(out), "--quiet"], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"train failed: {proc.stderr.strip()[-500:]}")
    return wall, json.loads((out / "summary.json").read_text())["wall_s"]


def bench_threads(args: argparse.Namespace) -> None:
    # torch default: SSLSCAPE_THREADS=0 and no OMP variable, so torch takes one thread per core (2 here); the
    # sslscape default (half the CPUs) is 1 thread on a 2-core machine: the "1 thread" row
    from sslscape.threads import default_threads

    settings = [(f"sslscape default ({default_threads()})", {}), ("torch default", {"SSLSCAPE_THREADS": "0"}),
                ("2 threads", {"SSLSCAPE_THREADS": "2"})][: 1 if args.smoke else 3]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg, long_cfg = short_config(tmp, args.steps, args.smoke), short_config(tmp, 1_000_000, args.smoke)
        for loaded in (False, True):
            competitor = None
            if loaded:  # torch's default threads: no variable set, so torch uses one thread per core
                competitor = subprocess.Popen([*CLI, "train", str(long_cfg), "--out", str(tmp / "competitor"),
                                               "--quiet"], env=clean_env(SSLSCAPE_THREADS="0"), cwd=ROOT,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(args.warmup)  # let it reach its training loop
            try:
                for name, extra in settings:
                    for r in range(args.threads_repeats):
                        env = clean_env(**extra)
                        start_load = load()
                        wall, loop = timed_train(cfg, tmp / f"run-{loaded}-{name}-{r}", env)
                        rows.append((name, "loaded" if loaded else "idle", wall, loop, start_load))
                        print(f"  {name:16s} {'loaded' if loaded else 'idle':6s} command {wall:7.1f} s  loop "
                              f"{loop:7.1f} s  load {start_load}", file=sys.stderr, flush=True)
                    if competitor is not None and competitor.poll() is not None:
                        raise SystemExit("the competing run ended early; see its output")
            finally:
                if competitor is not None:
                    competitor.terminate()
                    competitor.wait()
    print(f"\n### Threads under contention — {machine()}\n")
    print(f"`sslscape train configs/simclr_fmnist_mlp.yaml`, {args.steps} steps (fresh process each); loaded = "
          "beside a second `sslscape train` of the same config with torch's default threads.\n")
    print("Target (issue 13): with sslscape's default, loaded ≤ 2.5× idle.\n")
    print("| setting | idle: command s | idle: loop s | loaded: command s | loaded: loop s | loaded / idle (command) |"
          " loaded / idle (loop) | load avg (idle, loaded) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, _ in settings:
        idle = [r for r in rows if r[0] == name and r[1] == "idle"]
        busy = [r for r in rows if r[0] == name and r[1] == "loaded"]
        mi, ml = (statistics.median(x[2] for x in idle), statistics.median(x[3] for x in idle))
        bi, bl = (statistics.median(x[2] for x in busy), statistics.median(x[3] for x in busy))
        print(f"| {name} | {mi:.1f} | {ml:.1f} | {bi:.1f} | {bl:.1f} | {bi / mi:.2f}× | {bl / ml:.2f}× | "
              f"{idle[0][4]}, {busy[0][4]} |")


def _time_cmd(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-300:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


CLOSED_FORM = {"objective": "spectral", "data": {"cov": [4.0, 3.0, 2.0, 1.0, 0.5, 0.25, 0.1, 0.05]},
               "augmentation": {"noise_cov": [0.5] * 8}, "weight_decay": 1.5}


# What every call paid before issue 13: the CLI built its app from modules that imported their libraries at the top.
EAGER = ("import sslscape.cli as c; c.get_app(); import numpy, scipy.linalg, rich.console, torch, sslscape.theory, "
         "sslscape.training, sslscape.diagnostics, sslscape.experiments, sslscape.compare")


def bench_startup(args: argparse.Namespace) -> None:
    env = clean_env()
    if args.tree:
        env["PYTHONPATH"] = str(Path(args.tree).resolve() / "src")
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spectral.json"
        spec.write_text(json.dumps(CLOSED_FORM))
        cases = [("python -c pass", [sys.executable, "-c", "pass"]),
                 ("python -c 'import torch'", [sys.executable, "-c", "import torch"]),
                 ("before: eager import (python -c 'import sslscape.cli; …')", [sys.executable, "-c", EAGER]),
                 ("sslscape --version", [*CLI, "--version"]),
                 ("sslscape --help", [*CLI, "--help"]),
                 ("sslscape predict spectral.json (closed form)", [*CLI, "predict", str(spec)]),
                 ("sslscape predict examples/default.json (InfoNCE, N = 512: Monte-Carlo p̄ needs torch)",
                  [*CLI, "predict", "examples/default.json"])]
        start_load = load()
        print(f"\n### CLI start-up — {machine()}, load {start_load}{' — tree ' + args.tree if args.tree else ''}\n")
        print("| command | wall s (median) | CPU s user+sys (median) |")
        print("|---|---|---|")
        for name, cmd in cases:
            _time_cmd(cmd, env)  # warm the page cache
            runs = [_time_cmd(cmd, env) for _ in range(args.startup_repeats)]
            print(f"| `{name}` | {statistics.median(r[0] for r in runs):.2f} | "
                  f"{statistics.median(r[1] for r in runs):.2f} |", flush=True)
        probe = subprocess.run([sys.executable, "-c", "import sys; from sslscape.cli import main\n"
                                "try:\n    main(['predict', sys.argv[1], '--json'])\n"
                                "except SystemExit:\n    pass\n"
                                "print('torch imported:', 'torch' in sys.modules, file=sys.stderr)", str(spec)],
                               env=env, cwd=ROOT, capture_output=True, text=True)
        print(f"\n{probe.stderr.strip().splitlines()[-1]} (predict on a closed-form spec); load at the end "
              f"{load()}")


def bench_estimate(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = clean_env(SSLSCAPE_CACHE=str(Path(tmp) / "cache"))
        cmd = [*CLI, "estimate", args.data, "--augment", args.augment, "--out", str(Path(tmp) / "spec.json"),
               "--json"]
        if args.samples:
            cmd += ["--samples", str(args.samples)]
        start_load = load()
        first = _time_cmd(cmd, env)
        second = _time_cmd(cmd, env)
    print(f"\n### `estimate {args.data} --augment {args.augment}` — {machine()}, load {start_load}\n")
    print("| call | wall s | CPU s user+sys |")
    print("|---|---|---|")
    print(f"| first (computes the exact moments, stores them) | {first[0]:.1f} | {first[1]:.1f} |")
    print(f"| second (reads the moments file) | {second[0]:.1f} | {second[1]:.1f} |")


def bench_all(args: argparse.Namespace) -> None:
    print(f"## Reliability (issue 13) — {machine()}, load at the start {load()}")
    bench_threads(args)
    bench_startup(args)
    bench_estimate(args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="all", choices=["all", "threads", "startup", "estimate"])
    parser.add_argument("--smoke", action="store_true",
                        help="a few seconds per part (tiny schedule, digits, one repeat): checks the script only")
    parser.add_argument("--steps", type=int, default=150, help="threads: training steps of each measured run")
    parser.add_argument("--repeats", type=int, default=None, help="threads: 1, startup: 5 (median)")
    parser.add_argument("--warmup", type=float, default=20.0, help="threads: seconds the competitor runs first")
    parser.add_argument("--tree", default=None, help="startup: the CLI of another source tree (DIR/src)")
    parser.add_argument("--data", default="fashion-mnist", help="estimate: DATA")
    parser.add_argument("--augment", default="flip+shift:2", help="estimate: --augment")
    parser.add_argument("--samples", type=int, default=0, help="estimate: --samples (0 = all)")
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.warmup, args.data, args.samples = 4, 1.0, "digits", 200
    args.threads_repeats = args.repeats or 1
    args.startup_repeats = 1 if args.smoke else (args.repeats or 5)
    {"all": bench_all, "threads": bench_threads, "startup": bench_startup, "estimate": bench_estimate}[args.what](args)


if __name__ == "__main__":
    main()
