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

Backbones (`build_backbone`, `load_backbone` from a `sslscape train` checkpoint) live in `sslscape.training.models`;
what a `sslscape.monitor.CollapseMonitor` shows beside a measurement lives in `sslscape.expectation`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from .errors import UserError
from .moments import AugmentationMoments
from .recipe import INIT_SCALE, LR, cosine_lr
from .result import Result
from .spec import Spec, parse_spec

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


@dataclass(frozen=True, kw_only=True)
class ProjectorPrediction(Result):
    """The theory's answer for a linear projector on measured feature moments (`sslscape.theory.predict`'s, with the
    feature moments' noise-floor check).

    rank, rank_range  the rank the projector is predicted to reach and its range (`Prediction.rank_range`: the
                      predicted spectrum cut by the collapse rule, the rank `agreement` compares with a measured one)
    alive             the theory's own count;  capacity: min(d, rank A)
    spectrum          predicted eigenvalues of W A Wᵀ at the answer (descending, length d)
    critical_weight_decay   γ*_k above which direction k dies (descending; the answering solver's)
    order, solver, cost     who answered (`sslscape.theory.solvers`); method: how, in detail
    resolved          eigenvalues of A above the Monte-Carlo noise floor: a predicted rank above it rests on
                      directions the moments do not resolve (`uncertain`)
    """

    objective: str
    weight_decay: float
    embed_dim: int
    feature_dim: int
    center: bool
    rank: int
    rank_range: tuple[int, int]
    alive: int
    capacity: int
    phase: str
    spectrum: tuple[float, ...]
    critical_weight_decay: tuple[float, ...]
    order: str
    solver: str
    cost: str
    method: str
    resolved: int
    uncertain: bool
    converged: bool
    notes: tuple[str, ...]
    moments: dict[str, Any] = field(default_factory=dict)


def prediction_of(spec: Spec, moments: AugmentationMoments, order: str = "auto", center: bool = True, *,
                  max_seconds: float | None = None, say: Callable[[str], None] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> ProjectorPrediction:
    """`predict(spec, order)` (default auto, as everywhere) as a ProjectorPrediction, with the noise-floor check;
    a numerical solve is announced through `say`, reported through `progress` and bounded by `max_seconds`."""
    from .theory import predict

    pred = predict(spec, order, max_seconds=max_seconds, say=say, progress=progress)
    return projector_prediction(spec, moments, pred, center)


def projector_prediction(spec: Spec, moments: AugmentationMoments, pred: Any,
                         center: bool = True) -> ProjectorPrediction:
    """A theory `Prediction` for the projector spec `spec` as a ProjectorPrediction (the moments' noise floor says
    which predicted directions they resolve)."""
    resolved = moments.resolved
    return ProjectorPrediction(
        objective=spec.objective, weight_decay=spec.weight_decay, embed_dim=pred.embed_dim, feature_dim=moments.dim,
        center=center, rank=pred.rank, rank_range=pred.rank_range, alive=pred.alive, capacity=pred.capacity,
        phase=pred.phase, spectrum=pred.spectrum,
        critical_weight_decay=tuple(pred.thresholds.critical_weight_decay or ()), order=pred.order,
        solver=pred.solver, cost=pred.cost, method=pred.method, resolved=resolved, uncertain=pred.rank > resolved,
        converged=pred.converged, notes=pred.notes, moments=moments.to_dict())


def predict_projector(moments: AugmentationMoments, objective: str = "spectral",
                      weight_decay: float | Sequence[float] = 0.0, *, embed_dim: int | None = None,
                      center: bool = True, order: str = "auto", max_seconds: float | None = None,
                      say: Callable[[str], None] | None = None,
                      **fields: Any) -> ProjectorPrediction | list[ProjectorPrediction]:
    """Predicted rank and spectrum of a linear projector on features with `moments` (module docstring).

    `weight_decay` may be a list: one prediction each (the spec is validated once). `fields` go to the spec
    (temperature, batch_size, …). `order` as `predict` (default auto). Objectives without a closed form are solved
    numerically (minutes for hundreds of feature dimensions): announced through `say`, bounded by `max_seconds`
    (each prediction), and the prediction's `cost`/`notes` say so.
    """
    grid = [weight_decay] if isinstance(weight_decay, (int, float)) else list(weight_decay)
    if not grid or any(not (math.isfinite(g) and g >= 0) for g in grid):
        raise UserError(f"weight_decay must be finite and ≥ 0 (a number or a list), got {weight_decay!r}")
    base = projector_spec(moments, objective, grid[0], embed_dim=embed_dim, center=center, **fields)
    out = []
    for g in grid:
        spec = base if g == grid[0] else base.model_copy(update={"weight_decay": float(g)})  # validated fields only
        out.append(prediction_of(spec, moments, order, center, max_seconds=max_seconds, say=say))
    return out[0] if isinstance(weight_decay, (int, float)) else out


# ---- training a linear projector on view features (the check of the prediction) ---------------------------------

def fit_linear_projector(view1: torch.Tensor, view2: torch.Tensor, *, objective: str = "spectral",
                         weight_decay: float = 0.0, embed_dim: int = 128, mean: torch.Tensor | None = None,
                         steps: int = 2000, lr: float = LR, batch_size: int = 512, temperature: float = 1.0,
                         init_scale: float = INIT_SCALE, seed: int = 0,
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
            group["lr"] = cosine_lr(step, steps, lr)
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
