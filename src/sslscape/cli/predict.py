"""`sslscape predict` and `sslscape phase`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UserError

THRESHOLD_ROWS = ("weight_decay", "weight_decay_metastable", "weight_decay_range", "noise_scale", "temperature")
ORDER_HELP = ("auto (default: the best closed form — learned_point for finite-batch dot InfoNCE, per_direction for "
              "SimSiam/BYOL, VICReg and batch-standardised Barlow Twins, else quartic), quartic, learned_point, "
              "per_direction or exact (the numerical referee)")


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


def _order(order: str) -> str:
    from ..theory.predict import ORDERS

    if order not in ORDERS:
        raise UserError(f"--order must be one of {', '.join(ORDERS)}; got {order!r}")
    return order


def _max_seconds(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise UserError(f"--max-seconds must be a positive number of seconds, got {value!r}")
    return value


def solve_with_feedback(spec: Any, order: str, max_seconds: float | None = None, quiet: bool = False) -> Any:
    """`predict(spec, order)`; when the answer needs the exact solver, first one line on stderr with the reason and
    an estimate ("no closed form for cosine similarity: solving numerically, about 12 s"), then a progress bar."""
    from ..theory.predict import plan, predict
    from .progress import bar

    chosen = plan(spec, order)
    if not chosen.numerical:
        return predict(spec, order)
    from ..moments import moments_of
    from ..theory.exact import estimate_seconds

    seconds = estimate_seconds(spec, moments_of(spec))
    limit = f"; stopping after {max_seconds:g} s with the best answer so far" if max_seconds else ""
    if not quiet:  # one unwrapped line (a log line, not a rich paragraph)
        typer.echo(f"{chosen.reason}: solving numerically, about {max(1, round(seconds))} s{limit}", err=True)
    with bar("exact solve", 1, enabled=not quiet) as update:
        return predict(spec, order, progress=update, max_seconds=max_seconds)


def predict_command(
    spec_path: SpecPath = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    order: Annotated[str, typer.Option(help=ORDER_HELP)] = "auto",
    max_seconds: Annotated[float | None, typer.Option("--max-seconds", help="exact solves: stop after this many "
                                                      "seconds with the best answer so far (marked)")] = None,
    moments: MomentsPath = None,
    objective: ObjectiveOpt = None,
    weight_decay: WeightDecayOpt = None,
    embed_dim: EmbedDimOpt = None,
) -> None:
    """Predict the rank, collapse phase, spectrum and critical thresholds of a spec (or of a moments file)."""
    spec, source = load_problem(spec_path, moments, objective, weight_decay, embed_dim)
    pred = solve_with_feedback(spec, _order(order), _max_seconds(max_seconds))
    if as_json:
        typer.echo(pred.to_json())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"sslscape prediction — {spec.objective} ({source}) — order {pred.order}",
                  show_header=False)
    why = ("with the seed band" if spec.objective in ("simsiam", "byol") else
           "with directions at the threshold" if pred.method == "cosine_snr_level" else "locally stable")
    table.add_row("rank", f"{pred.rank} of {pred.max_rank}" + (f" (up to {pred.rank_max} {why})"
                                                                 if pred.rank_max > pred.rank else ""))
    table.add_row("phase", pred.phase)
    table.add_row("spectrum of Cov(z)", _fmt(pred.spectrum))
    if pred.positive_weight is not None:
        table.add_row("positive pair's softmax share p̄", f"{pred.positive_weight:.4g}")
    th = pred.thresholds
    thresholds = th.to_dict()
    label = f"{th.order} order" + ("" if th.order == pred.order else ", not this answer's")
    for key in THRESHOLD_ROWS:
        if thresholds.get(key) is not None:
            name = "critical weight_decay bracket" if key == "weight_decay_range" else f"critical {key}"
            table.add_row(f"{name} ({label}, per direction)", _fmt(thresholds[key]))
        elif key == "noise_scale" and th.kind == "learned_point":  # noise acts through p̄ alone: no frozen value
            table.add_row(f"critical noise_scale ({label})", "the augmentation moves the rank through p̄ only: "
                          "sslscape advise --knob noise_scale re-solves the learned point along it")
    table.add_row("order / method", f"{pred.order} / {pred.method}"
                  + ("" if pred.converged else " — NOT CONVERGED: stopped at --max-seconds, the best answer so far"))
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
    spec_path: SpecPath = None,
    x: Annotated[str, typer.Option("--x", help="NAME:LO:HI:N, e.g. weight_decay:0:1:64")] = "weight_decay:0:1:64",
    y: Annotated[str, typer.Option("--y", help="NAME:LO:HI:N, e.g. noise_scale:0:4:64")] = "noise_scale:0:4:64",
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out/phase"),
    fmt: Annotated[str, typer.Option("--format", help="figure format: png, pdf or svg")] = "png",
    moments: MomentsPath = None,
    objective: ObjectiveOpt = None,
    weight_decay: WeightDecayOpt = None,
    embed_dim: EmbedDimOpt = None,
) -> None:
    """Phase diagram over two parameters: figure (ranks, phase borders, threshold lines, the spec's point) + JSON."""
    from ..io import atomic_write_text
    from ..report.phase_plot import plot_phase_diagram
    from ..theory.phase import phase_diagram
    from .progress import bar

    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} is a file; give a folder")
    spec, _ = load_problem(spec_path, moments, objective, weight_decay, embed_dim)
    ax, ay = parse_axis(x), parse_axis(y)
    _announce_pointwise(spec, ax.n * ay.n)
    with bar("phase diagram, cell by cell", ax.n * ay.n) as update:
        diagram = phase_diagram(spec, ax, ay, progress=update)
    json_path = atomic_write_text(out / "phase.json", diagram.to_json())
    title = (f"{spec.objective} ({spec.similarity}, {spec.protocol}), depth {spec.depth} — order {diagram.order}"
             "\nblack: phase borders (complete | dimensional | none)")
    fig_path = plot_phase_diagram(diagram, out / f"phase.{fmt}", title=title)
    for note in diagram.notes:
        typer.echo(f"note: {note}", err=True)
    counts = {name: int((diagram.phase == code).sum()) for name, code in
              (("complete", 0), ("dimensional", 1), ("none", 2))}
    typer.echo(json.dumps({"png" if fmt == "png" else "figure": str(fig_path), "json": str(json_path),
                           "method": diagram.method, "order": diagram.order, "cells": counts}))


def _announce_pointwise(spec: Any, cells: int) -> None:
    """One line on stderr before a diagram whose cells each need the exact solver (cells × the estimate)."""
    from ..theory.phase import MAX_POINTWISE_CELLS, pointwise_kind
    from ..theory.predict import plan

    chosen = plan(spec, "quartic")  # also refuses a spec with theory gaps, before any estimate
    if not chosen.numerical or pointwise_kind(spec, expandable=False) != "exact" \
            or cells > MAX_POINTWISE_CELLS["exact"]:  # phase_diagram refuses larger grids itself
        return
    from ..moments import moments_of
    from ..theory.exact import estimate_seconds

    seconds = cells * estimate_seconds(spec, moments_of(spec))
    typer.echo(f"{chosen.reason}: {cells} cells solved numerically one by one, about {max(1, round(seconds))} s",
               err=True)


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)
    app.command("phase")(phase_command)
