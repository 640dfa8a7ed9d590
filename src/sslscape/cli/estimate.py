"""`sslscape estimate`: the moments a real augmentation pipeline hands the theory (`sslscape.moments`), a spec
that references them, and `predict` on it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UserError
from ..orders import Order
from .predict import MaxSecondsOpt, OrderOpt

CACHE_HELP = "keep the moments in a moments file and reuse it ($SSLSCAPE_CACHE, default ~/.cache/sslscape)"
DATA_HELP = ("'digits', 'fashion-mnist', an array file (.npy/.npz/.pt/.csv: (n, D), (n, H, W), (n, H, W, C) or "
             "(n, C, H, W)) or a folder of PNG/JPEG images (grey or RGB)")
AUGMENT_HELP = ("a preset (simclr, byol) or steps joined by '+': crop, shift:K, flip, jitter:B,C,S,H, gray, blur, "
                "solarize, clip, noise:STD; two views as 'VIEW1 | VIEW2' (docs/augmentations.md)")


def _method_line(res: dict[str, Any]) -> str:
    """The method in words: what is exact, what was sampled, and the noise floors."""
    m, floor = res["method"], res["noise_floor"]
    parts = []
    branch = "the linear branch: " if "+" in m else ""
    if m.startswith("exact"):
        parts.append(f"{branch}finite mixture of pixel maps: A, B and μ exact")
    elif m.startswith("mean_maps"):
        parts.append(f"{branch}random linear maps: A and μ exact (mean maps); B from {res['draws']} drawn maps per "
                     f"view and half (its floor {res['view_floor']:.3g})")
    if m.endswith("monte_carlo"):
        share = "" if m == "monte_carlo" else f"the nonlinear ops' branch (probability {res['nonlinear_weight']:.2f}) "
        parts.append(f"{share}by Monte-Carlo, {res['pairs']} view pairs per image: noise floor {floor:.3g}, "
                     f"{res['below_floor']} of {res['dim']} eigenvalues of A below it (unreliable)")
    return f"{m} — " + "; ".join(parts)


def _progress(enabled: bool) -> Any:
    """A context yielding `update(done, total)` for the library: a bar on a terminal and, once the work has run for
    a second, one line on stderr with the time left at the rate measured so far (also off a terminal)."""
    from contextlib import contextmanager

    from .progress import bar, say_line

    @contextmanager
    def ctx() -> Any:
        first: list = []  # (time, done) of the first report: the rate is measured from there (start-up excluded)
        told = [not enabled]
        with bar("estimating the moments", 1000, enabled=enabled) as draw:
            def update(done: float, total: float) -> None:
                if total <= 0:
                    return
                draw(int(1000 * done / total), 1000)
                now = time.perf_counter()
                if not first:
                    first.append((now, done))
                    return
                d1, spent = first[0][1], now - first[0][0]
                if not told[0] and spent > 1.0 and done > d1:
                    told[0] = True
                    left = spent * (total - done) / (done - d1)
                    say_line(f"estimating the moments: about {max(1, round(left))} s left "
                             f"({100 * done / total:.0f} % done)")

            yield update

    return ctx()


def estimate_command(
    data: Annotated[str, typer.Argument(metavar="DATA", help=DATA_HELP)],
    augment: Annotated[str, typer.Option("--augment", help=AUGMENT_HELP)] = "noise:0.1",
    samples: Annotated[int, typer.Option("--samples", help="images used, a seeded subset (0 = all)")] = 0,
    size: Annotated[str | None, typer.Option("--size", help="H,W[,C]: the image size of flat (n, D) rows, or the "
                                                            "size folder images are resized to (H,W)")] = None,
    layout: Annotated[str | None, typer.Option("--layout", help="NHWC | NCHW | NHW: how an array's axes are "
                                                                "stored, when the shape leaves it open")] = None,
    pairs: Annotated[int, typer.Option("--pairs", help="Monte-Carlo view pairs per image (nonlinear ops, --mc)")
                     ] = 8,
    draws: Annotated[int, typer.Option("--draws", help="drawn maps per view and half for B under random linear "
                                                       "maps (0 = auto)")] = 0,
    mc: Annotated[bool, typer.Option("--mc", help="Monte-Carlo over images for everything (the reference)")] = False,
    downsample: Annotated[int, typer.Option("--downsample", help="average-pool factor")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="subset and every random draw")] = 0,
    objective: Annotated[str, typer.Option("--objective", help="objective of the written spec")] = "spectral",
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="γ of the written spec")] = 0.01,
    embed_dim: Annotated[int, typer.Option("--embed-dim", help="d of the written spec (0 = input dim)")] = 0,
    out: Annotated[Path, typer.Option("--out", help="spec file to write")] = Path("out/estimated_spec.json"),
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help=CACHE_HELP)] = True,
    order: OrderOpt = Order.AUTO,
    max_seconds: MaxSecondsOpt = None,
) -> None:
    """Estimate C = A, μ and S = B − A of your data under your augmentation, write a spec, and predict on it.

    The moments are computed by the structure of the augmentation's maps (docs/augmentations.md): exact for flips
    and shifts, A exact for crops, blur and colour jitter, Monte-Carlo only for clipping and solarisation. They are
    kept in a moments file (its path is printed) that the written spec references; later calls read it, and
    `predict` / `phase` / `advise` take the spec or `--moments FILE`.
    """
    from ..datasets import parse_size
    from ..io import atomic_write_text
    from ..moments import cached_dataset_moments, save_moments
    from ..spec import parse_spec
    from .progress import solve_with_feedback

    if samples < 0 or pairs < 2 or pairs % 2 or draws < 0 or draws == 1 or downsample < 1 or embed_dim < 0:
        raise UserError("--samples ≥ 0, --pairs even ≥ 2, --draws 0 (auto) or ≥ 2, --downsample ≥ 1 and "
                        "--embed-dim ≥ 0 are required")
    if out.exists() and out.is_dir():
        out = out / "estimated_spec.json"
    t0 = time.perf_counter()
    with _progress(True) as update:
        found = cached_dataset_moments(data, augment, samples=samples or None, pairs=pairs, mc=mc,
                                       downsample=downsample, seed=seed, size=parse_size(size), layout=layout,
                                       draws=draws or None, cache=cache, progress=update)
    moments_path = found.path
    if moments_path is None:  # --no-cache (or an unwritable cache): the moments go beside the spec
        moments_path = save_moments(found.moments, out.with_suffix(".npz"))
    raw: dict[str, Any] = {"objective": objective, "data": {"moments": str(Path(moments_path).resolve())},
                           "weight_decay": weight_decay}
    if embed_dim:
        raw["embed_dim"] = embed_dim
    spec = parse_spec(raw)
    path = atomic_write_text(out, json.dumps(raw, indent=1) + "\n")  # before predicting: kept if that is stopped
    pred = solve_with_feedback(spec, order, max_seconds, quiet=False, label="predicting")
    est = found.moments
    res = {**found.to_dict(), "moments_file": str(moments_path), "spec": str(path), "prediction": pred.to_dict(),
           "uncertain": pred.rank > est.resolved, "wall_s": round(time.perf_counter() - t0, 2)}
    if as_json:
        typer.echo(json.dumps(res))
        return
    from rich.console import Console
    from rich.table import Table

    p = res["prediction"]
    table = Table(title=f"sslscape estimate — {res['dataset']} under {augment}", show_header=False)
    table.add_row("data", est.read_as or f"{res['n_images']} × {res['dim']}")
    table.add_row("images × dim", f"{res['n_images']} × {res['dim']}")
    table.add_row("method", _method_line(res))
    table.add_row("top eigenvalues of A", ", ".join(f"{v:.4g}" for v in res["eigenvalues_top"][:8]))
    cap = p.get("capacity", p.get("max_rank"))
    rank = f"{p['rank']} of at most {cap}"
    why = f"{cap} = min(embed_dim {p.get('embed_dim', '?')}, the rank of A: the directions the two views share)"
    if res["uncertain"]:
        rank += f" — uncertain: only {est.resolved} eigenvalues of A lie above the noise floor {est.noise_floor:.3g}"
    if not pred.converged:
        rank += " — NOT CONVERGED: stopped at --max-seconds, the best answer so far"
    table.add_row("predicted rank", rank)
    table.add_row("", why)
    table.add_row("phase", p["phase"])
    Console(soft_wrap=True).print(table)
    # the paths on lines of their own: never cut, ready to paste
    state = "read from the cache" if res["cached"] else "written"
    typer.echo(f"moments file ({state}): {moments_path}")
    typer.echo(f"spec written: {path}  (predict / phase / advise / explore take it; it references the moments file)")


def register(app: typer.Typer) -> None:
    app.command("estimate")(estimate_command)
