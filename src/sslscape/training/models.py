"""Encoders, heads and EMA targets — plain PyTorch, one class per idea.

The theory's encoders (docs/theory.md):

    linear        z = W x + b,              W ∈ R^{d×D}, b optional
    deep linear   z = W_L ⋯ W_1 x + b,      W_1 ∈ R^{h×D}, W_l ∈ R^{h×h}, W_L ∈ R^{d×h}

and the practitioner's: an MLP backbone (Linear-BN-ReLU blocks) and ResNet-18 with the CIFAR stem (3×3
conv, stride 1, no max-pool), each followed by a projector head. SimSiam/BYOL add a linear predictor; BYOL's
target is an exponential moving average (EMA) of the online encoder.

`SSLModel.embed(x)` is the embedding the loss sees; `SSLModel.represent(x)` the backbone feature used by
downstream probes (equal to the embedding for the linear models, which have no projector).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import UserError
from ..recipe import INIT_SCALE, PREDICTOR_NOISE


class LinearEncoder(nn.Module):
    """z = W x + b with W of shape (d, D); W ~ N(0, init_scale² / D) so ‖Wx‖ ≈ init_scale‖x‖ at start."""

    def __init__(self, in_dim: int, out_dim: int, *, bias: bool = False, init_scale: float = INIT_SCALE,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim, generator=generator) * init_scale
                                   / math.sqrt(in_dim))
        self.bias = nn.Parameter(torch.zeros(out_dim)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x.flatten(1), self.weight, self.bias)  # an image is a vector of pixels here

    def effective_weight(self) -> Tensor:
        return self.weight


class DeepLinearEncoder(nn.Module):
    """z = W_L ⋯ W_1 x + b (bias only at the output, where the theory puts it).

    Each factor gets std init_scale^{1/L}/√fan_in, so the product starts at the linear encoder's scale. Small
    inits matter here: with weight decay and L ≥ 2, W = 0 is a *local* minimum, so a run started too close to
    zero can collapse even where the global minimum has full rank.
    """

    def __init__(self, in_dim: int, out_dim: int, *, depth: int, width: int | None = None, bias: bool = False,
                 init_scale: float = INIT_SCALE, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError("a deep linear encoder needs depth ≥ 2; use LinearEncoder for depth 1")
        width = width or in_dim
        dims = [in_dim] + [width] * (depth - 1) + [out_dim]
        per_layer = init_scale ** (1.0 / depth)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(o, i, generator=generator) * per_layer / math.sqrt(i))
            for i, o in zip(dims[:-1], dims[1:], strict=True))
        self.bias = nn.Parameter(torch.zeros(out_dim)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        x = x.flatten(1)
        for w in self.weights[:-1]:
            x = x @ w.T
        return F.linear(x, self.weights[-1], self.bias)

    def effective_weight(self) -> Tensor:
        """The end-to-end map W = W_L ⋯ W_1, shape (d, D)."""
        w = self.weights[0]
        for layer in self.weights[1:]:
            w = layer @ w
        return w


def _block(i: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(i, o, bias=False), nn.BatchNorm1d(o), nn.ReLU(inplace=True))


class MLPBackbone(nn.Module):
    """Flatten, then Linear-BN-ReLU blocks of the given widths; the feature is the last block's output."""

    def __init__(self, in_dim: int, hidden: list[int]) -> None:
        super().__init__()
        if not hidden:
            raise ValueError("an MLP needs at least one hidden width")
        dims = [in_dim, *hidden]
        self.net = nn.Sequential(*(_block(dims[i], dims[i + 1]) for i in range(len(hidden))))
        self.out_dim = hidden[-1]

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:  # projection shortcut when the shape changes
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class ResNet18(nn.Module):
    """ResNet-18 (He et al. 2016) with the CIFAR stem: 3×3 conv stride 1 and no max-pool, so 32×32 inputs keep
    their resolution into stage 1 (the ImageNet 7×7/stride-2 stem + pool would leave 8×8). Feature: 512-d."""

    def __init__(self, in_channels: int = 3, widths: tuple[int, ...] = (64, 128, 256, 512)) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        layers, cin = [], widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            layers += [BasicBlock(cin, w, stride), BasicBlock(w, w, 1)]
            cin = w
        self.layers = nn.Sequential(*layers)
        self.out_dim = widths[-1]

    def forward(self, x: Tensor) -> Tensor:
        x = self.layers(self.stem(x))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


def projector(in_dim: int, hidden: int | None, out_dim: int) -> nn.Module:
    """SimCLR-style head: Linear-BN-ReLU-Linear (or one Linear when `hidden` is None)."""
    if hidden is None:
        return nn.Linear(in_dim, out_dim)
    return nn.Sequential(_block(in_dim, hidden), nn.Linear(hidden, out_dim))


class SSLModel(nn.Module):
    """backbone → head gives the embedding z; `predictor` (SimSiam/BYOL) maps z to a prediction p."""

    def __init__(self, backbone: nn.Module, head: nn.Module | None = None,
                 predictor: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head if head is not None else nn.Identity()
        self.predictor = predictor

    def represent(self, x: Tensor) -> Tensor:
        return self.backbone(x)

    def embed(self, x: Tensor) -> Tensor:
        return self.head(self.backbone(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.embed(x)

    def effective_weight(self) -> Tensor | None:
        """End-to-end W for the linear encoders (no head); None otherwise."""
        if isinstance(self.head, nn.Identity) and hasattr(self.backbone, "effective_weight"):
            return self.backbone.effective_weight()
        return None

    def decayed_parameters(self) -> list[nn.Parameter]:
        """Weight matrices/kernels (ndim ≥ 2) of the online network: the W_l of γ Σ_l ‖W_l‖². Biases and
        BatchNorm scales are not decayed (as in the theory, whose penalty is on the W_l only)."""
        return [p for p in self.parameters() if p.requires_grad and p.ndim >= 2]


def linear_predictor(dim: int, generator: torch.Generator | None = None) -> nn.Linear:
    """The linear predictor of SimSiam/BYOL theory (Tian, Chen & Ganguli 2021), started near the identity so
    that the stop-gradient dynamics begin from an aligned state rather than a random rotation."""
    layer = nn.Linear(dim, dim, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(dim) + PREDICTOR_NOISE * torch.randn(dim, dim, generator=generator)
                           / math.sqrt(dim))
    return layer


class EMATarget(nn.Module):
    """θ_target ← τ θ_target + (1 − τ) θ_online after every step (BYOL); τ = spec.ema_decay.

    The target never gets gradients. Buffers (BatchNorm running stats) are copied, as in the reference code.
    """

    def __init__(self, online: SSLModel, decay: float) -> None:
        super().__init__()
        self.model = copy.deepcopy(online)
        self.model.predictor = None  # the target has no predictor
        self.model.requires_grad_(False)
        self.decay = decay

    @torch.no_grad()
    def update(self, online: SSLModel) -> None:
        online_params = dict(online.named_parameters())
        names = [n for n, _ in self.model.named_parameters()]
        targets = [p for _, p in self.model.named_parameters()]
        # one fused lerp over all tensors instead of a Python loop of small kernels
        torch._foreach_lerp_(targets, [online_params[n].detach() for n in names], 1.0 - self.decay)
        online_buffers = dict(online.named_buffers())
        for n, b in self.model.named_buffers():
            b.copy_(online_buffers[n])

    def embed(self, x: Tensor) -> Tensor:
        return self.model.embed(x)


# ---- backbones on their own (the projector theory on a backbone's features, docs/projector.md) ----------------

BACKBONES = ("mlp", "resnet18")


def build_backbone(kind: str, in_shape: tuple[int, ...], hidden: Sequence[int] = (512, 512),
                   seed: int = 0) -> torch.nn.Module:
    """A built-in backbone at random init (this module): 'mlp' (Linear-BN-ReLU blocks of widths
    `hidden` on flattened inputs) or 'resnet18' (CIFAR stem). The global RNG is seeded inside `fork_rng`, so the
    caller's RNG state is unchanged."""
    if kind not in BACKBONES:
        raise UserError(f"unknown backbone {kind!r}; use one of {', '.join(BACKBONES)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "mlp":
            return MLPBackbone(math.prod(in_shape), [int(h) for h in hidden])
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
