"""Verdicts on real runs (issue 19): what `diagnose` and the collapse monitor say about real SSL trainings.

    nice -n 10 .venv/bin/python benchmarks/real_runs.py [--out out/real_runs] [--steps 300]
    .venv/bin/python benchmarks/real_runs.py --figures docs     # only the figures of docs/metrics.md
    .venv/bin/python benchmarks/real_runs.py --ranking          # only: rank 8 files in one call vs 8 calls

Four runs, one thread, Fashion-MNIST (the Debian package) and scikit-learn's digits:

1. the shipped SimCLR config, `sslscape train configs/simclr_fmnist_mlp.yaml` (1,000 steps): `diagnose` of its
   embeddings.npy, and the monitor's messages by step, replayed from the spectra the trainer logged every 50 steps
   (metrics.jsonl: `diagnose` of 2,000 eval embeddings) — embeddings built with exactly that spectrum are handed
   to a `CollapseMonitor` with the run's loss, so every spectrum signature sees what the trainer measured;
2. SimSiam without a predictor and 3. with one, in a plain PyTorch loop with the monitor inline (queue, both
   views: LiDAR) — `benchmarks/monitor_demo.run` with SimSiam's own projector (three Linear-BN layers, the last
   BatchNorm without affine parameters, lightly's `SimSiamProjectionHead`), d = 128;
4. a healthy run: `sslscape train configs/byol_digits_mlp.yaml`, replayed like 1.

Writes OUT/real_runs.md (the tables and messages for benchmarks/RESULTS.md) and prints it. `--figures DIR` draws
docs/knee_shapes.png and docs/knee_stability.png (the shapes the collapse rule separates; a slowly changing
spectrum) with `sslscape.report.figures`, from the run folders when they exist (else constructed spectra only).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from sslscape.diagnostics import diagnose  # noqa: E402
from sslscape.diagnostics.rank import KNEE_CLEAR, KNEE_MARGIN, collapse_cut  # noqa: E402
from sslscape.io import atomic_write_text, read_jsonl  # noqa: E402
from sslscape.monitor import CollapseMonitor  # noqa: E402

SSLSCAPE = str(Path(sys.executable).parent / "sslscape")


def train(config: str, out: Path) -> float:
    """`sslscape train CONFIG --out OUT` on one thread (kept if OUT already holds a finished run); wall seconds."""
    if (out / "summary.json").is_file():
        return float("nan")
    env = {**os.environ, "SSLSCAPE_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    subprocess.run(["nice", "-n", "10", SSLSCAPE, "train", config, "--out", str(out)], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def with_spectrum(lam: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """(n, d) embeddings whose centred covariance has exactly the eigenvalues `lam` (random bases)."""
    rng = np.random.default_rng(seed)
    d = lam.size
    a = rng.standard_normal((n, d))
    u = np.linalg.qr(a - a.mean(0))[0]  # orthonormal columns ⟂ 1
    q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    return (u * np.sqrt(n * np.clip(lam, 0, None))) @ q.T


def replay(run_dir: Path, objective: str) -> list[dict[str, Any]]:
    """The monitor's records for the spectra a `sslscape train` run logged (module docstring, item 1)."""
    messages: list[str] = []
    monitor = CollapseMonitor(every=1, objective=objective, say=messages.append)
    records = []
    for i, line in enumerate(read_jsonl(run_dir / "metrics.jsonl")):
        lam = np.asarray(line["spectrum"], dtype=float)
        z = with_spectrum(lam, 4 * lam.size, seed=i)
        rec = monitor(z, line["step"], loss=line["loss"])  # every=1: each logged step is a log
        records.append(rec)
    return records


def _objective(config: str) -> str:
    """The objective a shipped config trains (the monitor is told it, as a user's loop would tell it)."""
    from sslscape.training.config import load_config

    return load_config(config).spec.objective


def summary_row(name: str, d: Any) -> str:
    knee = "—" if d.knee is None else f"{d.knee.decades:.2f} decades, {d.knee.start}→{d.knee.end}"
    return (f"| {name} | {d.verdict} | {d.rank} | {knee} | {d.surviving_variance_share:.2%} | "
            f"{d.effective_rank:.1f} | {d.rankme:.1f} |")


def record_row(name: str, r: dict[str, Any]) -> str:
    knee = "—" if r.get("knee") is None else f"{r['knee_decades']:.2f} decades, {r['knee']['start']}→{r['knee']['end']}"
    return (f"| {name} | {r['verdict']} | {r['rank']} | {knee} | {r['surviving_variance_share']:.2%} | "
            f"{r['effective_rank']:.1f} | {r['rankme']:.1f} |")


def messages_by_step(records: list[dict[str, Any]]) -> list[str]:
    seen: set[str] = set()
    out = []
    for r in records:
        now = {s["name"] for s in r.get("signatures", [])}
        for s in r.get("signatures", []):
            if s["name"] not in seen:
                out.append(f"    [step {r['step']}] {s['name']}: {s['message']}. Knob: {s['knob']}")
        seen = now
    return out or ["    (none — no collapse signature)"]


def trajectory(records: list[dict[str, Any]]) -> str:
    cells = [f"{r['step']}: {r['verdict'].replace('dimensional collapse', 'dim.')} / erank {r['effective_rank']:.1f}"
             for r in records]
    return "; ".join(cells)


def simsiam(args: argparse.Namespace) -> list[dict[str, Any]]:
    import torch

    from monitor_demo import run as demo_run
    from sslscape.training.data import load_fashion_mnist

    torch.set_num_threads(1)
    tx, ty, vx, vy = load_fashion_mnist()
    x = torch.as_tensor(tx[:20000, None] / 255.0, dtype=torch.float32)
    f = lambda a: torch.as_tensor(a[:, None] / 255.0, dtype=torch.float32)  # noqa: E731
    eval_sets = ((f(tx[20000:25000]), torch.as_tensor(ty[20000:25000])), (f(vx[:2000]), torch.as_tensor(vy[:2000])))
    demo = argparse.Namespace(out=args.out, steps=args.steps, every=args.every, batch=256, dim=128, head="bn-out")
    return [demo_run("SimSiam without predictor", False, demo, x, eval_sets),
            demo_run("SimSiam with predictor", True, demo, x, eval_sets)]


def report(args: argparse.Namespace) -> str:
    walls = {"simclr": train("configs/simclr_fmnist_mlp.yaml", args.out / "simclr"),
             "byol": train("configs/byol_digits_mlp.yaml", args.out / "byol")}
    simclr = diagnose(np.load(args.out / "simclr" / "embeddings.npy"))
    byol = diagnose(np.load(args.out / "byol" / "embeddings.npy"))
    simclr_records = replay(args.out / "simclr", _objective("configs/simclr_fmnist_mlp.yaml"))  # ntxent
    byol_records = replay(args.out / "byol", _objective("configs/byol_digits_mlp.yaml"))
    t0 = time.perf_counter()
    runs = simsiam(args)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    head = ["## Issue 19: verdicts on real runs", "",
            f"`benchmarks/real_runs.py`, run {date.today()} on a 2-core CPU container, no GPU ({platform.machine()}, "
            f"load average {load:.1f}, one thread each). SimSiam: {args.steps} steps, batch 256, d = 128, SimSiam's "
            f"projector (last BatchNorm without affine parameters), monitor every {args.every} steps with its queue "
            f"and both views ({time.perf_counter() - t0:.0f} s for both runs).", "",
            f"Training walls: SimCLR {walls['simclr']:.0f} s, BYOL {walls['byol']:.0f} s (nan: an existing run was "
            "reused).", "",
            "| run | verdict | k | knee | variance in the top k | effective rank | RankMe |",
            "|---|---|---|---|---|---|---|",
            summary_row("SimCLR, `configs/simclr_fmnist_mlp.yaml` — `diagnose embeddings.npy`", simclr),
            *(record_row(f"{r['name']} — monitor, step {r['last']['step']}", r["last"]) for r in runs),
            summary_row("healthy: BYOL, `configs/byol_digits_mlp.yaml` — `diagnose embeddings.npy`", byol), ""]
    lines = head + ["### Monitor messages by step", ""]
    for name, recs in (("SimCLR (replayed from the trainer's spectra, every 50 steps)", simclr_records),
                       *((r["name"] + f" (kNN@20 of z {100 * r['knn_z']:.1f} %, backbone {100 * r['knn']:.1f} %)",
                          r["records"]) for r in runs),
                       ("Healthy BYOL on digits (replayed, every 50 steps)", byol_records)):
        lines += [f"**{name}.** Verdict / effective rank by log: {trajectory(recs)}.", "", *messages_by_step(recs), ""]
    return "\n".join(lines)


def figures(folder: Path, runs: Path) -> list[Path]:
    """docs/knee_shapes.png and docs/knee_stability.png (module docstring)."""
    from sslscape.report.figures import COLORS, figure, log_axis, save

    shapes: list[tuple[str, np.ndarray, float | None]] = []
    for name, sub in (("SimCLR, shipped config", "simclr"), ("SimSiam without predictor", "simsiam_without_predictor")):
        if (runs / sub / "embeddings.npy").is_file():
            d = diagnose(np.load(runs / sub / "embeddings.npy"))
            shapes.append((name, d.eigenvalues, d.numerical_rank_floor))
        elif (runs / sub / "monitor.jsonl").is_file():
            shapes.append((name, np.asarray(read_jsonl(runs / sub / "monitor.jsonl")[-1]["eigenvalues"]), None))
    k = np.arange(1, 129, dtype=float)
    shapes += [("power law α = 1 (healthy)", k**-1.0, None), ("power law α = 3 (healthy)", k**-3.0, None),
               ("geometric decay (healthy)", 0.9**k, None),
               ("drop to a noise floor", np.r_[k[:24] ** -0.7, np.full(104, 1e-7)], None)]
    fig, axes = figure(3, 2, width=3.6, height=2.7)
    for ax, (name, lam, floor) in zip(axes, shapes, strict=False):
        cut = collapse_cut(lam, noise_floor=floor)
        kk = np.arange(1, lam.size + 1)
        ax.plot(kk, np.maximum(lam / lam[0], 1e-16), ".-", ms=2.5, lw=0.8, color=COLORS[0])
        if cut.knee is not None:
            ax.axvspan(cut.knee.start, cut.knee.end, color=COLORS[3], alpha=0.12)
        ax.axvline(cut.rank + 0.5, color=COLORS[3], lw=1)
        verdict = "healthy" if cut.rank == lam.size else f"collapse rank {cut.rank}"
        ax.set_title(f"{name}: {verdict}", fontsize=7.5)
        ax.set_yscale("log")
        log_axis(ax, "x")
        ax.set_xlabel("direction k", fontsize=8)
        ax.set_ylabel(r"$\lambda_k/\lambda_1$", fontsize=8)
    out = [save(fig, folder / "knee_shapes.png", title="What the collapse rule separates (shaded: the knee)")]

    def two_knees(first: float) -> np.ndarray:
        y = np.r_[0.0, -0.1, -0.1 - first * np.array([1, 2, 3]) / 3]
        y = np.r_[y, y[-1] - np.linspace(0.05, 0.4, 27)]
        return 10.0 ** np.r_[y, y[-1] - 3.2 - np.linspace(0, 0.3, 96)]

    depths = np.linspace(1.0, 4.0, 121)
    ranks = [collapse_cut(two_knees(a)).rank for a in depths]
    fig, (ax1, ax2) = figure(2, 1, width=4.6, height=3.0)
    for a, c in ((1.6, COLORS[0]), (3.0, COLORS[1])):
        ax1.plot(np.arange(1, 129), two_knees(a), lw=1, color=c, label=f"first knee {a:g} decades deep")
    ax1.set_yscale("log")
    log_axis(ax1, "x")
    ax1.set_xlabel("direction k")
    ax1.set_ylabel(r"$\lambda_k/\lambda_1$")
    ax1.legend(fontsize=7)
    ax2.plot(depths, ranks, "-", color=COLORS[3])
    ax2.axvline(min(3.2 - KNEE_MARGIN, KNEE_CLEAR), color="grey", ls=":", lw=1)
    ax2.set_xlabel("depth of the first knee (decades); the second is 3.2 deep")
    ax2.set_ylabel("collapse rank")
    out.append(save(fig, folder / "knee_stability.png",
                    title="A slowly changing spectrum: the rank moves once, where the first knee becomes clear"))
    return out


def ranking_speed(folder: Path, files: int = 8, n: int = 10000, d: int = 256) -> str:
    """`sslscape diagnose f0.npy … f7.npy --json` (one process ranks them) against one call per file, same run."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(files):
        z = rng.standard_normal((n, d)).astype(np.float32) * np.arange(1, d + 1, dtype=np.float32) ** (-0.5 - i / 8)
        np.save(folder / f"ckpt_{i}.npy", z)
        paths.append(str(folder / f"ckpt_{i}.npy"))
    env = {**os.environ, "SSLSCAPE_THREADS": "1"}
    t0 = time.perf_counter()
    subprocess.run([SSLSCAPE, "diagnose", *paths, "--json"], check=True, env=env, stdout=subprocess.DEVNULL)
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    for path in paths:
        subprocess.run([SSLSCAPE, "diagnose", path, "--json"], check=True, env=env, stdout=subprocess.DEVNULL)
    loop = time.perf_counter() - t0
    return (f"Ranking {files} files of ({n}, {d}) float32: one `sslscape diagnose` call {one:.1f} s "
            f"({one / files:.2f} s a file); one call per file {loop:.1f} s ({loop / files:.2f} s a file); "
            f"ratio {loop / one:.1f}×.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("out/real_runs"))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--figures", type=Path, default=None, help="only draw the docs figures into this folder")
    ap.add_argument("--ranking", action="store_true", help="only time ranking several files in one call")
    args = ap.parse_args()
    if args.figures is not None:
        print("\n".join(map(str, figures(args.figures, args.out))))
        return
    if args.ranking:
        print(ranking_speed(args.out / "ranking"))
        return
    text = report(args)
    atomic_write_text(args.out / "real_runs.md", text + "\n")
    print(text)


if __name__ == "__main__":
    main()
