"""`sslscape train` and `sslscape compare`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def train_command(
    config: Annotated[Path, typer.Argument(metavar="CONFIG", help="training config (YAML/JSON): docs/config.md, "
                                                                  "examples in configs/")],
    resume: Annotated[bool, typer.Option("--resume", help="continue from OUT/checkpoint.pt")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="output folder (default: runs/<config name>)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
) -> None:
    """Train an encoder: writes checkpoint.pt, metrics.jsonl, embeddings.npy and summary.json."""
    from rich.console import Console

    from ..training.config import load_config
    from ..training.loop import train
    from .progress import bar

    cfg = load_config(config)
    out_dir = out or Path("runs") / config.stem
    with bar("train", cfg.schedule.steps, enabled=not quiet) as update:
        def progress(done: int, total: int, metrics: dict) -> None:
            info = f"loss {metrics['loss']:.4g}  rank {metrics['rank']}" if metrics else ""
            update(done, total, info)

        result = train(cfg, out_dir, resume=resume, progress=progress)
    console = Console()
    extra = ""
    if result.knn_accuracy is not None:
        extra += f"  kNN@{cfg.eval.knn_k} {100 * result.knn_accuracy:.1f}%"
    if result.linear_probe_accuracy is not None:
        extra += f"  probe {100 * result.linear_probe_accuracy:.1f}%"
    console.print(f"[bold]trained[/] {result.steps} steps  loss {result.final_loss:.4g}  rank {result.rank}  "
                  f"effective rank {result.effective_rank:.2f}{extra}  ({result.samples_per_s:,.0f} samples/s)")
    console.print(f"outputs in {out_dir}/ (metrics.jsonl, embeddings.npy, summary.json, checkpoint.pt)")


def compare_command(
    spec: Annotated[Path, typer.Argument(metavar="SPEC", help="problem spec (JSON/YAML): docs/spec.md")],
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="training seeds")] = 3,
    steps: Annotated[int | None, typer.Option("--steps", min=1, help="training steps per seed (default 3000)")] = None,
    order: Annotated[str, typer.Option("--order", help="theory order: quartic | exact")] = "quartic",
    out: Annotated[Path | None, typer.Option("--out", help="output folder (default: runs/compare-<spec>)")] = None,
) -> None:
    """Train the spec's linear model on its own data and overlay the trained spectrum on the prediction."""
    from rich.console import Console

    from ..compare import compare_training, write_compare
    from ..errors import UserError
    from ..spec import load_spec
    from .progress import bar

    if order not in ("quartic", "exact"):
        raise UserError(f"--order must be 'quartic' or 'exact', got {order!r}")
    parsed = load_spec(spec)
    with bar("train seeds", seeds) as update:
        result = compare_training(parsed, seeds=seeds, steps=steps, order=order,
                                  progress=lambda done, total: update(done, total))
    out_dir = out or Path("runs") / f"compare-{spec.stem}"
    png, js = write_compare(result, out_dir, title=f"{spec.stem}: theory vs training")
    verdict = "[green]agree[/]" if result.agree else "[red]disagree[/]"
    band = (str(result.predicted_rank) if result.predicted_rank_max == result.predicted_rank
            else f"{result.predicted_rank}–{result.predicted_rank_max} (depth ≥ 2: metastable range)")
    Console().print(f"predicted rank {band} ({result.phase}, order {result.order}), trained ranks "
                    f"{list(result.trained_ranks)}: {verdict}  → {png}, {js}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("compare")(compare_command)
