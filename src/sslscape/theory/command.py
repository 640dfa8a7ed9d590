"""CLI commands `predict` and `phase` (thin layer over sslscape.theory)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..errors import UserError
from ..spec import load_spec


def _fmt(values, limit: int = 8) -> str:
    if values is None:
        return "n/a (no closed form)"
    shown = ", ".join(f"{v:.4g}" for v in list(values)[:limit])
    return shown + (" …" if len(values) > limit else "")


def predict_command(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC", help="problem spec (.json / .yaml)")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    order: Annotated[str, typer.Option(help="quartic (closed form) or exact (solver)")] = "quartic",
) -> None:
    """Predict the rank, collapse phase, spectrum and critical thresholds of a spec."""
    from . import predict

    if order not in ("quartic", "exact"):
        raise UserError(f"--order must be 'quartic' or 'exact', got {order!r}")
    spec, base = load_spec(spec_path)
    pred = predict(spec, order, base)  # type: ignore[arg-type]
    if as_json:
        typer.echo(pred.to_json())
        return
    table = Table(title=f"sslscape prediction — {spec.objective} ({spec_path})", show_header=False)
    table.add_row("rank", f"{pred.rank} of {pred.max_rank}")
    table.add_row("phase", pred.phase)
    table.add_row("spectrum of Cov(z)", _fmt(pred.spectrum))
    for key in ("weight_decay", "noise_scale", "temperature"):
        if key in pred.thresholds:
            table.add_row(f"critical {key} (per direction)", _fmt(pred.thresholds[key]))
    table.add_row("order / method", f"{pred.order} / {pred.method}")
    for note in pred.notes:
        table.add_row("note", note)
    Console().print(table)


def phase_command(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC", help="problem spec (.json / .yaml)")],
    x: Annotated[str, typer.Option("--x", help="NAME:LO:HI:N, e.g. weight_decay:0:1:64")] = "weight_decay:0:1:64",
    y: Annotated[str, typer.Option("--y", help="NAME:LO:HI:N, e.g. noise_scale:0:4:64")] = "noise_scale:0:4:64",
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out/phase"),
) -> None:
    """Phase diagram over two parameters: PNG (ranks, phase borders, threshold lines) + JSON."""
    from ..io import atomic_write_text
    from ..report.phase_plot import plot_phase_diagram
    from .phase import Axis, phase_diagram

    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} is a file; give a folder")
    spec, base = load_spec(spec_path)
    diagram = phase_diagram(spec, Axis.parse(x), Axis.parse(y), base)
    json_path = atomic_write_text(out / "phase.json", diagram.to_json())
    png_path = plot_phase_diagram(diagram, out / "phase.png")
    counts = {name: int((diagram.phase == code).sum()) for name, code in
              (("complete", 0), ("dimensional", 1), ("none", 2))}
    typer.echo(json.dumps({"png": str(png_path), "json": str(json_path), "method": diagram.method,
                           "cells": counts}))
    Console(stderr=True).print(f"phase diagram written to [bold]{png_path}[/bold] (data: {json_path})")


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)
    app.command("phase")(phase_command)
