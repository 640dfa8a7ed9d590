"""`sslscape advise`: which value of a knob keeps K directions (theory.advise)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import UserError
from ..knobs import HELP as KNOB_HELP
from ..orders import Order
from .predict import (
    EmbedDimOpt,
    MaxSecondsOpt,
    MomentsPath,
    ObjectiveOpt,
    OrderOpt,
    SpecPath,
    WeightDecayOpt,
    load_problem,
)


def advise_command(
    keep: Annotated[int, typer.Option("--keep", help="the number K of directions to keep")],
    spec_path: SpecPath = None,
    knob: Annotated[str, typer.Option("--knob", help=f"{KNOB_HELP}, or two of them as a,b for the region")
                    ] = "weight_decay",
    at_least: Annotated[bool, typer.Option("--at-least", help="rank ≥ K instead of exactly K")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    order: OrderOpt = Order.AUTO,
    max_seconds: MaxSecondsOpt = None,
    moments: MomentsPath = None,
    objective: ObjectiveOpt = None,
    weight_decay: WeightDecayOpt = None,
    embed_dim: EmbedDimOpt = None,
) -> None:
    """The interval of a knob (all else fixed) on which the predicted rank is K, or why no value gives K."""
    from rich.console import Console

    from ..theory.advise import advise, advise_region
    from .progress import announce_plan, bar, check_max_seconds

    check_max_seconds(max_seconds)
    spec, _ = load_problem(spec_path, moments, objective, weight_decay, embed_dim)
    knobs = [k.strip() for k in knob.split(",")]
    if len(knobs) > 2:
        raise UserError(f"--knob takes one knob or two as a,b; got {knob!r}")
    if len(knobs) == 2:
        announce_plan(spec, order, 64 * 64, "the region's phase diagram", cells=True)
        with bar("region", 1) as update:
            region = advise_region(spec, keep, (knobs[0], knobs[1]), at_least=at_least, progress=update,
                                   order=order, max_seconds=max_seconds)
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
    announce_plan(spec, order, 40, "advise's scan along the knob, at most")
    with bar("advise (solving along the knob)", 40) as update:
        result = advise(spec, keep, knobs[0], at_least=at_least, order=order, progress=update,
                        max_seconds=max_seconds)
    if as_json:
        typer.echo(result.to_json())
        return
    console = Console(soft_wrap=True)
    console.print(("[green]" if result.possible else "[red]") + result.reason + "[/]")
    if len(result.intervals) > 1:
        console.print("all intervals: " + ", ".join(f"[{lo:.4g}, {'∞' if hi is None else f'{hi:.4g}'})"
                                                    for lo, hi in result.intervals))
    console.print(f"solver {result.solver} (order {result.order}, {result.method}); the spec's {result.knob} = "
                  f"{result.current_value} keeps {result.current_alive} direction(s)")


def register(app: typer.Typer) -> None:
    app.command("advise")(advise_command)
