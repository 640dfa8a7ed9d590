"""`sslscape train` and `sslscape compare`."""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from ..orders import ORDER_HELP, Order


def train_command(
    config: Annotated[Path, typer.Argument(metavar="CONFIG", help="training config (YAML/JSON): docs/config.md, "
                                                                  "examples in configs/")],
    resume: Annotated[bool, typer.Option("--resume", help="continue from OUT/checkpoint.pt")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="output folder (default: runs/<config name>)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
) -> None:
    """Train an encoder: writes checkpoint.pt, metrics.jsonl, embeddings.npy and summary.json.

    Ctrl-C or SIGTERM stops it with one line naming the last checkpoint and the command that resumes it.
    """
    from rich.console import Console

    from ..training.config import load_config
    from ..training.loop import TrainingInterrupted, train
    from .progress import bar, say_line

    cfg = load_config(config)
    out_dir = out or Path("runs") / config.stem
    again = f"sslscape train {shlex.quote(str(config))} --out {shlex.quote(str(out_dir))} --resume"
    with _interrupts() as caught, _warnings_as_lines():
        try:
            with bar("train", cfg.schedule.steps, enabled=not quiet) as update:
                def progress(done: int, total: int, metrics: dict) -> None:
                    info = f"loss {metrics['loss']:.4g}  rank {metrics['rank']}" if metrics else ""
                    update(done, total, info)

                result = train(cfg, out_dir, resume=resume, progress=progress, say=say_line)
        except TrainingInterrupted as exc:
            where = (f"last checkpoint {exc.checkpoint} (step {exc.checkpoint_step})" if exc.checkpoint is not None
                     else "no checkpoint yet")
            print(f"stopped by {caught.name} at step {exc.step} of {exc.total}; {where}; resume with: {again}",
                  file=sys.stderr)
            raise typer.Exit(128 + caught.number) from None
        except KeyboardInterrupt:
            print(f"stopped by {caught.name} before training began; nothing to resume", file=sys.stderr)
            raise typer.Exit(128 + caught.number) from None
    console = Console(soft_wrap=True)
    if result.already_finished:
        console.print(f"{out_dir}/ holds a finished run ({result.steps} steps, loss {result.final_loss:.4g}, rank "
                      f"{result.rank}); nothing changed")
        return
    extra = ""
    if result.knn_accuracy is not None:
        extra += f"  kNN@{cfg.eval.knn_k} {100 * result.knn_accuracy:.1f}%"
    if result.linear_probe_accuracy is not None:
        extra += f"  probe {100 * result.linear_probe_accuracy:.1f}%"
    console.print(f"[bold]trained[/] {result.steps} steps  loss {result.final_loss:.4g}  rank {result.rank}  "
                  f"effective rank {result.effective_rank:.2f}{extra}  ({result.samples_per_s:,.0f} samples/s)")
    scores = [name for name, v in ((f"kNN@{cfg.eval.knn_k}", result.knn_accuracy),
                                   ("probe", result.linear_probe_accuracy)) if v is not None]
    for what, on in (("rank, effective rank", result.spectrum_on), (" and ".join(scores), result.accuracy_on)):
        if what and on:  # which data each figure is measured on
            console.print(f"  {what} measured on {on}", highlight=False)
    console.print(f"outputs in {out_dir}/ (metrics.jsonl, embeddings.npy, summary.json, checkpoint.pt)")


class _Caught:
    """Which signal stopped the command (SIGINT unless the handler saw SIGTERM)."""

    def __init__(self) -> None:
        self.number = int(signal.SIGINT)

    @property
    def name(self) -> str:
        return signal.Signals(self.number).name


@contextlib.contextmanager
def _interrupts() -> Iterator[_Caught]:
    """SIGINT and SIGTERM both raise KeyboardInterrupt inside (train turns it into TrainingInterrupted); the
    previous handlers come back afterwards. Outside the main thread signals cannot be handled: nothing changes."""
    caught = _Caught()

    def handler(signum: int, frame: Any) -> None:
        caught.number = signum
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    before = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """Library warnings (a corrupt checkpoint set aside, …) as one 'warning: …' line each on stderr."""
    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def compare_command(
    spec: Annotated[Path, typer.Argument(metavar="SPEC", help="problem spec (JSON/YAML): docs/spec.md")],
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="training seeds")] = 3,
    steps: Annotated[int | None, typer.Option("--steps", min=1, help="training steps per seed (default 3000)")] = None,
    order: Annotated[Order, typer.Option("--order", help=ORDER_HELP)] = Order.AUTO,
    max_seconds: Annotated[float | None, typer.Option("--max-seconds", help="a numerical prediction: stop after "
                                                      "this many seconds with the best answer so far")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="output folder (default: runs/compare-<spec>)")] = None,
) -> None:
    """Train the spec's linear model on its own data and overlay the trained spectrum on the prediction."""
    from rich.console import Console

    from ..compare import compare_training, write_compare
    from ..spec import load_spec
    from .progress import bar, check_max_seconds, solve_with_feedback

    check_max_seconds(max_seconds)
    parsed = load_spec(spec)
    with bar("train seeds", seeds) as update:
        result = compare_training(parsed, seeds=seeds, steps=steps, order=order,
                                  predictor=lambda s, o: solve_with_feedback(s, o, max_seconds),
                                  progress=lambda done, total: update(done, total))
    out_dir = out or Path("runs") / f"compare-{spec.stem}"
    png, js = write_compare(result, out_dir, title=f"{spec.stem}: theory vs training")
    verdict = "[green]agree[/]" if result.agree else "[red]disagree[/]"
    lo, hi = result.predicted_range
    band = str(result.predicted_rank) + ("" if lo == hi else f" (range {lo}–{hi})")
    longer = [f"seed {sd}: {n:,} steps" + ("" if ok else ", still moving")
              for sd, n, ok in zip(result.seeds, result.trained_steps, result.settled, strict=True) if n > result.steps]
    extended = f" (still moving at {result.steps:,} steps, trained longer: {'; '.join(longer)})" if longer else ""
    Console(soft_wrap=True).print(f"predicted rank {band} ({result.phase}, solver {result.solver}), trained ranks "
                    f"{list(result.trained_ranks)}{extended}: {verdict}  → {png}, {js}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("compare")(compare_command)
