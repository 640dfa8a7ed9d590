"""Augmentations as batched tensor ops (no per-sample Python loop), identical on CPU and GPU.

    NoiseAugment   x' = x + ε,  ε = L_S ξ,  ξ ~ N(0, I),  L_S L_Sᵀ = S   (the theory's model; S from the spec)
    ImageAugment   random resized crop + horizontal flip (one `F.grid_sample` with a per-sample affine grid),
                   brightness/contrast jitter for grey images, Gaussian blur (per-sample separable kernels as
                   one grouped convolution)

`make_views` turns a clean batch into (anchor, positive, clean_negatives) by the spec's protocol:

    augmented_negatives   anchor = a(x), positive = a'(x) (two independent draws); negatives = other positives
    clean_negatives       anchor = x, positive = a(x); negatives = the other clean anchors

All randomness comes from the run's generator, so a seed fixes every view.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .config import ImageAugment as ImageAugmentConfig


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


Augment = NoiseAugment | ImageAugment | Identity


def make_views(x: Tensor, augment: Augment, protocol: str,
               gen: torch.Generator) -> tuple[Tensor, Tensor, bool]:
    """(anchor, positive, clean_negatives): clean negatives = the clean anchors."""
    if protocol == "clean_negatives":
        return x, augment(x, gen), True
    return augment(x, gen), augment(x, gen), False
