"""`sslscape reproduce`: the paper's claims as experiments, theory and training side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UserError
from ..experiments import CITATION, PAPER_RESULTS

HELP = (
    "Reproduce the results of Ziyin, Lubana, Ueda & Tanaka, \u201cWhat shapes the loss landscape of "
    "self-supervised learning?\u201d (ICLR 2023, arXiv:2210.00638): theory against trained encoders, one figure "
    "and result.json per experiment, summary.json and one HTML report for everything in --out.\n\n"
    "Results accumulate: experiments run earlier into the same folder stay in the report. A rerun whose every "
    "point is already in NAME/points.jsonl is read from that cache and marked cached (with the date it was "
    "computed); --force recomputes. An interrupted run resumes where it stopped.\n\n"
    "Experiments (NAME → the paper's result it reproduces):\n\n"
    + "\n\n".join(f"\u2022 {name}: {result}" for name, result in PAPER_RESULTS.items())
)


def reproduce_command(
    name: Annotated[str, typer.Argument(metavar="NAME|all", help="an experiment name, or 'all'")] = "all",
    quick: Annotated[bool, typer.Option("--quick", help="CPU-sized run (about a minute per experiment)")] = False,
    size: Annotated[str, typer.Option("--size", help="tiny (seconds; a smoke test), quick or full; --quick is "
                                                     "--size quick")] = "",
    out: Annotated[Path, typer.Option("--out", help="output folder (results accumulate here)")] = Path("out/reproduce"),
    force: Annotated[bool, typer.Option("--force", help="recompute: discard the experiments' cached records")] = False,
    workers: Annotated[int, typer.Option("--workers", help="parallel local processes")] = 2,
    use_ray: Annotated[bool, typer.Option("--ray", help="run the sweeps on Ray (pip install ray)")] = False,
    seeds: Annotated[str, typer.Option("--seeds", help="comma-separated seeds (default: the size's)")] = "",
) -> None:
    from ..experiments import get_experiment
    from ..experiments.outputs import write_outputs
    from ..experiments.provenance import provenance
    from ..experiments.runner import SIZES, check_out_dir
    from ..io import folder_lock
    from .progress import bar, say

    experiments = [get_experiment(n) for n in (PAPER_RESULTS if name == "all" else [name])]  # names checked first
    if size and size not in SIZES:
        raise UserError(f"--size must be one of {', '.join(SIZES)}, got {size!r}")
    if quick and size and size != "quick":
        raise UserError(f"--quick means --size quick; drop one of --quick and --size {size}")
    chosen = size or ("quick" if quick else "full")
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
    with folder_lock(out_dir, "reproduce"):
        for exp in experiments:
            with bar(exp.name, total=1) as update:
                res = exp.run(out_dir, seeds=seed_list or None, workers=workers, use_ray=use_ray, size=chosen,
                              force=force, progress=update)
            mark = "[green]" if res.n_agree == res.n_scored else "[yellow]"
            agree = f"{mark}{res.n_agree}/{res.n_scored} agree[/]"
            if res.cached:
                say(f"{exp.name}: cached: {agree}, computed {res.cache['computed']}")
            else:
                resumed = (f" ({res.cache['from_cache']} of {res.cache['jobs']} jobs from an earlier run)"
                           if res.cache["from_cache"] else "")
                say(f"{exp.name}: {agree} in {res.wall_s:.1f} s{resumed}")
        invocation = provenance(chosen, seed_list or None, workers=workers, ray=use_ray,
                                command=" ".join(["sslscape", "reproduce", name, f"--size {chosen}",
                                                  f"--out {out_dir}"] + (["--force"] if force else [])))
        _, report, problems = write_outputs(out_dir, invocation)
    for line in problems:
        say(f"[yellow]left out of the report:[/] {line}")
    say(f"paper: {CITATION}")
    typer.echo(str(report))


def register(app: typer.Typer) -> None:
    app.command("reproduce", help=HELP, short_help="Reproduce the paper's results (ICLR 2023): theory vs training, "
                "one HTML report.")(reproduce_command)
