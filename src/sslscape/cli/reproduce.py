"""`sslscape reproduce`: the paper's claims as experiments, theory and training side by side."""

from __future__ import annotations

import platform
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
    from ..experiments import EXPERIMENTS, get_experiment
    from ..experiments._common import check_out_dir
    from ..io import atomic_write_json
    from ..report.html import build_report

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


def register(app: typer.Typer) -> None:
    app.command("reproduce")(reproduce_command)
