"""`sslscape predict` and `sslscape phase`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UserError

THRESHOLD_ROWS = ("weight_decay", "weight_decay_metastable", "weight_decay_at_learned_point", "noise_scale",
                  "temperature")


def _fmt(values: Any, limit: int = 8) -> str:
    if values is None:
        return "n/a (no closed form)"
    if len(values) == 0:
        return "none (this knob never changes the rank)"
    shown = ", ".join(f"{v:.4g}" for v in list(values)[:limit])
    return shown + (" …" if len(values) > limit else "")


def _order(order: str) -> str:
    if order not in ("quartic", "exact"):
        raise UserError(f"--order must be 'quartic' or 'exact', got {order!r}")
    return order


def predict_command(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC", help="problem spec (.json / .yaml): docs/spec.md")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    order: Annotated[str, typer.Option(help="quartic (closed form) or exact (solver)")] = "quartic",
) -> None:
    """Predict the rank, collapse phase, spectrum and critical thresholds of a spec."""
    from rich.console import Console
    from rich.table import Table

    from ..spec import load_spec
    from ..theory import predict

    spec = load_spec(spec_path)
    pred = predict(spec, _order(order))  # type: ignore[arg-type]
    if as_json:
        typer.echo(pred.to_json())
        return
    table = Table(title=f"sslscape prediction — {spec.objective} ({spec_path})", show_header=False)
    table.add_row("rank", f"{pred.rank} of {pred.max_rank}" + (f" (up to {pred.rank_max} locally stable)"
                                                                 if pred.rank_max > pred.rank else ""))
    table.add_row("phase", pred.phase)
    table.add_row("spectrum of Cov(z)", _fmt(pred.spectrum))
    thresholds = pred.thresholds.to_dict()
    for key in THRESHOLD_ROWS:
        if thresholds.get(key) is not None:
            table.add_row(f"critical {key} (per direction)", _fmt(thresholds[key]))
    table.add_row("order / method", f"{pred.order} / {pred.method}")
    for note in pred.notes:
        table.add_row("note", note)
    Console(soft_wrap=True).print(table)


def parse_axis(text: str) -> Any:
    """'weight_decay:0:1:64' → theory.phase.Axis; one-line UserError otherwise."""
    from ..theory.phase import Axis

    parts = text.split(":")
    if len(parts) != 4:
        raise UserError(f"axis {text!r} must be NAME:LO:HI:N, e.g. weight_decay:0:1:64")
    try:
        lo, hi, n = float(parts[1]), float(parts[2]), int(parts[3])
    except ValueError as exc:
        raise UserError(f"axis {text!r}: LO and HI must be numbers and N an integer") from exc
    return Axis(parts[0], lo, hi, n)


def phase_command(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC", help="problem spec (.json / .yaml): docs/spec.md")],
    x: Annotated[str, typer.Option("--x", help="NAME:LO:HI:N, e.g. weight_decay:0:1:64")] = "weight_decay:0:1:64",
    y: Annotated[str, typer.Option("--y", help="NAME:LO:HI:N, e.g. noise_scale:0:4:64")] = "noise_scale:0:4:64",
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out/phase"),
    fmt: Annotated[str, typer.Option("--format", help="figure format: png, pdf or svg")] = "png",
) -> None:
    """Phase diagram over two parameters: figure (ranks, phase borders, threshold lines, the spec's point) + JSON."""
    from ..io import atomic_write_text
    from ..report.phase_plot import plot_phase_diagram
    from ..spec import load_spec
    from ..theory.phase import phase_diagram
    from .progress import bar

    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} is a file; give a folder")
    spec = load_spec(spec_path)
    ax, ay = parse_axis(x), parse_axis(y)
    with bar("phase diagram, cell by cell (no closed form)", ax.n * ay.n) as update:
        diagram = phase_diagram(spec, ax, ay, progress=update)
    json_path = atomic_write_text(out / "phase.json", diagram.to_json())
    fig_path = plot_phase_diagram(diagram, out / f"phase.{fmt}")
    counts = {name: int((diagram.phase == code).sum()) for name, code in
              (("complete", 0), ("dimensional", 1), ("none", 2))}
    typer.echo(json.dumps({"png" if fmt == "png" else "figure": str(fig_path), "json": str(json_path),
                           "method": diagram.method, "cells": counts}))


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)
    app.command("phase")(phase_command)
