"""Augmentations: one definition of each op (the table in docs/augmentations.md), used by training (the views) and
by `sslscape.moments` (the moments A, B, μ the theory needs). Nothing else in sslscape augments an image.

Every op is a batched tensor op on images (n, C, H, W), C = 1 (grey) or 3 (RGB), split in two halves:

    θ = op.sample(n, gen, shape, device)   the random parameters, one row per image (a dict of (n,) tensors)
    y = op.apply(x, θ)                     deterministic; θ with ONE row applies that one map to every image

so a view is y = a_θ(x), and `sslscape.moments` can apply one drawn map a_θ to the D rows of a D × D matrix
(the rows read as images) — that is how it gets M_θ C₂ M_θᵀ without a loop over images. Ops come in three kinds:

    finite     a finite mixture of pixel gathers (partial permutations): flip, shift (zero fill)
    linear     a random linear map of the pixels: crop (random resized, bilinear), jitter (brightness, contrast,
               saturation, hue as a rotation about the grey axis — no clipping), gray, blur
    nonlinear  solarize, clip

and `noise:STD` adds N(0, STD²) per pixel after the last op. A `Pipeline` is two `View`s (the SimCLR/BYOL recipes;
equal unless written 'view1 | view2', as BYOL's asymmetric blur/solarise probabilities). Steps apply in the
table's order (crop, shift, flip, jitter, clip, gray, blur, solarize, noise) whatever order they are written
in — the order of SimCLR's and BYOL's recipes. Presets: `simclr` (Chen et al. 2020, appendix A) and `byol`
(Grill et al. 2020, Table 6), scaled to the image size (blur:auto).

`make_views` turns a clean batch into (anchor, positive, clean_negatives) by the spec's protocol:

    augmented_negatives   anchor = view 1 of x, positive = view 2 of x (independent draws); negatives = positives
    clean_negatives       anchor = x, positive = a view of x; negatives = the other clean anchors

All randomness comes from the caller's generator, so a seed fixes every view.
Tests: tests/test_augment.py (each op against an independent reference: F.interpolate, a per-image convolution,
an HSV hue shift, explicit index loops).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._lazy import functional as F
from ._lazy import torch  # parsing a pipeline (a cached `estimate`'s key, its exact moments) needs no torch
from .errors import UserError

if TYPE_CHECKING:
    from torch import Tensor

DOCS = "docs/augmentations.md"
FINITE, LINEAR, NONLINEAR = "finite", "linear", "nonlinear"
ORDER = ("crop", "shift", "flip", "jitter", "clip", "gray", "blur", "solarize", "noise")
GRAY = (0.299, 0.587, 0.114)  # ITU-R 601 luma; sums to 1 (torchvision's 0.2989 sums to 0.9999)
Theta = dict[str, "Tensor"]


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator, device: Any) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen, device=device, dtype=torch.float64)


def _bernoulli(n: int, p: float, gen: torch.Generator, device: Any) -> Tensor:
    return torch.rand(n, generator=gen, device=device) < p


def _masked(x: Tensor, theta: Theta, f: Callable[[Tensor, Theta], Tensor]) -> Tensor:
    """f on the images whose θ["on"] is set, the others unchanged (one θ row: all or none)."""
    on = theta["on"]
    if bool(on.all()):
        return f(x, theta)
    if not bool(on.any()):
        return x
    out = x.clone()
    out[on] = f(x[on], {k: v[on] for k, v in theta.items()})
    return out


def _col(v: Tensor, x: Tensor) -> Tensor:
    """A per-image factor (n,) or (1,) shaped to broadcast over (n, C, H, W), in x's dtype."""
    return v.to(x.dtype).view(-1, 1, 1, 1)


def gray_of(x: Tensor) -> Tensor:
    """The grey level (n, 1, H, W) of images (n, C, H, W): GRAY-weighted channels for RGB, the image for grey."""
    if x.shape[1] == 1:
        return x
    w = torch.tensor(GRAY, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def gather_pixels(x: Tensor, index: Tensor) -> Tensor:
    """y[i, d] = x[i, index[i, d]] over the flattened C·H·W pixels, 0 where index is −1 (zero fill); `index`
    (n, D) or (1, D) (one map for every image)."""
    n, dim = x.shape[0], math.prod(x.shape[1:])
    flat = torch.cat([x.reshape(n, dim), x.new_zeros(n, 1)], 1)
    idx = torch.where(index < 0, dim, index)
    out = flat.index_select(1, idx[0]) if idx.shape[0] == 1 else flat.gather(1, idx)
    return out.reshape(x.shape)


# ---- the ops (definitions: docs/augmentations.md) --------------------------------------------------------------

@dataclass(frozen=True)
class Op:
    """One step of a pipeline. Subclasses: `name`, `kind`, `usage`, fields = the step's arguments in order."""

    name: ClassVar[str]
    kind: ClassVar[str]
    usage: ClassVar[str]
    grey_ok: ClassVar[bool] = True

    def check(self) -> None:
        """Raise ValueError (a short reason) for arguments out of range (here: the probability `prob`)."""
        if not 0 <= self.p <= 1:
            raise ValueError("P must lie in [0, 1]")

    def check_shape(self, shape: tuple[int, ...]) -> None:
        """Raise UserError when the op cannot act on images of `shape` (C, H, W)."""

    def sample(self, n: int, gen: torch.Generator, shape: tuple[int, ...], device: Any) -> Theta:
        raise NotImplementedError

    def apply(self, x: Tensor, theta: Theta) -> Tensor:
        raise NotImplementedError

    def mean_apply(self, x: Tensor) -> Tensor:
        """E_θ[apply(x, θ)]: the op's mean map M̄ (linear and finite ops), exact — used for A = M̄₁ Σ₀ M̄₂ᵀ."""
        raise NotImplementedError(f"{self.name} is not linear: it has no mean map")

    @property
    def p(self) -> float:  # the probability that the op acts (1 unless the op has a `prob` field)
        return float(getattr(self, "prob", 1.0))

    def text(self) -> str:
        """Canonical text: the arguments before the probability positionally (up to the last one that differs from
        its default), then `p=` and any later argument by name when not at their defaults. Parses back to the op."""
        spell = lambda v: "auto" if v is None else (str(v) if isinstance(v, int) else repr(float(v)))  # noqa: E731
        fs = list(fields(self))
        cut = next((i for i, f in enumerate(fs) if f.name == "prob"), len(fs))
        last = max((i for i, f in enumerate(fs[:cut]) if getattr(self, f.name) != f.default), default=-1)
        args = [spell(getattr(self, f.name)) for f in fs[:last + 1]]
        short = {"prob": "p", "threshold": "t"}
        args += [f"{short.get(f.name, f.name)}={spell(getattr(self, f.name))}" for f in fs[cut:]
                 if getattr(self, f.name) != f.default]
        return self.name + (":" + ",".join(args) if args else "")


@dataclass(frozen=True)
class FiniteOp(Op):
    """A uniform-or-weighted choice among finitely many pixel gathers (`maps`)."""

    kind: ClassVar[str] = FINITE

    def maps(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(index (T, D) int64 with −1 = zero fill, weights (T,)) of the T maps on images of `shape`: map t sends
        x to y with y[d] = x[index[t, d]] over the flattened (C, H, W) pixels."""
        raise NotImplementedError

    def sample(self, n: int, gen: torch.Generator, shape: tuple[int, ...], device: Any) -> Theta:
        w = torch.as_tensor(self.maps(shape)[1], dtype=torch.float64, device=device)
        return {"choice": torch.multinomial(w, n, replacement=True, generator=gen)}

    def apply(self, x: Tensor, theta: Theta) -> Tensor:
        index = torch.as_tensor(self.maps(tuple(x.shape[1:]))[0], device=x.device)
        return gather_pixels(x, index[theta["choice"]])

    def mean_apply(self, x: Tensor) -> Tensor:
        index, weight = self.maps(tuple(x.shape[1:]))
        idx = torch.as_tensor(index, device=x.device)
        return sum(float(w) * gather_pixels(x, idx[t:t + 1]) for t, w in enumerate(weight) if w > 0)


@dataclass(frozen=True)
class Flip(FiniteOp):
    """Horizontal flip with probability `prob`: y[c, h, w] = x[c, h, W − 1 − w]."""

    prob: float = 0.5
    name: ClassVar[str] = "flip"
    usage: ClassVar[str] = "flip[:P] (P = probability, default 0.5)"

    def maps(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        idx = np.arange(math.prod(shape)).reshape(shape)
        return np.stack([idx.ravel(), idx[..., ::-1].ravel()]), np.array([1 - self.prob, self.prob])


@dataclass(frozen=True)
class Shift(FiniteOp):
    """Integer shift by (dy, dx), each uniform in {−K … K}, zero fill: y[c, h, w] = x[c, h − dy, w − dx]."""

    k: int = 1
    name: ClassVar[str] = "shift"
    usage: ClassVar[str] = "shift:K (K = largest shift in pixels, an integer in 0…64)"

    def check(self) -> None:
        if not 0 <= self.k <= 64:
            raise ValueError("K must be an integer in 0…64")

    def text(self) -> str:
        return f"shift:{self.k}"  # K is required: always spelled out

    def maps(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        c, h, w = shape
        ys, xs = np.arange(h)[:, None], np.arange(w)[None, :]
        base = np.arange(c)[:, None, None] * h * w
        out = []
        for dy in range(-self.k, self.k + 1):  # (2K + 1)² maps: a loop over maps, not over images
            for dx in range(-self.k, self.k + 1):
                sy, sx = ys - dy, xs - dx
                ok = (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
                out.append(np.where(ok[None], base + sy * w + sx, -1).ravel())
        t = len(out)
        return np.stack(out), np.full(t, 1.0 / t)


@dataclass(frozen=True)
class Crop(Op):
    """Random resized crop (torchvision's `RandomResizedCrop.get_params`, vectorised): area fraction
    s ~ U[smin, smax], log aspect ratio ~ U[log rmin, log rmax], integer box w = round(√(s·H·W·r)),
    h = round(√(s·H·W / r)), up to 10 tries, else the central crop with the ratio clamped; the box is resized to
    H × W by bilinear interpolation (F.interpolate, align_corners=False)."""

    smin: float = 0.08
    smax: float = 1.0
    rmin: float = 3 / 4
    rmax: float = 4 / 3
    name: ClassVar[str] = "crop"
    kind: ClassVar[str] = LINEAR
    usage: ClassVar[str] = "crop[:SMIN[,SMAX[,RMIN,RMAX]]] (area fraction 0 < SMIN ≤ SMAX ≤ 1, default 0.08,1; " \
                           "aspect ratio 0 < RMIN ≤ RMAX, default 3/4,4/3)"

    def check(self) -> None:
        if not (0 < self.smin <= self.smax <= 1 and 0 < self.rmin <= self.rmax < math.inf):
            raise ValueError("need 0 < SMIN ≤ SMAX ≤ 1 and 0 < RMIN ≤ RMAX")

    def sample(self, n: int, gen: torch.Generator, shape: tuple[int, ...], device: Any) -> Theta:
        _, hgt, wid = shape
        area = hgt * wid * _uniform(n * 10, self.smin, self.smax, gen, device).view(n, 10)
        ratio = torch.exp(_uniform(n * 10, math.log(self.rmin), math.log(self.rmax), gen, device)).view(n, 10)
        w = torch.round(torch.sqrt(area * ratio)).long()
        h = torch.round(torch.sqrt(area / ratio)).long()
        ok = (w > 0) & (w <= wid) & (h > 0) & (h <= hgt)
        first = ok.long().argmax(1, keepdim=True)  # the first valid try, as torchvision's loop
        found = ok.any(1)
        w, h = w.gather(1, first)[:, 0], h.gather(1, first)[:, 0]
        in_ratio = wid / hgt  # torchvision's fallback: the central crop with the ratio clamped to [rmin, rmax]
        if in_ratio < self.rmin:
            fw, fh = wid, int(round(wid / self.rmin))
        elif in_ratio > self.rmax:
            fw, fh = int(round(hgt * self.rmax)), hgt
        else:
            fw, fh = wid, hgt
        w, h = torch.where(found, w, fw), torch.where(found, h, fh)
        top = torch.floor(torch.rand(n, generator=gen, device=device, dtype=torch.float64) * (hgt - h + 1)).long()
        left = torch.floor(torch.rand(n, generator=gen, device=device, dtype=torch.float64) * (wid - w + 1)).long()
        top = torch.where(found, top, (hgt - h) // 2)
        left = torch.where(found, left, (wid - w) // 2)
        return {"top": top, "left": left, "height": h, "width": w}

    @staticmethod
    def _source(out: int, size: Tensor, start: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Bilinear source rows for an output of `out` pixels from a box of `size` at `start` (per image):
        s = (u + ½)·size/out − ½ clamped at 0 (PyTorch's rule), taps ⌊s⌋ and ⌊s⌋ + 1 (clamped to the box)."""
        u = torch.arange(out, device=size.device, dtype=torch.float64)
        s = ((u[None] + 0.5) * (size[:, None].double() / out) - 0.5).clamp(min=0.0)
        i0 = torch.floor(s).long()
        lam = s - i0
        i0 = torch.minimum(i0, size[:, None] - 1)
        i1 = torch.minimum(i0 + 1, size[:, None] - 1)
        return start[:, None] + i0, start[:, None] + i1, lam

    def box_probabilities(self, hgt: int, wid: int, grid: int = 8192) -> tuple[np.ndarray, float, tuple[int, int]]:
        """(P (H, W): probability that the box is h × w (index h − 1, w − 1), the fallback probability, the
        fallback box (h, w)) of `sample` on H × W images — deterministic quadrature, not sampling.

        One try draws A = s·H·W uniform and v = log r uniform; the box is (round √(A/r), round √(A·r)). For a
        given A the set of v giving box (h, w) is an interval (closed form), so its probability is exact in v and
        integrated over A by the midpoint rule on `grid` points (piecewise smooth in A: error O(grid⁻²)); a fixed
        area or ratio is handled exactly. Ten tries: P = P₁ (1 − (1 − V)¹⁰) / V (V = a try's valid mass)."""
        a0, a1 = self.smin * hgt * wid, self.smax * hgt * wid
        v0, v1 = math.log(self.rmin), math.log(self.rmax)
        hs, ws = np.arange(1, hgt + 1, dtype=float), np.arange(1, wid + 1, dtype=float)
        if v1 - v0 < 1e-15:  # a fixed ratio r: the box depends on A only; its A-interval is exact
            r = math.exp(v0)
            lo = np.maximum(((ws - 0.5) ** 2 / r)[None, :], ((hs - 0.5) ** 2 * r)[:, None])
            hi = np.minimum(((ws + 0.5) ** 2 / r)[None, :], ((hs + 0.5) ** 2 * r)[:, None])
            if a1 - a0 < 1e-12:
                p1 = ((lo <= a0) & (a0 < hi)).astype(float)
            else:
                p1 = np.clip(np.minimum(hi, a1) - np.maximum(lo, a0), 0, None) / (a1 - a0)
        else:
            areas = np.array([a0]) if a1 - a0 < 1e-12 else a0 + (a1 - a0) * (np.arange(grid) + 0.5) / grid
            # round(√(A r)) = w ⟺ v ∈ [2 log(w − ½) − u, 2 log(w + ½) − u); round(√(A/r)) = h ⟺ v ∈ (u − 2 log(h + ½),
            # u − 2 log(h − ½)] (u = log A; the boundaries have probability 0)
            w_lo, w_hi = 2 * np.log(ws - 0.5)[None, None, :], 2 * np.log(ws + 0.5)[None, None, :]
            h_lo, h_hi = 2 * np.log(hs + 0.5)[None, :, None], 2 * np.log(hs - 0.5)[None, :, None]
            p1 = np.zeros((hgt, wid))
            for s in range(0, len(areas), 256):  # blocks of the A grid bound the memory (256 × H × W)
                u = np.log(areas[s:s + 256])[:, None, None]
                lo = np.maximum(np.maximum(w_lo - u, u - h_lo), v0)
                hi = np.minimum(np.minimum(w_hi - u, u - h_hi), v1)
                p1 += np.clip(hi - lo, 0, None).sum(0)
            p1 /= len(areas) * (v1 - v0)
        valid = float(p1.sum())
        fb = (1 - valid) ** 10
        p = p1 * (1 - fb) / valid if valid > 0 else np.zeros_like(p1)
        in_ratio = wid / hgt
        if in_ratio < self.rmin:
            box = (int(round(wid / self.rmin)), wid)
        elif in_ratio > self.rmax:
            box = (hgt, int(round(hgt * self.rmax)))
        else:
            box = (hgt, wid)
        return p, fb, box

    def _axis_mean(self, out: int, size: int) -> np.ndarray:
        """(out × out) mean over the box's start (uniform in 0 … out − size) of the bilinear map of one axis."""
        return np.mean([self._axis_map(out, size, start) for start in range(out - size + 1)], axis=0)

    def _axis_map(self, out: int, size: int, start: int) -> np.ndarray:
        """(out × out) matrix of one axis of `apply`: a box of `size` at `start`, resized to `out` pixels."""
        i0, i1, lam = (t[0].numpy() for t in self._source(out, torch.tensor([size]), torch.tensor([start])))
        m = np.zeros((out, out))
        rows = np.arange(out)
        np.add.at(m, (rows, i0), 1 - lam)
        np.add.at(m, (rows, i1), lam)
        return m

    def mean_matrix(self, hgt: int, wid: int) -> np.ndarray:
        """The spatial mean map M̄ (H·W × H·W, row-major pixels) of the crop: Σ_{h,w} P(h, w) Ē_y(h) ⊗ Ē_x(w) plus
        the fallback box — the box's start is uniform and independent per axis, so its mean is separable."""
        p, fb, (fh, fw) = self.box_probabilities(hgt, wid)
        ey = [self._axis_mean(hgt, h) for h in range(1, hgt + 1)]
        ex = np.stack([self._axis_mean(wid, w) for w in range(1, wid + 1)])
        m = np.zeros((hgt * wid, hgt * wid))
        for h in range(hgt):  # a loop over box heights (H terms), not over images
            if p[h].any():
                m += np.kron(ey[h], np.tensordot(p[h], ex, 1))
        if fb > 0:
            m += fb * np.kron(self._axis_map(hgt, fh, (hgt - fh) // 2), self._axis_map(wid, fw, (wid - fw) // 2))
        return m

    def mean_apply(self, x: Tensor) -> Tensor:
        n, c, hgt, wid = x.shape
        m = torch.as_tensor(self.mean_matrix(hgt, wid), dtype=x.dtype, device=x.device)
        return (x.reshape(n * c, hgt * wid) @ m.T).reshape(x.shape)

    @classmethod
    def _axis_matrix(cls, out: int, size: Tensor, start: Tensor, dtype: Any) -> Tensor:
        """(m, out, out): the bilinear map of one axis per image (a box of `size` at `start`, resized to `out`)."""
        i0, i1, lam = cls._source(out, size, start)
        m = torch.zeros(i0.shape[0], out, out, dtype=torch.float64, device=i0.device)
        m.scatter_add_(2, i0[..., None], (1 - lam)[..., None])
        m.scatter_add_(2, i1[..., None], lam[..., None])
        return m.to(dtype)

    def apply(self, x: Tensor, theta: Theta) -> Tensor:
        n, c, hgt, wid = x.shape
        if max(hgt, wid) <= MATRIX_SIDE:  # small images: two small matmuls per image beat four gathers
            ky = self._axis_matrix(hgt, theta["height"], theta["top"], x.dtype)
            kx = self._axis_matrix(wid, theta["width"], theta["left"], x.dtype)
            return separable(x, ky, kx)
        y0, y1, ly = self._source(hgt, theta["height"], theta["top"])
        x0, x1, lx = self._source(wid, theta["width"], theta["left"])
        ly, lx = ly.to(x.dtype), lx.to(x.dtype)
        if y0.shape[0] == 1:  # one map for every image: plain index selects
            rows = x.index_select(2, y0[0]) * (1 - ly[0, :, None]) + x.index_select(2, y1[0]) * ly[0, :, None]
            return rows.index_select(3, x0[0]) * (1 - lx[0]) + rows.index_select(3, x1[0]) * lx[0]
        iy = lambda i: i[:, None, :, None].expand(n, c, hgt, wid)  # noqa: E731
        rows = x.gather(2, iy(y0)) * (1 - ly[:, None, :, None]) + x.gather(2, iy(y1)) * ly[:, None, :, None]
        ix = lambda i: i[:, None, None, :].expand(n, c, hgt, wid)  # noqa: E731
        return rows.gather(3, ix(x0)) * (1 - lx[:, None, None, :]) + rows.gather(3, ix(x1)) * lx[:, None, None, :]


MATRIX_SIDE = 64  # images up to this side apply crop and blur as per-image (H × H), (W × W) matrices


def separable(x: Tensor, ky: Tensor, kx: Tensor) -> Tensor:
    """y[i, c] = ky[i] x[i, c] kx[i]ᵀ for images x (n, C, H, W) and per-axis maps ky (n or 1, H, H),
    kx (n or 1, W, W) (one row: the same map for every image)."""
    return ky[:, None] @ x @ kx[:, None].transpose(-1, -2)


@dataclass(frozen=True)
class Jitter(Op):
    """Colour jitter (torchvision's ColorJitter factors, applied with probability `prob`, no clipping), in this
    order: brightness x ↦ b·x, contrast x ↦ c·x + (1 − c)·mean(gray(x)), saturation x ↦ s·x + (1 − s)·gray(x),
    hue x ↦ R(2πh) x (the rotation about the grey axis, `hue_matrix`: the linear stand-in for HSV's hue shift);
    b, c, s ~ U[max(0, 1 − B), 1 + B] etc., h ~ U[−H, H]. Each is linear; brightness, contrast and saturation
    commute, so only the hue's place differs from torchvision's random order. Grey images: brightness and
    contrast only."""

    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0
    prob: float = 1.0
    name: ClassVar[str] = "jitter"
    kind: ClassVar[str] = LINEAR
    usage: ClassVar[str] = "jitter:B[,C[,S[,H]]][,p=P] (torchvision's ColorJitter order; B, C, S ≥ 0, H in " \
                           "[0, 0.5], P in [0, 1])"

    def check(self) -> None:
        super().check()
        if min(self.brightness, self.contrast, self.saturation) < 0 or not 0 <= self.hue <= 0.5:
            raise ValueError("need B, C, S ≥ 0 and H in [0, 0.5]")

    def check_shape(self, shape: tuple[int, ...]) -> None:
        _grey_or_rgb(self.name, shape)

    def sample(self, n: int, gen: torch.Generator, shape: tuple[int, ...], device: Any) -> Theta:
        th = {"on": _bernoulli(n, self.prob, gen, device)}
        for key in ("brightness", "contrast", "saturation"):
            v = getattr(self, key)
            th[key] = _uniform(n, max(0.0, 1 - v), 1 + v, gen, device)
        th["hue"] = _uniform(n, -self.hue, self.hue, gen, device)
        return th

    def _jitter(self, x: Tensor, th: Theta) -> Tensor:
        if self.brightness:
            x = x * _col(th["brightness"], x)
        g = gray_of(x)
        if self.contrast:
            c, m = _col(th["contrast"], x), g.mean((2, 3), keepdim=True)
            x, g = c * x + (1 - c) * m, c * g + (1 - c) * m
        if x.shape[1] == 3 and self.saturation:
            s = _col(th["saturation"], x)
            x = s * x + (1 - s) * g
        if x.shape[1] == 3 and self.hue:
            m = hue_matrix(th["hue"]).to(x.dtype)
            x = torch.einsum("ij,njhw->nihw", m[0], x) if m.shape[0] == 1 else torch.einsum("nij,njhw->nihw", m, x)
        return x

    def apply(self, x: Tensor, theta: Theta) -> Tensor:
        return _masked(x, theta, self._jitter)

    def mean_apply(self, x: Tensor) -> Tensor:
        """(1 − p)·x + p·J̄x: the four maps are affine in their own factor and independent, so J̄ is the jitter at
        the mean factors, with E[R] = sin(2πH)/(2πH)·(I − kkᵀ) + kkᵀ for the hue (a shrink of the chroma)."""
        one = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
        th = {k: one((max(0.0, 1 - getattr(self, k)) + 1 + getattr(self, k)) / 2)
              for k in ("brightness", "contrast", "saturation")}
        th["hue"] = one(0.0)
        y = Jitter(self.brightness, self.contrast, self.saturation, 0.0)._jitter(x, th)
        if x.shape[1] == 3 and self.hue:
            shrink = math.sin(2 * math.pi * self.hue) / (2 * math.pi * self.hue)  # E[cos θ]; E[sin θ] = 0
            kk = torch.full((3, 3), 1 / 3, dtype=x.dtype, device=x.device)
            m = shrink * (torch.eye(3, dtype=x.dtype, device=x.device) - kk) + kk
            y = torch.einsum("ij,njhw->nihw", m, y)
        return (1 - self.prob) * x + self.prob * y


def _grey_or_rgb(name: str, shape: tuple[int, ...]) -> None:
    if shape[0] not in (1, 3):
        raise UserError(f"{name} needs grey (1 channel) or RGB (3 channel) images, not {shape[0]} channels")


def hue_matrix(h: Tensor) -> Tensor:
    """(n, 3, 3) RGB maps of a hue shift by h (a fraction of a turn): the rotation by 2πh about the grey axis
    k = (1, 1, 1)/√3, R = cos θ (I − k kᵀ) + sin θ [k]ₓ + k kᵀ — the least-squares best linear stand-in for
    torchvision's HSV hue shift (docs/augmentations.md gives the measured gap)."""
    theta = 2 * math.pi * h.double()
    k = torch.full((3,), 1 / math.sqrt(3), dtype=torch.float64, device=h.device)
    kk = torch.outer(k, k)
    cross = torch.tensor([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]], dtype=torch.float64,
                         device=h.device) / math.sqrt(3)  # [k]ₓ
    eye = torch.eye(3, dtype=torch.float64, device=h.device)
    return (torch.cos(theta)[:, None, None] * (eye - kk) + torch.sin(theta)[:, None, None] * cross + kk)


@dataclass(frozen=True)
class Gray(Op):
    """Grayscale with probability `prob`: every channel ← gray(x) (GRAY weights); grey images unchanged."""

    prob: float = 1.0
    name: ClassVar[str] = "gray"
    kind: ClassVar[str] = LINEAR
    usage: ClassVar[str] = "gray[:P] (P = probability, default 1)"

    def check_shape(self, shape: tuple[int, ...]) -> None:
        _grey_or_rgb(self.name, shape)

    def sample(self, n: int, gen: torch.Generator, shape: tuple[int, ...], device: Any) -> Theta:
        return {"on": _bernoulli(n, self.prob, gen, device)}

    def apply(self, x: Tensor, theta: Theta) -> Tensor:
        if x.shape[1] == 1:
            return x
        return _masked(x, theta, lambda v, th: gray_of(v).expand_as(v).contiguous())

    def mean_apply(self, x: Tensor) -> Tensor:
        return x if x.shape[1] == 1 else (1 - self.prob) * x + self.prob * gray_of(x).expand_as(x)


@dataclass(frozen=True)
class Blur(Op):
    """Gaussian blur with probability `prob` (torchvision's GaussianBlur): σ ~ U[smin, smax], the kernel
    exp(−t²/2σ²) on t = −(k−1)/2 … (k−1)/2, normalised, applied along W then H with reflect padding.
    `auto` (None): k = the odd number nearest 10 % of min(H, W), at least 3, and σ ∈ [0.1, 2]·min(H, W)/224 —
    SimCLR's ImageNet rule (kernel 10 % of the side, σ ∈ [0.1, 2] at 224 pixels) scaled to the image."""

    kernel: int | None = None
    smin: float | None = None
    smax: float | None = None
    prob: float = 1.0
    name: ClassVar[str] = "blur"
    kind: ClassVar[str] = LINEAR
    usage: ClassVar[str] = "blur:K|auto[,SMIN,SMAX][,p=P] (odd kernel K ≥ 1, 0 < SMIN ≤ SMAX, default σ range " \
                           "0.1,2 or auto)"

    def check(self) -> None:
        if self.kernel is not None and (self.kernel < 1 or self.kernel % 2 == 0):
            raise ValueError("K must be an odd integer ≥ 1 (or auto)")
        if (self.smin is None) != (self.smax is None) or (self.smin is not None and not 0 < self.smin <= self.smax):
            raise ValueError("need 0 < SMIN ≤ SMAX (both, or neither)")
        super().check()

    def resolved(self, shape: tuple[int, ...]) -> tuple[int, float, float]:
        """(kernel, σ min, σ max) for images of `shape` (C, H, W)."""
        side = min(shape[1:])
        if self.kernel is None:
            k = max(3, 2 * int(round((0.1 * side - 1) / 2)) + 1)
        else:
            k = self.kernel
        lo, hi = (self.smin, self.smax) if self.smin is not None else (
            (0.1, 2.0) if self.kernel is not None else (0.1 * side / 224, 2.0 * side / 224))
        return k, float(lo), float(hi)  # type: ignore[arg-type]

    def check_shape(self, shape: tuple[int, ...]) -> None:
        k = self.resolved(shape)[0]
        if k // 2 >= min(shape[1:]):
            raise UserError(f"blur kernel {k} is too large for {shape[1]}×{shape[2]} images (reflect padding needs "
                            f"K/2 < the side); use a smaller K")

    def sample(self, n: int, gen: torch.Generator, shape: tuple[int, ...], device: Any) -> Theta:
        _, lo, hi = self.resolved(shape)
        return {"on": _bernoulli(n, self.prob, gen, device), "sigma": _uniform(n, lo, hi, gen, device)}

    def _blur(self, x: Tensor, th: Theta) -> Tensor:
        k = self.resolved(tuple(x.shape[1:]))[0]
        r, (hgt, wid) = k // 2, x.shape[-2:]
        t = torch.arange(k, device=x.device, dtype=torch.float64) - r
        kern = torch.exp(-0.5 * (t[None] / th["sigma"][:, None].double()) ** 2)
        kern = (kern / kern.sum(1, keepdim=True)).to(x.dtype)  # (n or 1, k)
        if max(hgt, wid) <= MATRIX_SIDE:  # the same taps as (H × H), (W × W) matrices: blurred identities
            ky, kx = (self._taps(torch.eye(s, dtype=x.dtype, device=x.device).expand(kern.shape[0], 1, s, s), kern)
                      [:, 0].transpose(1, 2) for s in (hgt, wid))
            return separable(x, ky, kx)
        return self._taps(self._taps(x, kern).transpose(-1, -2), kern).transpose(-1, -2)

    @staticmethod
    def _taps(x: Tensor, kern: Tensor) -> Tensor:
        """The 1-D blur of every row of x (…, L) along its last axis with reflect padding; kern (n or 1, k)."""
        k, size = kern.shape[1], x.shape[-1]
        r = k // 2
        xp = F.pad(x.reshape(-1, 1, size), (r, r), mode="reflect").reshape(*x.shape[:-1], size + 2 * r)
        return sum(kern[:, j].view(-1, 1, 1, 1) * xp[..., j:j + size] for j in range(k))  # k taps, all images

    def apply(self, x: Tensor, theta: Theta) -> Tensor:
        return _masked(x, theta, self._blur)

    def mean_kernel(self, shape: tuple[int, ...], nodes: int = 64) -> np.ndarray:
        """E_σ[k_σ k_σᵀ] (k × k): the mean 2-D kernel over σ ~ U[smin, smax], by Gauss–Legendre quadrature (the
        integrand is smooth in σ)."""
        k, lo, hi = self.resolved(shape)
        t = np.arange(k) - k // 2
        if hi - lo < 1e-15:
            sig, wts = np.array([lo]), np.ones(1)
        else:
            z, w = np.polynomial.legendre.leggauss(nodes)
            sig, wts = lo + (hi - lo) * (z + 1) / 2, w / 2
        kern = np.exp(-0.5 * (t[None, :] / sig[:, None]) ** 2)
        kern /= kern.sum(1, keepdims=True)
        return np.einsum("s,si,sj->ij", wts, kern, kern)

    def mean_apply(self, x: Tensor) -> Tensor:
        hgt, wid = x.shape[-2:]
        kern = torch.as_tensor(self.mean_kernel(tuple(x.shape[1:])), dtype=x.dtype, device=x.device)
        k = kern.shape[0]
        r = k // 2
        xp = F.pad(x, (r, r, r, r), mode="reflect")  # = the separable passes' paddings (they commute)
        y = sum(kern[i, j] * xp[..., i:i + hgt, j:j + wid] for i in range(k) for j in range(k))
        return (1 - self.prob) * x + self.prob * y


@dataclass(frozen=True)
class Solarize(Op):
    """Solarisation with probability `prob`: each pixel x ↦ 1 − x where x ≥ t, else x (torchvision, BYOL)."""

    prob: float = 1.0
    threshold: float = 0.5
    name: ClassVar[str] = "solarize"
    kind: ClassVar[str] = NONLINEAR
    usage: ClassVar[str] = "solarize[:P][,t=T] (P = probability, default 1; threshold T, default 0.5)"

    def check(self) -> None:
        super().check()
        if not math.isfinite(self.threshold):
            raise ValueError("T must be finite")

    def sample(self, n: int, gen: torch.Generator, shape: tuple[int, ...], device: Any) -> Theta:
        return {"on": _bernoulli(n, self.prob, gen, device)}

    def apply(self, x: Tensor, theta: Theta) -> Tensor:
        return _masked(x, theta, lambda v, th: torch.where(v >= self.threshold, 1 - v, v))


@dataclass(frozen=True)
class Clip(Op):
    """Clipping of every pixel to [0, 1] (what torchvision does after each colour op)."""

    name: ClassVar[str] = "clip"
    kind: ClassVar[str] = NONLINEAR
    usage: ClassVar[str] = "clip (no argument)"

    def sample(self, n: int, gen: torch.Generator, shape: tuple[int, ...], device: Any) -> Theta:
        return {"on": torch.ones(n, dtype=torch.bool, device=device)}

    def apply(self, x: Tensor, theta: Theta) -> Tensor:
        return x.clamp(0.0, 1.0)


OPS: dict[str, type[Op]] = {c.name: c for c in (Crop, Shift, Flip, Jitter, Clip, Gray, Blur, Solarize)}
ALIASES = {"grayscale": "gray", "grey": "gray", "solarise": "solarize", "color": "jitter", "colour": "jitter"}


# ---- pipelines: the grammar ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class View:
    """The ops of one view in the table's order, then Gaussian pixel noise of standard deviation `noise`."""

    ops: tuple[Op, ...] = ()
    noise: float = 0.0

    def text(self) -> str:
        steps = [op.text() for op in self.ops] + ([f"noise:{self.noise!r}"] if self.noise else [])
        return "+".join(steps) or "none"

    @property
    def linear_ops(self) -> tuple[Op, ...]:
        return tuple(op for op in self.ops if op.kind != NONLINEAR)

    @property
    def nonlinear_ops(self) -> tuple[Op, ...]:
        return tuple(op for op in self.ops if op.kind == NONLINEAR and op.p > 0)

    @property
    def linear_probability(self) -> float:
        """P(no nonlinear op acts): the weight of the view's linear branch (`sslscape.moments`)."""
        return math.prod(1 - op.p for op in self.nonlinear_ops)


@dataclass(frozen=True)
class Pipeline:
    """An augmentation: two views (equal unless written 'VIEW1 | VIEW2'); `preset` names a preset it came from."""

    first: View
    second: View
    preset: str = ""

    @property
    def views(self) -> tuple[View, View]:
        return self.first, self.second

    @property
    def symmetric(self) -> bool:
        return self.first == self.second

    @property
    def text(self) -> str:
        """The canonical text (ops in the table's order, every argument spelled out): parses to this pipeline."""
        return self.first.text() if self.symmetric else f"{self.first.text()} | {self.second.text()}"

    @property
    def needs_images(self) -> bool:
        return bool(self.first.ops or self.second.ops)

    @property
    def kind(self) -> str:
        """'finite' (only flips/shifts + noise: exact moments), 'linear' (random linear maps), 'nonlinear'."""
        ops = self.first.ops + self.second.ops
        if any(op.kind == NONLINEAR and op.p > 0 for op in ops):
            return NONLINEAR
        return LINEAR if any(op.kind == LINEAR for op in ops) else FINITE

    def check_shape(self, shape: tuple[int, ...]) -> None:
        """One-line UserError when the pipeline cannot act on data of `shape` ((C, H, W) images or (D,) vectors)."""
        if len(shape) != 3:
            if self.needs_images:
                names = sorted({op.name for v in self.views for op in v.ops})
                raise UserError(f"{', '.join(names)} need images, but the data are {shape[0]}-dimensional vectors; "
                                "give the image size with --size H,W[,C] (or use noise:STD only)")
            return
        for view in self.views:
            for op in view.ops:
                op.check_shape(shape)


PRESETS = {
    # SimCLR (Chen et al. 2020, appendix A): crop 0.08–1, flip, colour distortion of strength 1 (jitter 0.8, 0.8,
    # 0.8, 0.2) with p 0.8, grayscale 0.2, blur with p 0.5 (kernel 10 % of the side, σ ∈ [0.1, 2]).
    "simclr": "crop:0.08,1,0.75,1.3333333333333333+flip:0.5+jitter:0.8,0.8,0.8,0.2,p=0.8+gray:0.2+blur:auto,p=0.5",
    # BYOL (Grill et al. 2020, Table 6): jitter 0.4, 0.4, 0.2, 0.1 with p 0.8, grayscale 0.2; blur p 1.0 / 0.1 and
    # solarisation p 0.0 / 0.2 for the two views.
    "byol": "crop:0.08,1+flip:0.5+jitter:0.4,0.4,0.2,0.1,p=0.8+gray:0.2+blur:auto,p=1"
            " | crop:0.08,1+flip:0.5+jitter:0.4,0.4,0.2,0.1,p=0.8+gray:0.2+blur:auto,p=0.1+solarize:0.2",
}
STEPS_HELP = ("steps crop, shift, flip, jitter, clip, gray, blur, solarize, noise joined by '+' (two views: "
              f"'VIEW1 | VIEW2'), or a preset ({', '.join(PRESETS)}); e.g. flip+shift:2 — {DOCS}")


def _number(text: str, integer: bool) -> float | int | None:
    if text == "auto":
        return None
    v = float(text)
    if not math.isfinite(v):
        raise ValueError("arguments must be finite numbers")
    if integer:
        if v != int(v):
            raise ValueError("expected an integer")
        return int(v)
    return v


def _parse_step(step: str, whole: str) -> Op | float:
    """One step → an Op (or the noise standard deviation, a float)."""
    name, _, arg = step.partition(":")
    name = ALIASES.get(name.strip().lower(), name.strip().lower())
    args = [a.strip() for a in arg.split(",")] if arg.strip() else []
    if name == "noise":
        try:
            if len(args) != 1:
                raise ValueError
            std = float(args[0])
            if not (std >= 0 and math.isfinite(std)):
                raise ValueError
        except ValueError as exc:
            raise UserError(f"bad argument in augmentation step {step!r}: noise:STD with STD ≥ 0 ({DOCS})") from exc
        return std
    cls = OPS.get(name)
    if cls is None:
        raise UserError(f"unknown augmentation step {step!r} in {whole!r}; {STEPS_HELP}")
    names = [f.name for f in fields(cls)]
    defaults = {f.name: f.default for f in fields(cls)}
    keys = {"p": "prob", "t": "threshold", "b": "brightness", "c": "contrast", "s": "saturation", "h": "hue",
            "k": "kernel" if name == "blur" else "k"}
    values: dict[str, Any] = {}
    try:
        positional = True
        for i, a in enumerate(args):
            key, eq, val = a.partition("=")
            if eq:
                positional = False
                field_name = keys.get(key.strip().lower(), key.strip().lower())
                if field_name not in names or field_name in values:
                    raise ValueError
            else:
                if not positional or i >= len(names):
                    raise ValueError
                field_name, val = names[i], key
            integer = field_name in ("k", "kernel")
            values[field_name] = _number(val.strip(), integer)
            if values[field_name] is None and defaults[field_name] is not None:
                raise ValueError  # 'auto' only where the default is automatic
        if cls is Shift and "k" not in values:
            raise ValueError
        op = cls(**values)
        op.check()
    except (ValueError, TypeError) as exc:
        raise UserError(f"bad argument in augmentation step {step!r}: {cls.usage} ({DOCS})") from exc
    return op


def _parse_view(text: str, whole: str) -> View:
    ops: dict[str, Op] = {}
    noise = None
    for step in (s.strip() for s in text.split("+")):
        if not step or step == "none":
            if step == "none" and text.strip() == "none":
                continue
            raise UserError(f"empty augmentation step in {whole!r}; {STEPS_HELP}")
        parsed = _parse_step(step, whole)
        name = "noise" if isinstance(parsed, float) else parsed.name
        if name in ops or (name == "noise" and noise is not None):
            raise UserError(f"augmentation step {name!r} given twice in {whole!r}; give each step once")
        if isinstance(parsed, float):
            noise = parsed
        else:
            ops[name] = parsed
    ordered = tuple(sorted(ops.values(), key=lambda op: ORDER.index(op.name)))
    return View(ordered, noise or 0.0)


def parse_pipeline(text: str) -> Pipeline:
    """A pipeline from its text: a preset name or '+'-joined steps (module docstring; every step and argument:
    docs/augmentations.md), two views as 'VIEW1 | VIEW2'. One-line UserError naming the bad step and the fix."""
    raw = str(text).strip()
    preset = raw.lower() if raw.lower() in PRESETS else ""
    body = PRESETS[preset] if preset else raw
    if not body:
        raise UserError(f"empty augmentation {text!r}; {STEPS_HELP}")
    parts = body.split("|")
    if len(parts) > 2:
        raise UserError(f"augmentation {text!r} has {len(parts)} views; give one pipeline or two as 'VIEW1 | VIEW2'")
    views = [_parse_view(p, raw) for p in parts]
    return Pipeline(views[0], views[-1], preset)


# ---- applying a pipeline --------------------------------------------------------------------------------------------

def sample_view(view: View, n: int, gen: torch.Generator, shape: tuple[int, ...], device: Any = "cpu",
                ops: tuple[Op, ...] | None = None) -> list[Theta]:
    """θ of each op of `view` (or of `ops`, a subset of it) for n images of `shape` (C, H, W), in order."""
    return [op.sample(n, gen, shape, device) for op in (view.ops if ops is None else ops)]


def apply_ops(ops: tuple[Op, ...], x: Tensor, thetas: list[Theta]) -> Tensor:
    """The ops applied in order with their drawn θ (no noise): a deterministic map of x."""
    for op, th in zip(ops, thetas, strict=True):
        x = op.apply(x, th)
    return x


def mean_ops(ops: tuple[Op, ...], x: Tensor) -> Tensor:
    """M̄x = E_θ[ops_θ(x)] = M̄_k ⋯ M̄_1 x: the ops' parameters are independent, so the mean of the composition is
    the composition of the mean maps (linear and finite ops only)."""
    for op in ops:
        x = op.mean_apply(x)
    return x


class PipelineAugment:
    """Random views of a `Pipeline` for images (n, C, H, W) (or vectors (n, D): noise only).

    `aug(x, gen)` is one draw of the first view; `aug.views(x, gen)` one draw of each view (independent);
    `aug.view(i, x, gen)` of view i (0 or 1). Raises UserError when the pipeline cannot act on x's shape.
    """

    def __init__(self, pipeline: Pipeline | str) -> None:
        self.pipeline = parse_pipeline(pipeline) if isinstance(pipeline, str) else pipeline

    def view(self, which: int, x: Tensor, gen: torch.Generator) -> Tensor:
        v = self.pipeline.views[which]
        if v.ops:
            shape = tuple(x.shape[1:])
            self.pipeline.check_shape(shape)
            x = apply_ops(v.ops, x, sample_view(v, x.shape[0], gen, shape, x.device))
        if v.noise > 0:
            x = x + v.noise * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
        return x

    def views(self, x: Tensor, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        return self.view(0, x, gen), self.view(1, x, gen)

    def __call__(self, x: Tensor, gen: torch.Generator) -> Tensor:
        return self.view(0, x, gen)


def make_augment(text: str, shape: tuple[int, ...] | None = None) -> PipelineAugment:
    """The augmentation named by `text` (a preset or a pipeline), checked against the image shape (C, H, W) when
    given. One-line UserError for a bad text or an op that cannot act on such images."""
    aug = PipelineAugment(parse_pipeline(text))
    if shape is not None:
        aug.pipeline.check_shape(tuple(shape))
    return aug


# ---- the training config's image augmentation -----------------------------------------------------------------------

class ImageAugmentConfig(BaseModel):
    """The training config's `data.image` (every field: docs/config.md): either `pipeline` (a preset such as
    'simclr' or a pipeline text, docs/augmentations.md) or the individual SimCLR-style settings below."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    pipeline: str | None = None
    crop_scale: list[float] = [0.5, 1.0]  # area fraction range of the random resized crop
    crop_ratio: list[float] = [0.75, 1.3333333]
    flip: bool = True
    brightness: Annotated[float, Field(ge=0.0)] = 0.4
    contrast: Annotated[float, Field(ge=0.0)] = 0.4
    blur_prob: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    blur_sigma: list[float] = [0.1, 1.0]

    @model_validator(mode="after")
    def _valid(self) -> ImageAugmentConfig:
        if self.pipeline is not None and len(self.model_fields_set - {"pipeline"}) > 0:
            raise ValueError("give either 'pipeline' or the individual settings (crop_scale, flip, …), not both")
        try:
            self.to_pipeline()
        except UserError as exc:
            raise ValueError(str(exc)) from exc
        return self

    def to_pipeline(self) -> Pipeline:
        """The config as a `Pipeline` (the individual settings: crop, flip, jitter B, C, blur with kernel
        2⌈3σ_max⌉ + 1)."""
        if self.pipeline is not None:
            return parse_pipeline(self.pipeline)
        if len(self.crop_scale) != 2 or len(self.crop_ratio) != 2 or len(self.blur_sigma) != 2:
            raise UserError("crop_scale, crop_ratio and blur_sigma take two numbers [lo, hi]")
        steps = ["crop:" + ",".join(repr(float(v)) for v in (*self.crop_scale, *self.crop_ratio))]
        if self.flip:
            steps.append("flip:0.5")
        if self.brightness or self.contrast:
            steps.append(f"jitter:{self.brightness!r},{self.contrast!r}")
        if self.blur_prob > 0:
            lo, hi = self.blur_sigma
            steps.append(f"blur:{2 * math.ceil(3 * hi) + 1},{lo!r},{hi!r},p={self.blur_prob!r}")
        return parse_pipeline("+".join(steps))


class ImageAugment(PipelineAugment):
    """The augmentation of a training config's `data.image` (`ImageAugmentConfig.to_pipeline`)."""

    def __init__(self, cfg: ImageAugmentConfig) -> None:
        self.cfg = cfg
        super().__init__(cfg.to_pipeline())


# ---- additive noise (the theory's own augmentation model) ----------------------------------------------------------

class NoiseAugment:
    """x + ε with ε ~ N(0, S); `factor` L_S (D, D), L_S L_Sᵀ = S, or None for S = 0 (then views equal x)."""

    def __init__(self, factor: Tensor | None) -> None:
        self.factor = factor

    def __call__(self, x: Tensor, gen: torch.Generator) -> Tensor:
        if self.factor is None:
            return x
        xi = torch.randn(x.shape[0], self.factor.shape[1], generator=gen, device=x.device)
        return x + xi @ self.factor.T


class Identity:
    def __call__(self, x: Tensor, gen: torch.Generator) -> Tensor:
        return x


Augment = NoiseAugment | PipelineAugment | Identity


def make_views(x: Tensor, augment: Augment, protocol: str,
               gen: torch.Generator) -> tuple[Tensor, Tensor, bool]:
    """(anchor, positive, clean_negatives): clean negatives = the clean anchors. A two-view pipeline gives the
    anchor its first view and the positive its second."""
    if protocol == "clean_negatives":
        return x, augment(x, gen), True
    if isinstance(augment, PipelineAugment):
        a, p = augment.views(x, gen)
        return a, p, False
    return augment(x, gen), augment(x, gen), False
