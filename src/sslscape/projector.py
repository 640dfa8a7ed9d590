"""Theory for a projector on a real backbone: features → moments → `predict` (docs/projector.md).

A projector z = W h on top of a backbone's features h is the theory's linear encoder with the *features* as its
data: the cross-view moments of h under the augmentation (`sslscape.moments.feature_moments`: A = E[h′h″ᵀ],
B = E[h′h′ᵀ], both centred, and the mean μ) give the spec

    data.cov = A,   data.mean = μ (0 with center=True),   augmentation.noise_cov = B − A,   embed_dim = d

and `sslscape.theory.predict` then gives the projector's rank, spectrum and critical weight decays — for a frozen
backbone exactly the paper's setting (Ziyin et al., ICLR 2023, Sec. 4: W ↦ the projector, x ↦ h).

center=True (default) predicts a projector on centred features, z = W (h − μ): for dot-InfoNCE the landscape then
has a closed form (with a mean, the anchor's second moment and the candidates' covariance differ and the quartic
is minimised numerically — minutes at D = 512); for the spectral loss the mean would otherwise add a direction
of variance ‖μ‖² to A. `fit_linear_projector` trains exactly this projector (same centring), so the two can be
compared (`benchmarks/projector_fmnist.py`).

Also here: backbones for the CLI (`build_backbone`, `load_backbone` from a `sslscape train` checkpoint),
`theory_expectation(spec)` — what `sslscape.monitor.CollapseMonitor` shows beside a measurement —
and `knob_advice`, the knob to turn (`sslscape.theory.advise` when available, else the critical values).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import UserError
from .moments import AugmentationMoments, FeatureMoments
from .result import Result
from .spec import Spec, parse_spec

CLOSED_FORM = ("spectral", "infonce")  # objectives whose projector landscape has a closed form (dot similarity)
BACKBONES = ("mlp", "resnet18")
DOCS = "docs/projector.md"


# ---- moments → spec → prediction ------------------------------------------------------------------------------

def projector_spec(moments: AugmentationMoments, objective: str = "spectral", weight_decay: float = 0.0, *,
                   embed_dim: int | None = None, center: bool = True, **fields: Any) -> Spec:
    """The spec of a linear projector z = W h on features with these moments (module docstring).

    data.cov = A, augmentation.noise_cov = B − A (both projected onto the PSD cone: a Monte-Carlo A can have
    small negative eigenvalues), data.mean = μ (zero with `center`). `fields`: any other spec field
    (temperature, batch_size, similarity, …). Raises SpecError (a UserError) for a bad field.
    """
    m = moments.as_moments()
    raw: dict[str, Any] = {"objective": objective, "weight_decay": float(weight_decay),
                           "data": {"cov": m.cov.tolist()}, "augmentation": {"noise_cov": m.noise_cov.tolist()},
                           **fields}
    if not center:
        raw["data"]["mean"] = m.mean.tolist()
    if embed_dim:
        raw["embed_dim"] = int(embed_dim)
    return parse_spec(raw)


@dataclass(frozen=True)
class ProjectorPrediction(Result):
    """The theory's answer for a linear projector on measured feature moments.

    rank            directions the projector keeps: the predicted spectrum cut by the collapse rule (the rank
                    `agreement` compares with a measured collapse rank); theory_rank: the theory's own count;
                    rank_max: upper end of the range (depth ≥ 2 metastable band; = rank here)
    rank_learned    dot-InfoNCE with a batch size: the directions that survive with the positive pair's softmax
                    share p̄ at the quartic minimiser ((1 − p̄) a_k > γ, `Thresholds.weight_decay_at_learned_point`);
                    the trained rank is expected in [rank_learned, rank]. None otherwise
    spectrum        eigenvalues of W A Wᵀ at the predicted minimum (descending, length d)
    critical_weight_decays   γ*_k above which direction k dies (descending)
    resolved        eigenvalues of A above the Monte-Carlo noise floor: a predicted rank above it rests on
                    directions the moments do not resolve (`uncertain`)
    """

    objective: str
    weight_decay: float
    embed_dim: int
    feature_dim: int
    center: bool
    rank: int
    rank_max: int
    theory_rank: int
    rank_learned: int | None
    max_rank: int
    phase: str
    spectrum: tuple[float, ...]
    critical_weight_decays: tuple[float, ...]
    order: str
    method: str
    closed_form: bool
    resolved: int
    uncertain: bool
    notes: tuple[str, ...]
    moments: dict[str, Any] = field(default_factory=dict)



def _resolved(moments: AugmentationMoments) -> int:
    return int(np.sum(moments.eigenvalues > moments.noise_floor)) if moments.noise_floor > 0 else int(
        np.sum(moments.eigenvalues > 0))


def prediction_of(spec: Spec, moments: AugmentationMoments, order: str = "quartic",
                  center: bool = True) -> ProjectorPrediction:
    """`predict(spec, order)` as a ProjectorPrediction (rank by the collapse rule, noise-floor check)."""
    from .diagnostics.rank import agreement
    from .theory import predict

    pred = predict(spec, order)  # type: ignore[arg-type]
    cut = agreement(pred.spectrum, 0, predicted_rank_max=pred.rank_max)
    learned = pred.thresholds.weight_decay_at_learned_point
    rank_learned = None
    if learned is not None:
        rank_learned = min(cut.predicted_rank, sum(g > spec.weight_decay for g in learned))
    resolved = _resolved(moments)
    return ProjectorPrediction(
        objective=spec.objective, weight_decay=spec.weight_decay, embed_dim=pred.embed_dim, feature_dim=moments.dim,
        center=center, rank=cut.predicted_rank, rank_max=cut.predicted_rank_max, theory_rank=pred.rank,
        rank_learned=rank_learned, max_rank=pred.max_rank, phase=pred.phase, spectrum=pred.spectrum,
        critical_weight_decays=tuple(pred.thresholds.weight_decay or ()), order=pred.order, method=pred.method,
        closed_form=pred.closed_form, resolved=resolved, uncertain=cut.predicted_rank > resolved,
        notes=pred.notes, moments=moments.to_dict())


def predict_projector(moments: AugmentationMoments, objective: str = "spectral",
                      weight_decay: float | Sequence[float] = 0.0, *, embed_dim: int | None = None,
                      center: bool = True, order: str = "quartic",
                      **fields: Any) -> ProjectorPrediction | list[ProjectorPrediction]:
    """Predicted rank and spectrum of a linear projector on features with `moments` (module docstring).

    `weight_decay` may be a list: one prediction each (the spec is validated once). `fields` go to the spec
    (temperature, batch_size, …). For objectives without a closed form the answer is numerical (slow for
    hundreds of feature dimensions); the prediction's `notes` say so.
    """
    grid = [weight_decay] if isinstance(weight_decay, (int, float)) else list(weight_decay)
    if not grid or any(not (math.isfinite(g) and g >= 0) for g in grid):
        raise UserError(f"weight_decay must be finite and ≥ 0 (a number or a list), got {weight_decay!r}")
    base = projector_spec(moments, objective, grid[0], embed_dim=embed_dim, center=center, **fields)
    out = []
    for g in grid:
        spec = base if g == grid[0] else base.model_copy(update={"weight_decay": float(g)})  # validated fields only
        out.append(prediction_of(spec, moments, order, center))
    return out[0] if isinstance(weight_decay, (int, float)) else out


# ---- training a linear projector on view features (the check of the prediction) ---------------------------------

def fit_linear_projector(view1: torch.Tensor, view2: torch.Tensor, *, objective: str = "spectral",
                         weight_decay: float = 0.0, embed_dim: int = 128, mean: torch.Tensor | None = None,
                         steps: int = 2000, lr: float = 1e-2, batch_size: int = 512, temperature: float = 1.0,
                         init_scale: float = 1.0, seed: int = 0,
                         progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Train z = W (h − mean) on pairs of view features (n, D) with the objective's exact loss + γ‖W‖²_F.

    Adam with a cosine learning rate to 0 (the last iterate sits at the minimum, as `sslscape compare` trains),
    batches of `batch_size` pairs drawn without replacement per epoch from a local generator (no global RNG is
    used). The loss is `sslscape.objectives.view_loss` (augmented negatives); γ's gradient 2γW is added as in
    `sslscape.training.optim.add_l2_grad`. Returns W (d × D) float32 on the features' device.
    """
    from .objectives import view_loss
    from .training.optim import add_l2_grad

    if view1.shape != view2.shape or view1.ndim != 2:
        raise UserError(f"view features must be two (n, D) tensors of one shape, got {tuple(view1.shape)} and "
                        f"{tuple(view2.shape)}")
    n, dim = view1.shape
    if batch_size > n:
        raise UserError(f"batch_size {batch_size} exceeds the {n} view pairs")
    gen = torch.Generator().manual_seed(seed)
    w = torch.nn.Parameter((init_scale * torch.randn(embed_dim, dim, generator=gen) / math.sqrt(dim)).to(
        view1.device))
    opt = torch.optim.Adam([w], lr=lr)
    shift = mean.to(view1.device, view1.dtype) if mean is not None else torch.zeros(dim, device=view1.device)
    per_epoch, perm = n // batch_size, torch.empty(0, dtype=torch.long)
    for step in range(steps):
        b = step % per_epoch
        if b == 0:
            perm = torch.randperm(n, generator=gen).to(view1.device)
        idx = perm[b * batch_size:(b + 1) * batch_size]
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        za, zp = (view1[idx] - shift) @ w.T, (view2[idx] - shift) @ w.T
        loss = view_loss(objective, za, zp, temperature=temperature)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        add_l2_grad([w], weight_decay)
        opt.step()
        if progress is not None and (step + 1) % 100 == 0:
            progress(step + 1, steps)
    return w.detach()


def projector_diagnosis(weight: torch.Tensor, features: torch.Tensor, mean: torch.Tensor | None = None) -> Any:
    """`sslscape.diagnostics.diagnose` of the projector's embeddings z = W (h − mean) of `features` (N, D)."""
    from .diagnostics import diagnose

    shift = mean.to(features.device, features.dtype) if mean is not None else 0.0
    with torch.no_grad():
        return diagnose((features - shift) @ weight.T.to(features.dtype))


def projector_rank(weight: torch.Tensor, features: torch.Tensor, mean: torch.Tensor | None = None) -> int:
    """The trained projector's collapse rank: `diagnose`'s rule on z = W (h − mean), with the features' mean
    variance as the reference scale (complete collapse when λ_1(z) ≤ 1e-6 × it — as training measures a linear
    encoder, `sslscape.training.metrics.measure_population`): a projector whose weight decay killed every
    direction decays towards 0 (≈ 1e-24 after 3,000 steps), and its residue has no shape to speak of."""
    from .diagnostics.rank import collapse_cut

    d = projector_diagnosis(weight, features, mean)
    scale = float(features.double().var(0, unbiased=False).mean())
    return collapse_cut(d.eigenvalues, noise_floor=d.numerical_rank_floor, measurable=d.max_rank,
                        reference_scale=scale).rank if d.rank > 0 else 0


# ---- backbones and data for the CLI ------------------------------------------------------------------------------

def build_backbone(kind: str, in_shape: tuple[int, ...], hidden: Sequence[int] = (512, 512),
                   seed: int = 0) -> torch.nn.Module:
    """A built-in backbone at random init (`sslscape.training.models`): 'mlp' (Linear-BN-ReLU blocks of widths
    `hidden` on flattened inputs) or 'resnet18' (CIFAR stem). The global RNG is seeded inside `fork_rng`, so the
    caller's RNG state is unchanged."""
    from .training.models import MLPBackbone, ResNet18

    if kind not in BACKBONES:
        raise UserError(f"unknown backbone {kind!r}; use one of {', '.join(BACKBONES)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "mlp":
            return MLPBackbone(int(np.prod(in_shape)), [int(h) for h in hidden])
        if len(in_shape) != 3:
            raise UserError("backbone 'resnet18' needs images (C, H, W); use 'mlp' for vectors")
        return ResNet18(in_channels=in_shape[0])


def load_backbone(checkpoint: str | Path, in_shape: tuple[int, ...]) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The backbone of a `sslscape train` checkpoint (mlp or resnet18) and the run's config (a dict).

    Read with `torch.load(..., weights_only=True)`; any checkpoint format holding `model` (the state dict) and
    `config` is accepted — only the backbone's weights are used. Raises UserError when the file is not such a
    checkpoint or its input size differs from `in_shape`."""
    path = Path(checkpoint)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise UserError(f"checkpoint {str(path)!r} not found; give the checkpoint.pt (or the --out folder) of "
                        "`sslscape train`")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"cannot read checkpoint {str(path)!r} ({type(exc).__name__}); is it a `sslscape train` "
                        "checkpoint?") from exc
    if not (isinstance(ckpt, dict) and isinstance(ckpt.get("config"), dict) and isinstance(ckpt.get("model"), dict)):
        raise UserError(f"{str(path)!r} is not a `sslscape train` checkpoint (no model state and config in it)")
    config = ckpt["config"]
    model = config.get("model", {})
    kind = model.get("kind")
    if kind not in BACKBONES:
        raise UserError(f"the checkpoint's model is {kind!r}; `sslscape projector` needs an mlp or resnet18 "
                        "backbone (a linear model has no projector)")
    net = build_backbone(kind, in_shape, model.get("hidden", [512, 512]))
    state = {k[len("backbone."):]: v for k, v in ckpt["model"].items() if k.startswith("backbone.")}
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise UserError(f"the checkpoint's backbone does not fit inputs of shape {in_shape} (trained on other "
                        "data or with --downsample?); use the dataset and image size it was trained on") from exc
    return net, config


def named_images(data: str, samples: int | None = None, downsample: int = 1,
                 seed: int = 0) -> tuple[torch.Tensor, str]:
    """(x (n, 1, s, s) float32 in [0, 1], name) for 'fashion-mnist' or 'digits' (a seeded subset of `samples`)."""
    from .moments import load_images

    if data not in ("digits", "fashion-mnist", "fashion_mnist"):
        raise UserError(f"DATA {data!r}: `sslscape projector` takes a named image dataset, 'fashion-mnist' or "
                        "'digits'; for your own data use the Python API (docs/projector.md)")
    x, side, name = load_images(data, samples, downsample, seed)
    return torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, side, side), name


def augment_of(text: str, config: dict[str, Any] | None = None) -> tuple[Any, str]:
    """The augmentation named by `text`: 'simclr' = `ImageAugment` with the checkpoint config's `data.image`
    settings (defaults without a checkpoint), or a pipeline string ('flip+shift:2', 'crop:0.5', 'noise:0.1')."""
    from .augment import ImageAugment, ImageAugmentConfig, PipelineAugment, parse_pipeline

    if text == "simclr":
        image = ((config or {}).get("data") or {}).get("image")
        cfg = ImageAugmentConfig.model_validate(image) if image else ImageAugmentConfig()
        return ImageAugment(cfg), "simclr " + json.dumps(cfg.model_dump(), separators=(",", ":"))
    return PipelineAugment(parse_pipeline(text)), text


# ---- what the monitor shows beside a measurement ------------------------------------------------------------------

def knob_advice(spec: Spec, keep: int, prediction: Any = None) -> str:
    """The knob to turn so that ≥ `keep` directions survive, in words.

    From `sslscape.theory.advise.advise(spec, keep, knob="weight_decay", at_least=True)` when that module exists;
    otherwise from the critical weight decays γ*_k of `predict` (direction k survives iff γ < γ*_k at depth 1).
    """
    keep = max(1, int(keep))
    gamma = spec.weight_decay
    try:
        from .theory.advise import advise
    except ImportError:
        advise = None
    if advise is not None:
        try:
            a = advise(spec, keep, knob="weight_decay", at_least=True)
        except UserError as exc:
            return f"theory: {exc}"
        lo, hi = a.interval if a.interval is not None else (None, None)
        if a.interval is None:
            return f"theory ({a.order}): no weight decay keeps ≥ {keep} directions — {a.reason}"
        if lo in (None, 0, 0.0):
            where = f"weight_decay < {hi:.3g}" if hi is not None else "any weight_decay"
        else:
            where = f"weight_decay in [{lo:.3g}, {hi:.3g})" if hi is not None else f"weight_decay ≥ {lo:.3g}"
        return (f"theory ({a.order}): to keep ≥ {keep} directions set {where} (now {gamma:.3g}; rank there "
                f"{a.rank_inside}){'; ' + a.reason if a.reason else ''}")
    from .theory import predict

    pred = prediction if prediction is not None else predict(spec)
    crit = pred.thresholds.weight_decay or ()
    if spec.depth == 1 and len(crit) >= keep and crit[keep - 1] > 0:
        return (f"theory: direction k survives iff weight_decay < γ*_k; to keep ≥ {keep} directions set "
                f"weight_decay < γ*_{keep} = {crit[keep - 1]:.3g} (now {gamma:.3g})")
    return (f"theory: lower weight_decay (now {gamma:.3g}); no closed-form critical value for keeping {keep} "
            "directions of this spec")


def theory_expectation(spec: Spec | dict | str | Path, order: str = "quartic") -> Any:
    """The `Expectation` a `CollapseMonitor` shows beside its measurements: the predicted rank (collapse rule on
    the predicted spectrum), range, spectrum, critical weight decays, and a `knob(keep)` function."""
    from .diagnostics.rank import agreement
    from .monitor import Expectation
    from .spec import load_spec
    from .theory import predict

    if isinstance(spec, (str, Path)):
        spec = load_spec(spec)
    elif isinstance(spec, dict):
        spec = parse_spec(spec)
    pred = predict(spec, order)  # type: ignore[arg-type]
    cut = agreement(pred.spectrum, 0, predicted_rank_max=pred.rank_max)
    return Expectation(
        objective=spec.objective, weight_decay=spec.weight_decay, embed_dim=pred.embed_dim,
        rank=cut.predicted_rank, rank_max=cut.predicted_rank_max, max_rank=pred.max_rank,
        spectrum=tuple(pred.spectrum), critical_weight_decays=tuple(pred.thresholds.weight_decay or ()),
        order=pred.order, knob=functools.partial(knob_advice, spec, prediction=pred))  # picklable (ddp_spawn)


def feature_expectation(moments: FeatureMoments, objective: str, weight_decay: float, embed_dim: int | None = None,
                        center: bool = True, **fields: Any) -> Any:
    """`theory_expectation` of a linear projector on measured feature moments (`projector_spec`)."""
    return theory_expectation(projector_spec(moments, objective, weight_decay, embed_dim=embed_dim, center=center,
                                             **fields))
