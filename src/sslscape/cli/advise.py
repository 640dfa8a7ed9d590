"""`sslscape advise`: which value of a knob keeps K directions (theory.advise)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import UserError
from .predict import EmbedDimOpt, MomentsPath, ObjectiveOpt, SpecPath, WeightDecayOpt, load_problem


def advise_command(
    keep: Annotated[int, typer.Option("--keep", help="the number K of directions to keep")],
    spec_path: SpecPath = None,
    knob: Annotated[str, typer.Option("--knob", help="weight_decay | temperature | noise_scale | batch_size, or two "
                                                     "of them as a,b for the region")] = "weight_decay",
    at_least: Annotated[bool, typer.Option("--at-least", help="rank ≥ K instead of exactly K")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    order: Annotated[str | None, typer.Option("--order", help="auto | quartic | learned_point | per_direction | exact "
                                              "(default auto: the order predict uses)")] = None,
    moments: MomentsPath = None,
    objective: ObjectiveOpt = None,
    weight_decay: WeightDecayOpt = None,
    embed_dim: EmbedDimOpt = None,
) -> None:
    """The interval of a knob (all else fixed) on which the predicted rank is K, or why no value gives K."""
    from rich.console import Console

    from ..theory.advise import advise, advise_region
    from ..theory.predict import ORDERS
    from .progress import bar

    if order is not None and order not in ORDERS:
        raise UserError(f"--order must be one of {', '.join(ORDERS)}; got {order!r}")
    spec, _ = load_problem(spec_path, moments, objective, weight_decay, embed_dim)
    knobs = [k.strip() for k in knob.split(",")]
    if len(knobs) > 2:
        raise UserError(f"--knob takes one knob or two as a,b; got {knob!r}")
    if len(knobs) == 2:
        with bar("region", 1) as update:
            region = advise_region(spec, keep, (knobs[0], knobs[1]), at_least=at_least, progress=update)
        if as_json:
            typer.echo(region.to_json())
            return
        inside = [(x, lo, hi) for x, lo, hi in zip(region.x, region.y_lo, region.y_hi, strict=True) if lo is not None]
        console = Console(soft_wrap=True)
        if not inside:
            console.print(f"no point of the grid keeps {'≥ ' if at_least else ''}{keep} directions")
            return
        console.print(f"{'≥ ' if at_least else ''}{keep} directions survive for {knobs[0]} in "
                      f"[{inside[0][0]:.4g}, {inside[-1][0]:.4g}] with {knobs[1]} between the bounds below "
                      "(--json for the whole boundary):")
        for x, lo, hi in inside[:: max(1, len(inside) // 8)]:
            console.print(f"  {knobs[0]} = {x:.4g}: {knobs[1]} ∈ [{lo:.4g}, {hi:.4g}]")
        return
    with bar("advise (solving along the knob)", 40) as update:
        result = advise(spec, keep, knobs[0], at_least=at_least, order=order, progress=update)
    if as_json:
        typer.echo(result.to_json())
        return
    console = Console(soft_wrap=True)
    console.print(("[green]" if result.possible else "[red]") + result.reason + "[/]")
    if len(result.intervals) > 1:
        console.print("all intervals: " + ", ".join(f"[{lo:.4g}, {'∞' if hi is None else f'{hi:.4g}'})"
                                                    for lo, hi in result.intervals))
    console.print(f"order {result.order} ({result.method}); the spec's {result.knob} = {result.current_value} gives "
                  f"rank {result.current_rank}")


def register(app: typer.Typer) -> None:
    app.command("advise")(advise_command)
