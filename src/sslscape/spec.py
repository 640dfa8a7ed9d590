"""The problem spec (DESIGN.md §2): one SSL problem, validated at the edge.

A spec names the objective and its hyper-parameters, the data statistics (a covariance given as a vector =
diagonal, or a full PSD matrix, or estimated from a sample file), the augmentation statistics and the training
setting (weight decay γ in + γ‖W‖², temperature τ, embedding size d, depth, bias, normalization, batch size).

`Spec` is strict: unknown keys are rejected and every error names the field. `Spec.moments()` turns the data and
augmentation parts into numpy arrays (`Moments`), checked for shape, symmetry and positive semi-definiteness.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import UserError
from .io import load_array, read_mapping_file

Objective = Literal["infonce", "spectral", "barlow", "vicreg", "simsiam", "byol"]
Similarity = Literal["dot", "cosine", "euclidean"]
Protocol = Literal["augmented_negatives", "clean_negatives"]
Normalization = Literal["none", "l2", "batch"]
OBJECTIVES: tuple[str, ...] = ("infonce", "spectral", "barlow", "vicreg", "simsiam", "byol")

Vector = list[float]
Matrix = list[list[float]]
PSD_TOL = 1e-9


class SpecError(UserError, ValueError):
    """A spec (or a file it points to) is wrong; the message names the field and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class DataSpec(_Strict):
    """Data statistics: `cov` (vector = diagonal, or matrix) with optional `mean`, or `samples` (a file)."""

    cov: Vector | Matrix | None = None
    mean: Vector | None = None
    samples: Path | None = Field(default=None, description=".npy / .pt / .npz file of shape (n, D)")

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if (self.cov is None) == (self.samples is None):
            raise ValueError("give exactly one of 'cov' (vector or matrix) or 'samples' (a .npy/.pt/.npz file)")
        if self.samples is not None and self.mean is not None:
            raise ValueError("'mean' is estimated from 'samples'; remove 'mean' or give 'cov' instead")
        return self


class AugmentationSpec(_Strict):
    """Additive-noise augmentation x' = x + ε, ε ~ N(0, noise_scale · noise_cov)."""

    noise_cov: Vector | Matrix | None = None
    noise_scale: Annotated[float, Field(ge=0.0)] = 1.0


class VICRegWeights(_Strict):
    invariance: Annotated[float, Field(ge=0.0)] = 25.0
    variance: Annotated[float, Field(ge=0.0)] = 25.0
    covariance: Annotated[float, Field(ge=0.0)] = 1.0


class Spec(_Strict):
    """An SSL problem. Defaults follow DESIGN.md §2; `weight_decay` is γ in + γ Σ_l ‖W_l‖² (explicit L2)."""

    objective: Objective
    similarity: Similarity = "dot"
    protocol: Protocol = "augmented_negatives"
    symmetric: bool = False
    data: DataSpec
    augmentation: AugmentationSpec = AugmentationSpec()
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.0
    temperature: Annotated[float, Field(gt=0.0)] = 1.0
    embed_dim: Annotated[int, Field(ge=1)] | None = None
    depth: Annotated[int, Field(ge=1, le=16)] = 1
    bias: bool = False
    normalization: Normalization = "none"
    barlow_lambda: Annotated[float, Field(ge=0.0)] = 0.005
    vicreg: VICRegWeights = VICRegWeights()
    ema_decay: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.99
    batch_size: Annotated[int, Field(ge=2)] | None = None
    seed: int = 0

    @field_validator("objective", mode="before")
    @classmethod
    def _known_objective(cls, v: object) -> object:
        if isinstance(v, str) and v not in OBJECTIVES:
            raise ValueError(f"unknown objective {v!r}; use one of {', '.join(OBJECTIVES)}")
        return v

    @model_validator(mode="after")
    def _similarity_applies(self) -> Spec:
        if self.similarity != "dot" and self.objective not in ("infonce", "simsiam", "byol"):
            raise ValueError(f"'similarity' applies to infonce, simsiam and byol only; {self.objective} is defined "
                             "with dot products — remove 'similarity' or use normalization 'l2' for normalised "
                             "embeddings")
        return self

    # ---- derived quantities -------------------------------------------------------------------------------
    def moments(self, base_dir: Path | None = None) -> Moments:
        """Data covariance C, mean μ and noise covariance S as checked numpy arrays."""
        if self.data.samples is not None:
            path = self.data.samples if base_dir is None or self.data.samples.is_absolute() else (
                base_dir / self.data.samples)
            x = load_samples(path)
            cov = np.atleast_2d(np.cov(x, rowvar=False, bias=True))
            mean = x.mean(axis=0)
        else:
            cov = _as_matrix(self.data.cov, "data.cov")
            mean = np.zeros(cov.shape[0]) if self.data.mean is None else np.asarray(self.data.mean, float)
        dim = cov.shape[0]
        if mean.shape != (dim,):
            raise SpecError(f"data.mean has length {mean.size} but data.cov is {dim}×{dim}; give {dim} numbers")
        noise = self.unit_noise_cov(dim)
        return Moments(cov=cov, mean=mean, noise_cov=self.augmentation.noise_scale * noise)

    def unit_noise_cov(self, dim: int) -> np.ndarray:
        """The augmentation's `noise_cov` as a (dim, dim) matrix, before `noise_scale` multiplies it."""
        if self.augmentation.noise_cov is None:
            return np.zeros((dim, dim))
        noise = _as_matrix(self.augmentation.noise_cov, "augmentation.noise_cov")
        if noise.shape != (dim, dim):
            raise SpecError(f"augmentation.noise_cov is {noise.shape[0]}-dimensional but the data is "
                            f"{dim}-dimensional; give {dim} entries (vector) or a {dim}×{dim} matrix")
        return noise

    @property
    def is_contrastive(self) -> bool:
        return self.objective in ("infonce", "spectral")

    def with_updates(self, **updates: object) -> Spec:
        """A copy with some fields changed (dotted names such as 'augmentation.noise_scale' allowed), validated."""
        raw = self.model_dump(mode="json")
        for key, value in updates.items():
            node = raw
            *parents, leaf = key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
        return parse_spec(raw)


@dataclass(frozen=True)
class Moments:
    """First two moments of data and augmentation: C (D×D), μ (D,), S = noise_scale · noise_cov (D×D)."""

    cov: np.ndarray
    mean: np.ndarray
    noise_cov: np.ndarray

    @property
    def dim(self) -> int:
        return self.cov.shape[0]


def _as_matrix(value: Vector | Matrix | None, field: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 1:
        if arr.size == 0:
            raise SpecError(f"{field} is empty; give a list of variances or a square matrix")
        arr = np.diag(arr)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise SpecError(f"{field} must be a vector (diagonal) or a square matrix, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise SpecError(f"{field} contains NaN or Inf; give finite numbers")
    if not np.allclose(arr, arr.T, atol=1e-10 * max(1.0, np.abs(arr).max())):
        raise SpecError(f"{field} is not symmetric; a covariance must equal its transpose")
    arr = (arr + arr.T) / 2
    lo = np.linalg.eigvalsh(arr).min()
    if lo < -PSD_TOL * max(1.0, np.abs(arr).max()):
        raise SpecError(f"{field} is not positive semi-definite (smallest eigenvalue {lo:.3g}); "
                        "a covariance needs eigenvalues ≥ 0")
    return arr


def load_samples(path: Path) -> np.ndarray:
    """Load an (n, D) float array from .npy, .npz (key 'x' or the only array) or .pt; errors say what is wrong."""
    path = Path(path)
    try:
        x = load_array(path, "sample")
    except UserError as err:
        raise SpecError(str(err)) from err
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2:
        raise SpecError(f"sample file {path.name!r} has shape {x.shape}; it must be (n, D) with n ≥ 2")
    if not np.all(np.isfinite(x)):
        bad = int((~np.isfinite(x)).any(axis=1).sum())
        raise SpecError(f"sample file {path.name!r} has {bad} rows with NaN/Inf; clean or drop them first")
    return x


def format_validation_error(err: ValidationError) -> str:
    """One line naming the first offending field and what to do."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "spec"
    kind, msg = first["type"], first["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return f"unknown key {loc!r} in spec; remove it (allowed keys: see DESIGN.md §2 / Spec docs)"
    if kind == "missing":
        return f"spec field {loc!r} is missing; add it"
    return f"spec field {loc!r}: {msg}"


def parse_spec(raw: object) -> Spec:
    """Validate a dict as a Spec, turning pydantic's report into a one-line SpecError."""
    if not isinstance(raw, dict):
        raise SpecError("a spec must be a JSON/YAML object (mapping of field: value)")
    try:
        return Spec.model_validate(raw)
    except ValidationError as err:
        raise SpecError(format_validation_error(err)) from err


def load_spec(path: str | Path) -> tuple[Spec, Path]:
    """Read a JSON or YAML spec file; returns the spec and its folder (sample paths are relative to it)."""
    try:
        raw = read_mapping_file(path, "spec")
    except UserError as err:
        raise SpecError(str(err)) from err
    return parse_spec(raw), Path(path).parent
