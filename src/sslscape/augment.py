"""Augmentations — one definition each, used by training (the views) and by `sslscape.moments` (the cross-view
moments the theory needs). Batched tensor ops (no per-sample Python loop), identical on CPU and GPU.

    NoiseAugment     x' = x + ε,  ε = L_S ξ,  ξ ~ N(0, I),  L_S L_Sᵀ = S   (the theory's model; S from the spec)
    ImageAugment     random resized crop + horizontal flip (one `F.grid_sample` with a per-sample affine grid),
                     brightness/contrast jitter for grey images, Gaussian blur (per-sample separable kernels as
                     one grouped convolution)
    PipelineAugment  a `Pipeline` ('flip+shift:2+noise:0.1', 'crop:0.5'): a uniformly chosen map of the finite
                     family `pipeline_maps` (flips, integer shifts with zero fill), or a random resized crop, then
                     Gaussian pixel noise — the pipelines `sslscape estimate` computes exact moments for

`make_views` turns a clean batch into (anchor, positive, clean_negatives) by the spec's protocol:

    augmented_negatives   anchor = a(x), positive = a'(x) (two independent draws); negatives = other positives
    clean_negatives       anchor = x, positive = a(x); negatives = the other clean anchors

All randomness comes from the run's generator, so a seed fixes every view.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

from ._lazy import functional as F
from ._lazy import torch  # parsing a pipeline (a cached `estimate`'s key) needs no torch
from .errors import UserError

if TYPE_CHECKING:
    from torch import Tensor


class ImageAugmentConfig(BaseModel):
    """Settings of `ImageAugment` (the training config's `data.image`; every field: docs/config.md)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    crop_scale: list[float] = [0.5, 1.0]  # area fraction range of the random resized crop
    crop_ratio: list[float] = [0.75, 1.3333333]
    flip: bool = True
    brightness: Annotated[float, Field(ge=0.0)] = 0.4
    contrast: Annotated[float, Field(ge=0.0)] = 0.4
    blur_prob: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    blur_sigma: list[float] = [0.1, 1.0]


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator, device: torch.device) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen, device=device)


class NoiseAugment:
    """x + ε with ε ~ N(0, S); `factor` L_S (D, D), or None for S = 0 (then views equal x)."""

    def __init__(self, factor: Tensor | None) -> None:
        self.factor = factor

    def __call__(self, x: Tensor, gen: torch.Generator) -> Tensor:
        if self.factor is None:
            return x
        xi = torch.randn(x.shape[0], self.factor.shape[1], generator=gen, device=x.device)
        return x + xi @ self.factor.T


class ImageAugment:
    """SimCLR-style augmentation of (n, C, H, W) images in [0, 1], all samples in a few batched kernels."""

    def __init__(self, cfg: ImageAugmentConfig) -> None:
        self.cfg = cfg
        sigma_max = max(cfg.blur_sigma)
        self.blur_radius = max(1, math.ceil(3 * sigma_max))  # ±3σ covers 99.7 % of the kernel mass

    def crop_flip(self, x: Tensor, gen: torch.Generator) -> Tensor:
        n, dev = x.shape[0], x.device
        lo, hi = self.cfg.crop_scale
        area = _uniform(n, lo, hi, gen, dev)
        log_r = _uniform(n, math.log(self.cfg.crop_ratio[0]), math.log(self.cfg.crop_ratio[1]), gen, dev)
        ratio = torch.exp(log_r)
        # crop side lengths as fractions of the image side; the affine map sends [-1, 1]² onto the crop
        w = torch.sqrt(area * ratio).clamp(max=1.0)
        h = torch.sqrt(area / ratio).clamp(max=1.0)
        cx = (2 * torch.rand(n, generator=gen, device=dev) - 1) * (1 - w)
        cy = (2 * torch.rand(n, generator=gen, device=dev) - 1) * (1 - h)
        sign = torch.ones(n, device=dev)
        if self.cfg.flip:
            sign = torch.where(torch.rand(n, generator=gen, device=dev) < 0.5, -sign, sign)
        theta = torch.zeros(n, 2, 3, device=dev)
        theta[:, 0, 0], theta[:, 0, 2] = w * sign, cx
        theta[:, 1, 1], theta[:, 1, 2] = h, cy
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    def jitter(self, x: Tensor, gen: torch.Generator) -> Tensor:
        n, dev = x.shape[0], x.device
        b, c = self.cfg.brightness, self.cfg.contrast
        if b > 0:
            x = x * _uniform(n, 1 - b, 1 + b, gen, dev).view(n, 1, 1, 1)
        if c > 0:
            mean = x.mean(dim=(1, 2, 3), keepdim=True)  # grey image: contrast = scale around its mean
            x = (x - mean) * _uniform(n, 1 - c, 1 + c, gen, dev).view(n, 1, 1, 1) + mean
        return x.clamp(0.0, 1.0)

    def blur(self, x: Tensor, gen: torch.Generator) -> Tensor:
        n, ch, hgt, wid = x.shape
        dev, r = x.device, self.blur_radius
        sigma = _uniform(n, *self.cfg.blur_sigma, gen, dev)
        apply = torch.rand(n, generator=gen, device=dev) < self.cfg.blur_prob
        t = torch.arange(-r, r + 1, device=dev, dtype=x.dtype)
        k = torch.exp(-0.5 * (t[None, :] / sigma[:, None]) ** 2)
        k = k / k.sum(1, keepdim=True)  # (n, 2r+1)
        k = k.repeat_interleave(ch, 0)  # one kernel per (sample, channel) group
        y = F.pad(x.reshape(1, n * ch, hgt, wid), (r, r, r, r), mode="reflect")
        y = F.conv2d(y, k[:, None, None, :], groups=n * ch)  # horizontal pass
        y = F.conv2d(y, k[:, None, :, None], groups=n * ch)  # vertical pass
        return torch.where(apply.view(n, 1, 1, 1), y.view(n, ch, hgt, wid), x)

    def __call__(self, x: Tensor, gen: torch.Generator) -> Tensor:
        x = self.crop_flip(x, gen)
        x = self.jitter(x, gen)
        if self.cfg.blur_prob > 0:
            x = self.blur(x, gen)
        return x


class Identity:
    def __call__(self, x: Tensor, gen: torch.Generator) -> Tensor:
        return x


@dataclass(frozen=True)
class Pipeline:
    """An augmentation pipeline: flip, integer shift by up to `shift` pixels, random resized crop (min area), noise."""

    flip: bool = False
    shift: int = 0
    noise_std: float = 0.0
    crop: float | None = None

    @property
    def is_finite_mixture(self) -> bool:
        """A uniform choice among finitely many linear maps (+ noise): its moments are exact (`sslscape.moments`)."""
        return self.crop is None

    @property
    def needs_images(self) -> bool:
        return self.flip or self.shift > 0 or self.crop is not None


def parse_pipeline(text: str) -> Pipeline:
    """'+'-joined steps: `noise:STD`, `flip`, `shift:K`, `crop:MIN_AREA`; e.g. 'flip+shift:2'. One-line UserError."""
    fields: dict = {}
    for step in (s.strip() for s in str(text).split("+")):
        name, _, arg = step.partition(":")
        try:
            if name == "flip" and not arg:
                fields["flip"] = True
            elif name == "shift":
                fields["shift"] = int(arg)
                if not 0 <= fields["shift"] <= 64:
                    raise ValueError
            elif name == "noise":
                fields["noise_std"] = float(arg)
                if not (fields["noise_std"] >= 0 and math.isfinite(fields["noise_std"])):
                    raise ValueError
            elif name == "crop":
                fields["crop"] = float(arg)
                if not 0 < fields["crop"] <= 1:
                    raise ValueError
            else:
                raise KeyError
        except KeyError as exc:
            raise UserError(f"unknown augmentation step {step!r} in {text!r}; use noise:STD, flip, shift:K, "
                            "crop:MIN_AREA joined by '+', e.g. flip+shift:2") from exc
        except ValueError as exc:
            raise UserError(f"bad argument in augmentation step {step!r}: noise:STD ≥ 0, shift:K integer in 0…64, "
                            "crop:MIN_AREA in (0, 1]") from exc
    return Pipeline(**fields)


def flip_images(x: Tensor) -> Tensor:
    """Horizontal flip of (n, C, H, W) images."""
    return x.flip(-1)


def shift_images(x: Tensor, dy: int, dx: int) -> Tensor:
    """Shift (n, C, H, W) images by (dy, dx) pixels, filling with zeros (a linear map of the pixels)."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., yd, xd] = x[..., ys, xs]
    return out


def pipeline_maps(p: Pipeline) -> list[Callable[[Tensor], Tensor]]:
    """The finite family of maps of a pipeline without crop, each chosen with equal probability."""
    flips = (False, True) if p.flip else (False,)
    shifts = [(dy, dx) for dy in range(-p.shift, p.shift + 1) for dx in range(-p.shift, p.shift + 1)]

    def make(flip: bool, dy: int, dx: int) -> Callable[[Tensor], Tensor]:
        return lambda x: shift_images(flip_images(x) if flip else x, dy, dx)

    return [make(f, dy, dx) for f, (dy, dx) in itertools.product(flips, shifts)]


class PipelineAugment:
    """A random draw of a `Pipeline` per sample, for (n, C, H, W) images (or (n, D) vectors: noise only)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.maps = pipeline_maps(pipeline) if pipeline.is_finite_mixture and pipeline.needs_images else []
        crop = ImageAugmentConfig(crop_scale=[pipeline.crop or 1.0, 1.0], flip=pipeline.flip, brightness=0.0,
                                  contrast=0.0, blur_prob=0.0)
        self.crop = ImageAugment(crop) if pipeline.crop is not None else None

    def __call__(self, x: Tensor, gen: torch.Generator) -> Tensor:
        if self.crop is not None:
            x = self.crop.crop_flip(x.float(), gen).to(x.dtype)  # grid_sample in float32
        elif len(self.maps) > 1:
            choice = torch.randint(len(self.maps), (x.shape[0],), generator=gen, device=x.device)
            out = torch.empty_like(x)
            for j, t in enumerate(self.maps):  # a loop over the (few) maps, not over samples
                sel = choice == j
                if bool(sel.any()):
                    out[sel] = t(x[sel])
            x = out
        if self.pipeline.noise_std > 0:
            x = x + self.pipeline.noise_std * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
        return x


Augment = NoiseAugment | ImageAugment | PipelineAugment | Identity


def make_views(x: Tensor, augment: Augment, protocol: str,
               gen: torch.Generator) -> tuple[Tensor, Tensor, bool]:
    """(anchor, positive, clean_negatives): clean negatives = the clean anchors."""
    if protocol == "clean_negatives":
        return x, augment(x, gen), True
    return augment(x, gen), augment(x, gen), False
