"""CLI commands of sslscape.experiments: `reproduce` and `estimate` (registered by sslscape.cli)."""

from __future__ import annotations

import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UserError


def reproduce_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="an experiment name, or 'all'")] = "all",
    quick: Annotated[bool, typer.Option("--quick", help="CPU-sized run (≤ 2 min per experiment)")] = False,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out/reproduce"),
    workers: Annotated[int, typer.Option("--workers", help="parallel local processes")] = 2,
    use_ray: Annotated[bool, typer.Option("--ray", help="run the sweeps on Ray (pip install ray)")] = False,
    seeds: Annotated[str, typer.Option("--seeds", help="comma-separated seeds (default: the size's)")] = "",
) -> None:
    """Reproduce the paper's results: theory vs training, figures, JSON, one HTML report (resumable)."""
    from ..io import atomic_write_json
    from ..report.html import build_report
    from . import EXPERIMENTS, get_experiment
    from ._common import check_out_dir

    names = list(EXPERIMENTS) if name == "all" else [name]
    modules = [get_experiment(n) for n in names]  # validates every name before any work
    if workers < 1:
        raise UserError(f"--workers must be ≥ 1, got {workers}")
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError as exc:
        raise UserError(f"--seeds must be comma-separated integers, e.g. 0,1,2; got {seeds!r}") from exc
    if use_ray:
        try:
            import ray  # noqa: F401
        except ImportError as exc:
            raise UserError("--ray needs Ray: pip install ray (or drop --ray to use local processes)") from exc
    out_dir = check_out_dir(out)
    from rich.console import Console

    console = Console(stderr=True)
    results = []
    for n, module in zip(names, modules, strict=True):
        console.print(f"[bold]{n}[/bold] …")
        res = module.run(out_dir, quick=quick, seeds=seed_list or None, workers=workers, use_ray=use_ray)
        results.append(res.to_dict())
        mark = "[green]" if res.n_agree == res.n_scored else "[yellow]"
        console.print(f"  {mark}{res.n_agree}/{res.n_scored} points agree[/] in {res.wall_s:.1f} s — "
                      f"{out_dir / n / 'result.json'}")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"{'--quick' if quick else 'full'} run, {stamp}, {platform.node()} ({platform.machine()}, "
              f"{workers} worker(s){', Ray' if use_ray else ''}).")
    summary = {"quick": quick, "date": stamp, "workers": workers, "experiments": {
        r["name"]: {"n_agree": r["n_agree"], "n_scored": r["n_scored"], "n_unsupported": len(r["unsupported"]),
                    "wall_s": r["wall_s"], "summary": r["summary"], "result": str(out_dir / r["name"] / "result.json")}
        for r in results}}
    atomic_write_json(out_dir / "summary.json", summary)
    report = build_report(results, out_dir / "report.html", header=header)
    typer.echo(str(report))


def estimate_command(
    data: Annotated[str, typer.Argument(metavar="DATA", help="'digits', 'fashion-mnist' or a .npy/.npz/.pt array")],
    augment: Annotated[str, typer.Option("--augment", help="pipeline, e.g. noise:0.1, flip, shift:2, flip+shift:2, "
                                                           "crop:0.5")] = "noise:0.1",
    samples: Annotated[int, typer.Option("--samples", help="images used (0 = all)")] = 0,
    pairs: Annotated[int, typer.Option("--pairs", help="Monte-Carlo view pairs per image")] = 8,
    mc: Annotated[bool, typer.Option("--mc", help="Monte-Carlo even where the exact moments exist")] = False,
    downsample: Annotated[int, typer.Option("--downsample", help="average-pool factor for named datasets")] = 1,
    objective: Annotated[str, typer.Option("--objective", help="objective of the written spec")] = "spectral",
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="γ of the written spec")] = 0.01,
    embed_dim: Annotated[int, typer.Option("--embed-dim", help="d of the written spec (0 = input dim)")] = 0,
    out: Annotated[Path, typer.Option("--out", help="spec file to write")] = Path("out/estimated_spec.json"),
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
) -> None:
    """Estimate C, μ and S of a real dataset under an augmentation pipeline, write a spec, and predict on it."""
    from .estimate import run_estimate

    if samples < 0 or pairs < 2 or downsample < 1 or embed_dim < 0:
        raise UserError("--samples ≥ 0, --pairs ≥ 2, --downsample ≥ 1 and --embed-dim ≥ 0 are required")
    if out.exists() and out.is_dir():
        out = out / "estimated_spec.json"
    t0 = time.perf_counter()
    res = run_estimate(data, augment, samples=samples or None, pairs=pairs, mc=mc, downsample=downsample,
                       objective=objective, weight_decay=weight_decay, embed_dim=embed_dim or None, out=out)
    res["wall_s"] = round(time.perf_counter() - t0, 2)
    if as_json:
        typer.echo(json.dumps(res))
        return
    from rich.console import Console
    from rich.table import Table

    pred = res["prediction"]
    table = Table(title=f"sslscape estimate — {res['dataset']} under {augment}", show_header=False)
    table.add_row("images × dim", f"{res['n_images']} × {res['dim']}")
    table.add_row("method", res["method"] + (f" (noise floor {res['noise_floor']:.3g}; {res['below_floor']} "
                                             "eigenvalues of A below it — unreliable)" if res["method"] != "exact"
                                             else " (finite mixture of maps: A computed exactly)"))
    table.add_row("top eigenvalues of A", ", ".join(f"{v:.4g}" for v in res["eigenvalues_top"][:8]))
    table.add_row("spec written", str(res["spec"]))
    table.add_row("predicted rank / phase", f"{pred['rank']} of {pred['max_rank']} / {pred['phase']}")
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add `reproduce` and `estimate` to the app."""
    app.command("reproduce")(reproduce_command)
    app.command("estimate")(estimate_command)
