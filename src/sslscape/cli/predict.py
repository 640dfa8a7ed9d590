"""`sslscape predict` and `sslscape phase`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UserError
from ..orders import ORDER_HELP, Order

THRESHOLD_ROWS = ("critical_weight_decay", "metastable_weight_decay", "critical_weight_decay_range",
                  "critical_noise_scale", "critical_temperature")
OrderOpt = Annotated[Order, typer.Option("--order", help=ORDER_HELP)]
MaxSecondsOpt = Annotated[float | None, typer.Option("--max-seconds", help="numerical solves: stop after this many "
                                                     "seconds with the best answer so far (marked)")]


SPEC_HELP = "problem spec (.json / .yaml): docs/spec.md; optional with --moments"
MOMENTS_HELP = ("moments file from `sslscape estimate` (.npz): replaces the spec's data.cov, data.mean and "
                "augmentation.noise_cov; without SPEC, a spec of --objective, --weight-decay and --embed-dim")
SpecPath = Annotated[Path | None, typer.Argument(metavar="SPEC", help=SPEC_HELP, show_default=False)]
MomentsPath = Annotated[Path | None, typer.Option("--moments", metavar="FILE", help=MOMENTS_HELP, show_default=False)]
ObjectiveOpt = Annotated[str | None, typer.Option("--objective", help="with --moments and no SPEC: the objective "
                                                  "(default spectral, as `sslscape estimate` writes)")]
WeightDecayOpt = Annotated[float | None, typer.Option("--weight-decay", help="with --moments and no SPEC: γ "
                                                      "(default 0.01)")]
EmbedDimOpt = Annotated[int | None, typer.Option("--embed-dim", help="with --moments and no SPEC: d (default: the "
                                                 "input dimension)")]


def load_problem(spec_path: Path | None, moments: Path | None = None, objective: str | None = None,
                 weight_decay: float | None = None, embed_dim: int | None = None) -> tuple[Any, str]:
    """The spec a command answers, and a short label naming where it came from.

    SPEC alone: the file. SPEC + --moments: the file with its data and augmentation moments replaced by the
    moments file's (`moments.spec_from_moments`). --moments alone: the spec `sslscape estimate` writes, of
    --objective / --weight-decay / --embed-dim. One-line UserError otherwise (exit 2).
    """
    from ..spec import load_spec

    given = {k: v for k, v in (("--objective", objective), ("--weight-decay", weight_decay),
                               ("--embed-dim", embed_dim)) if v is not None}
    if spec_path is None and moments is None:
        raise UserError("give a SPEC file (docs/spec.md) or --moments FILE (written by `sslscape estimate`)")
    if spec_path is not None and given:
        raise UserError(f"{', '.join(given)} only apply with --moments and no SPEC; set them in the SPEC file "
                        "instead")
    if moments is None:
        return load_spec(spec_path), str(spec_path)
    from ..moments import spec_from_moments

    if embed_dim is not None and embed_dim < 1:
        raise UserError(f"--embed-dim must be a positive integer, got {embed_dim}")
    if spec_path is None:
        spec = spec_from_moments(moments, None, objective=objective or "spectral",
                                 weight_decay=0.01 if weight_decay is None else weight_decay, embed_dim=embed_dim)
        return spec, f"moments {moments}"
    return spec_from_moments(moments, load_spec(spec_path)), f"{spec_path} + moments {moments}"


def _fmt(values: Any, limit: int = 8) -> str:
    if values is None:
        return "n/a (no closed form)"
    if len(values) == 0:
        return "none (this knob never changes the rank)"
    shown = ", ".join(f"[{v[0]:.4g}, {v[1]:.4g}]" if isinstance(v, list | tuple) else f"{v:.4g}"
                      for v in list(values)[:limit])
    return shown + (" …" if len(values) > limit else "")


def predict_command(
    spec_path: SpecPath = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    order: OrderOpt = Order.AUTO,
    max_seconds: MaxSecondsOpt = None,
    moments: MomentsPath = None,
    objective: ObjectiveOpt = None,
    weight_decay: WeightDecayOpt = None,
    embed_dim: EmbedDimOpt = None,
) -> None:
    """Predict the rank, collapse phase, spectrum and critical thresholds of a spec (or of a moments file)."""
    from .progress import solve_with_feedback

    spec, source = load_problem(spec_path, moments, objective, weight_decay, embed_dim)
    pred = solve_with_feedback(spec, order, max_seconds)
    if as_json:
        typer.echo(pred.to_json())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"sslscape prediction — {spec.objective} ({source}) — solver {pred.solver} "
                        f"(order {pred.order})", show_header=False)
    lo, hi = pred.rank_range
    table.add_row("rank", f"{pred.rank} of {pred.capacity}" + (f" (range {lo}–{hi})" if hi > lo else "")
                  + (f"; the theory counts {pred.alive} {_alive_word(spec, pred)}" if pred.alive != pred.rank else ""))
    table.add_row("phase", pred.phase)
    table.add_row("spectrum of Cov(z)", _fmt(pred.spectrum))
    if pred.positive_weight is not None:
        table.add_row("positive pair's softmax share p̄", f"{pred.positive_weight:.4g}")
    th = pred.thresholds
    thresholds = th.to_dict()
    label = f"{th.order} order" + ("" if th.order == pred.order else ", not this answer's")
    for key in THRESHOLD_ROWS:
        name = key.replace("_", " ").replace("critical weight decay range", "critical weight decay bracket")
        if thresholds.get(key) is not None:
            table.add_row(f"{name} ({label}, per direction)", _fmt(thresholds[key]))
        elif key == "critical_noise_scale" and th.kind == "learned_point":  # noise acts through p̄ alone
            table.add_row(f"{name} ({label})", "the augmentation moves the rank through p̄ only: "
                          "sslscape advise --knob noise_scale re-solves the learned point along it")
    table.add_row("solver / cost / method", f"{pred.solver} / {pred.cost.replace('_', ' ')} / {pred.method}"
                  + ("" if pred.converged else " — NOT CONVERGED: stopped at --max-seconds, the best answer so far"))
    table.add_row("why this solver", pred.why)
    for note in pred.notes:
        table.add_row("note", note)
    Console(soft_wrap=True).print(table)


def _alive_word(spec: Any, pred: Any) -> str:
    if spec.objective in ("simsiam", "byol") and spec.similarity == "dot":
        return "escaping direction(s) (one dominates a run)"
    return "surviving direction(s) (the collapse rule cuts the weakest)"


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
    spec_path: SpecPath = None,
    x: Annotated[str, typer.Option("--x", help="NAME:LO:HI:N, e.g. weight_decay:0:1:64")] = "weight_decay:0:1:64",
    y: Annotated[str, typer.Option("--y", help="NAME:LO:HI:N, e.g. noise_scale:0:4:64")] = "noise_scale:0:4:64",
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out/phase"),
    fmt: Annotated[str, typer.Option("--format", help="figure format: png, pdf or svg")] = "png",
    order: OrderOpt = Order.AUTO,
    max_seconds: MaxSecondsOpt = None,
    moments: MomentsPath = None,
    objective: ObjectiveOpt = None,
    weight_decay: WeightDecayOpt = None,
    embed_dim: EmbedDimOpt = None,
) -> None:
    """Phase diagram over two parameters: figure (ranks, phase borders, threshold lines, the spec's point) + JSON."""
    from ..io import atomic_write_text
    from ..report.phase_plot import plot_phase_diagram
    from ..theory.phase import phase_diagram
    from .progress import announce_plan, bar, check_max_seconds

    check_max_seconds(max_seconds)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} is a file; give a folder")
    spec, _ = load_problem(spec_path, moments, objective, weight_decay, embed_dim)
    ax, ay = parse_axis(x), parse_axis(y)
    announce_plan(spec, order, ax.n * ay.n, "phase diagram cells", cells=True)
    with bar("phase diagram, cell by cell", ax.n * ay.n) as update:
        diagram = phase_diagram(spec, ax, ay, progress=update, order=order, max_seconds=max_seconds)
    json_path = atomic_write_text(out / "phase.json", diagram.to_json())
    title = (f"{spec.objective} ({spec.similarity}, {spec.protocol}), depth {spec.depth} — {diagram.solver}"
             "\nblack: phase borders (complete | dimensional | none)")
    fig_path = plot_phase_diagram(diagram, out / f"phase.{fmt}", title=title)
    for note in diagram.notes:
        typer.echo(f"note: {note}", err=True)
    counts = {name: int((diagram.phase == code).sum()) for name, code in
              (("complete", 0), ("dimensional", 1), ("none", 2))}
    typer.echo(json.dumps({"png" if fmt == "png" else "figure": str(fig_path), "json": str(json_path),
                           "method": diagram.method, "order": diagram.order, "solver": diagram.solver,
                           "cells": counts}))


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)
    app.command("phase")(phase_command)
