"""`sslscape projector`: the theory of a linear projector on a built-in backbone's features (`sslscape.projector`)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import UserError
from ..orders import ORDER_HELP, Order

if TYPE_CHECKING:
    import torch


def _floats(text: str, name: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise UserError(f"{name} must be a number or a comma-separated list of numbers, got {text!r}") from exc
    if not values:
        raise UserError(f"{name} is empty; give a number or a comma-separated list, e.g. 0.01,0.1,1")
    return values


def named_images(data: str, samples: int | None = None, downsample: int = 1,
                 seed: int = 0) -> tuple[torch.Tensor, str]:
    """(x (n, C, H, W) float32 in [0, 1], name) for 'fashion-mnist', 'digits', an image array file or a folder of
    PNG/JPEG images, grey or RGB (a seeded subset of `samples`): a thin wrapper over
    `sslscape.datasets.load_images`."""
    import torch

    from ..datasets import load_images

    images = load_images(data, samples=samples, seed=seed, downsample=downsample)
    if not images.is_image:
        raise UserError(f"DATA {data!r} holds vectors, not images; `sslscape projector` needs images (n, H, W), "
                        "(n, H, W, C), (n, C, H, W) or a folder")
    return torch.as_tensor(images.float32()), images.name


def augment_of(text: str, config: dict[str, Any] | None = None) -> tuple[Any, str]:
    """The augmentation named by `text`: 'simclr' with a checkpoint whose config has `data.image` = that run's own
    augmentation (`ImageAugment`); otherwise a preset ('simclr', 'byol') or a pipeline ('flip+shift:2', …) of
    `sslscape.augment.make_augment` (docs/augmentations.md)."""
    from ..augment import ImageAugment, ImageAugmentConfig, make_augment

    image = ((config or {}).get("data") or {}).get("image")
    if text == "simclr" and image:
        cfg = ImageAugmentConfig.model_validate(image)
        return ImageAugment(cfg), "the checkpoint's data.image: " + cfg.to_pipeline().text
    return make_augment(text), text


def projector_command(
    data: Annotated[str, typer.Argument(metavar="DATA", help="'fashion-mnist', 'digits', an image array file or a "
                                                             "folder of PNG/JPEG images (grey or RGB)")],
    backbone: Annotated[str, typer.Option("--backbone", help="mlp | resnet18 (ignored with --checkpoint)")] = "mlp",
    hidden: Annotated[str, typer.Option("--hidden", help="MLP widths, e.g. 512,512")] = "512,512",
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="checkpoint.pt (or --out folder) of "
                                                                         "`sslscape train`; default: random init")
                          ] = None,
    augment: Annotated[str, typer.Option("--augment", help="'simclr' (the checkpoint's own data.image settings, "
                                                           "else the SimCLR preset), 'byol', or a pipeline: flip, "
                                                           "shift:2, crop:0.5, jitter:0.4, noise:0.1 "
                                                           "(docs/augmentations.md)")] = "simclr",
    objective: Annotated[str, typer.Option("--objective", help="the projector's objective (docs/spec.md): spectral, "
                                                               "infonce, … — a numerical solve is announced")
                         ] = "spectral",
    weight_decay: Annotated[str, typer.Option("--weight-decay", help="γ, or a comma-separated list")] = "0.01",
    temperature: Annotated[float, typer.Option("--temperature", help="τ (infonce)")] = 0.5,
    batch_size: Annotated[int, typer.Option("--batch-size", help="training batch size N (infonce: 1 − 1/N; 0 = "
                                                                 "large-batch limit)")] = 256,
    embed_dim: Annotated[int, typer.Option("--embed-dim", help="projector output d (0 = feature dimension)")] = 128,
    samples: Annotated[int, typer.Option("--samples", help="images used (0 = all)")] = 10000,
    pairs: Annotated[int, typer.Option("--pairs", help="view pairs per image (even; two halves for the noise "
                                                       "floor)")] = 2,
    downsample: Annotated[int, typer.Option("--downsample", help="average-pool factor")] = 1,
    center: Annotated[bool, typer.Option("--center/--no-center", help="projector on centred features (closed "
                                                                      "form for infonce)")] = True,
    order: Annotated[Order, typer.Option("--order", help=ORDER_HELP)] = Order.AUTO,
    max_seconds: Annotated[float | None, typer.Option("--max-seconds", help="each numerical prediction: stop after "
                                                      "this many seconds with the best answer so far")] = None,
    seed: Annotated[int, typer.Option("--seed", help="image subset, init and augmentation seed")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="write the projector's spec (JSON) here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
) -> None:
    """Measure a backbone's feature moments under an augmentation and predict a linear projector's rank."""
    from ..io import atomic_write_text
    from ..moments import feature_moments
    from ..objectives.registry import objective as objective_row
    from ..projector import projector_prediction
    from ..projector import projector_spec as make_spec
    from ..threads import torch_threads
    from ..training.models import build_backbone, load_backbone
    from .progress import bar, check_max_seconds, solve_with_feedback
    if samples < 0 or pairs < 2 or pairs % 2 or downsample < 1 or embed_dim < 0 or batch_size < 0 \
            or not temperature > 0:
        raise UserError("--samples ≥ 0, --pairs even ≥ 2, --downsample ≥ 1, --embed-dim ≥ 0, --batch-size ≥ 0 and "
                        "--temperature > 0 are required")
    check_max_seconds(max_seconds)
    objective_row(objective)  # an unknown objective: one line before any work
    gammas = _floats(weight_decay, "--weight-decay")
    widths = [int(v) for v in _floats(hidden, "--hidden")]
    t0 = time.perf_counter()
    x, name = named_images(data, samples or None, downsample, seed)
    if checkpoint is not None:
        net, config = load_backbone(checkpoint, tuple(x.shape[1:]))
        source = f"checkpoint {checkpoint}"
    else:
        net, config = build_backbone(backbone, tuple(x.shape[1:]), widths, seed), None
        source = f"{backbone} at random init (seed {seed})"
    aug, aug_text = augment_of(augment, config)
    fields = {"temperature": temperature} if objective in ("infonce", "ntxent") else {}
    if objective in ("infonce", "ntxent") and batch_size:
        fields["batch_size"] = batch_size
    with torch_threads(None), bar("feature moments", pairs * -(-len(x) // 512), enabled=not as_json) as update:
        fm = feature_moments(net, x, aug, pairs=pairs, batch_size=512, seed=seed, name=name, augment_name=aug_text,
                             progress=lambda done, total: update(done, total))
    spec = make_spec(fm, objective, gammas[0], embed_dim=embed_dim or None, center=center, **fields)
    preds = []
    for g in gammas:  # the table's answer for each γ; a numerical solve says so first (even without a terminal)
        point = spec.model_copy(update={"weight_decay": float(g)})
        pred = solve_with_feedback(point, order, max_seconds, label=f"solving γ = {g:g}")
        preds.append(projector_prediction(point, fm, pred, center))
    spec_path = None
    if out is not None:
        spec_path = str(atomic_write_text(out, spec.model_dump_json(exclude_defaults=True) + "\n"))
    res = {"data": name, "backbone": source, "augment": aug_text, "moments": fm.to_dict(),
           "predictions": [p.to_dict() for p in preds], "spec": spec_path,
           "wall_s": round(time.perf_counter() - t0, 2)}
    if as_json:
        for p in res["predictions"]:
            p.pop("moments", None)  # once, at the top
        typer.echo(json.dumps(res))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    head = Table(title=f"sslscape projector — {source} on {name}", show_header=False)
    head.add_row("features", f"{fm.n_images} images × {fm.pairs} view pairs → {fm.dim}-d features")
    head.add_row("augmentation", aug_text)
    head.add_row("top eigenvalues of A", ", ".join(f"{v:.4g}" for v in fm.eigenvalues[:8]))
    head.add_row("noise floor", f"{fm.noise_floor:.3g} (Monte-Carlo; {fm.below_floor} of {fm.dim} eigenvalues of A "
                                f"below it, {fm.dim - fm.below_floor} resolved)")
    head.add_row("critical γ*_1..5", ", ".join(f"{v:.4g}" for v in preds[0].critical_weight_decay[:5]))
    console.print(head)
    table = Table(title=f"linear projector ({objective}, d = {preds[0].embed_dim}, "
                        f"{'centred' if center else 'uncentred'} features) — solver {preds[0].solver}")
    for col in ("weight decay", "predicted rank", "phase", "top of spectrum", "note"):
        table.add_column(col)
    for p in preds:
        note = "beyond the resolved directions: uncertain" if p.uncertain else ""
        if not p.converged:
            note = (note + "; " if note else "") + "stopped at --max-seconds: not converged"
        table.add_row(f"{p.weight_decay:.4g}", f"{p.rank} of {p.capacity}", p.phase,
                      ", ".join(f"{v:.3g}" for v in p.spectrum[:4]), note)
    console.print(table)
    if spec_path:
        console.print(f"spec written to {spec_path} (sslscape predict / advise / phase take it)")


def register(app: typer.Typer) -> None:
    app.command("projector")(projector_command)
