"""CLI commands of sslscape.train (registered by sslscape.cli): `train` and `compare`."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add `sslscape train` and `sslscape compare` to the app."""

    @app.command("train")
    def train_command(
        config: Path = typer.Argument(..., help="training config (YAML/JSON); see configs/ for examples"),
        resume: bool = typer.Option(False, "--resume", help="continue from OUT/checkpoint.pt"),
        out: Path | None = typer.Option(None, "--out", help="output folder (default: runs/<config name>)"),
        quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    ) -> None:
        """Train an encoder: writes checkpoint.pt, metrics.jsonl, embeddings.npy and summary.json."""
        from rich.console import Console

        from .config import load_config
        from .loop import train

        cfg, base_dir = load_config(config)
        out_dir = out or Path("runs") / config.stem
        result = train(cfg, out_dir, resume=resume, base_dir=base_dir, progress=not quiet)
        console = Console()
        extra = ""
        if result.knn_accuracy is not None:
            extra += f"  kNN@{cfg.eval.knn_k} {100 * result.knn_accuracy:.1f}%"
        if result.linear_probe_accuracy is not None:
            extra += f"  probe {100 * result.linear_probe_accuracy:.1f}%"
        console.print(f"[bold]trained[/] {result.steps} steps  loss {result.final_loss:.4g}  rank {result.rank}  "
                      f"effective rank {result.effective_rank:.2f}{extra}  ({result.samples_per_s:,.0f} samples/s)")
        console.print(f"outputs in {out_dir}/ (metrics.jsonl, embeddings.npy, summary.json, checkpoint.pt)")

    @app.command("compare")
    def compare_command(
        spec: Path = typer.Argument(..., help="problem spec (JSON/YAML)"),
        seeds: int = typer.Option(3, "--seeds", min=1, help="training seeds"),
        steps: int | None = typer.Option(None, "--steps", min=1, help="training steps per seed (default 3000)"),
        order: str = typer.Option("quartic", "--order", help="theory order: quartic | exact"),
        out: Path | None = typer.Option(None, "--out", help="output folder (default: runs/compare-<spec name>)"),
    ) -> None:
        """Train the spec's linear model on its own data and overlay the trained spectrum on the prediction."""
        from rich.console import Console

        from ..errors import UserError
        from ..spec import load_spec
        from .compare import compare, write_compare

        if order not in ("quartic", "exact"):
            raise UserError(f"--order must be 'quartic' or 'exact', got {order!r}")
        parsed, base_dir = load_spec(spec)
        result = compare(parsed, seeds=seeds, steps=steps, order=order, base_dir=base_dir)
        out_dir = out or Path("runs") / f"compare-{spec.stem}"
        png, js = write_compare(result, out_dir, title=f"{spec.stem}: theory vs training")
        verdict = "[green]agree[/]" if result.agree else "[red]disagree[/]"
        band = (str(result.predicted_rank) if result.predicted_rank_max == result.predicted_rank
                else f"{result.predicted_rank}–{result.predicted_rank_max} (depth ≥ 2: metastable range)")
        Console().print(f"predicted rank {band} ({result.phase}), trained ranks "
                        f"{list(result.trained_ranks)}: {verdict}  → {png}, {js}")
