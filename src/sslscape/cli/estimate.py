"""`sslscape estimate`: the moments a real augmentation pipeline hands the theory (`sslscape.moments`), a spec
written from them, and `predict` on it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UserError

CACHE_HELP = "keep the moments in a moments file and reuse it ($SSLSCAPE_CACHE, default ~/.cache/sslscape)"


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
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help=CACHE_HELP)] = True,
) -> None:
    """Estimate C, μ and S of a real dataset under an augmentation pipeline, write a spec, and predict on it.

    The moments are computed once per dataset, pipeline, sample count and method and kept in a moments file (its
    path is printed); later calls read it, and `predict` / `phase` / `advise --moments FILE` take it directly.
    """
    from ..io import atomic_write_text
    from ..moments import cached_dataset_moments
    from ..spec import parse_spec
    from ..theory import predict

    if samples < 0 or pairs < 2 or downsample < 1 or embed_dim < 0:
        raise UserError("--samples ≥ 0, --pairs ≥ 2, --downsample ≥ 1 and --embed-dim ≥ 0 are required")
    if out.exists() and out.is_dir():
        out = out / "estimated_spec.json"
    t0 = time.perf_counter()
    found = cached_dataset_moments(data, augment, samples=samples or None, pairs=pairs, mc=mc, downsample=downsample,
                                   cache=cache)
    raw = found.moments.spec_dict(objective, weight_decay, embed_dim or None)
    pred = predict(parse_spec(raw))
    path = atomic_write_text(out, json.dumps(raw) + "\n")
    res = {**found.to_dict(), "spec": str(path), "prediction": pred.to_dict(),
           "wall_s": round(time.perf_counter() - t0, 2)}
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
    if res["moments_file"] is not None:
        table.add_row("moments file", f"{res['moments_file']} ({'read from the cache' if res['cached'] else 'written'};"
                                      " predict/phase/advise --moments FILE)")
    table.add_row("predicted rank / phase", f"{pred['rank']} of {pred['max_rank']} / {pred['phase']}")
    Console(soft_wrap=True).print(table)


def register(app: typer.Typer) -> None:
    app.command("estimate")(estimate_command)
