"""The problem spec: one SSL problem, validated at the edge (every field: docs/spec.md).

A spec names the objective and its hyper-parameters, the data statistics (a covariance given as a vector =
diagonal, or a full PSD matrix, or estimated from a sample file), the augmentation statistics and the training
setting (weight decay γ in + γ‖W‖², temperature τ, embedding size d, depth, bias, normalization, batch size).

`Spec` is strict: unknown keys are rejected (with the nearest valid key suggested) and every error names the
field in one line. Shapes, symmetry and positive semi-definiteness of the covariances are checked here, so
nothing downstream meets a ragged or non-PSD matrix. `load_spec` resolves a sample file's path against the spec
file's folder once; `sslscape.moments.moments_of(spec)` turns the spec into numpy moments.

    >>> spec = parse_spec({"objective": "spectral", "data": {"cov": [4, 1]}, "weight_decay": 3.0})
    >>> spec.weight_decay, spec.embed_dim
    (3.0, None)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import UserError, format_validation_error
from .io import read_mapping_file

Objective = Literal["infonce", "spectral", "barlow", "vicreg", "simsiam", "byol"]
Similarity = Literal["dot", "cosine", "euclidean"]
Protocol = Literal["augmented_negatives", "clean_negatives"]
Normalization = Literal["none", "l2", "batch"]
OBJECTIVES: tuple[str, ...] = ("infonce", "spectral", "barlow", "vicreg", "simsiam", "byol")
PREDICTIVE: tuple[str, ...] = ("simsiam", "byol")

Vector = list[float]
Matrix = list[list[float]]
PSD_TOL = 1e-9
DOCS = "docs/spec.md"


class SpecError(UserError, ValueError):
    """A spec (or a file it points to) is wrong; the message names the field and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def covariance_matrix(value: Vector | Matrix, field: str) -> np.ndarray:
    """A covariance given as a vector (diagonal) or a square matrix, checked: finite, symmetric, PSD.

    Raises ValueError naming `field` (pydantic turns it into a one-line SpecError).
    """
    if len(value) == 0:
        raise ValueError(f"{field} is empty; give a list of variances or a square matrix")
    if isinstance(value[0], list):
        widths = {len(row) for row in value}  # type: ignore[arg-type]
        if widths != {len(value)}:
            raise ValueError(f"{field} must be a vector (diagonal) or a square matrix; it has {len(value)} rows of "
                             f"lengths {sorted(widths)}")
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 1:
        arr = np.diag(arr)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{field} contains NaN or Inf; give finite numbers")
    if not np.allclose(arr, arr.T, atol=1e-10 * max(1.0, np.abs(arr).max())):
        raise ValueError(f"{field} is not symmetric; a covariance must equal its transpose")
    arr = (arr + arr.T) / 2
    lo = float(np.linalg.eigvalsh(arr).min())
    if lo < -PSD_TOL * max(1.0, np.abs(arr).max()):
        raise ValueError(f"{field} is not positive semi-definite (smallest eigenvalue {lo:.3g}); a covariance "
                         "needs eigenvalues ≥ 0")
    return arr


class DataSpec(_Strict):
    """Data statistics: `cov` (vector = diagonal, or matrix) with optional `mean`, or `samples` (a file)."""

    cov: Vector | Matrix | None = None
    mean: Vector | None = None
    samples: Path | None = Field(default=None, description=".npy / .npz / .pt / .csv file of shape (n, D)")

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if (self.cov is None) == (self.samples is None):
            raise ValueError("give exactly one of 'cov' (vector or matrix) or 'samples' (a .npy/.npz/.pt file)")
        if self.samples is not None and self.mean is not None:
            raise ValueError("'mean' is estimated from 'samples'; remove 'mean' or give 'cov' instead")
        if self.cov is not None:
            dim = covariance_matrix(self.cov, "data.cov").shape[0]
            if self.mean is not None and len(self.mean) != dim:
                raise ValueError(f"data.mean has length {len(self.mean)} but data.cov is {dim}×{dim}; give {dim} "
                                 "numbers")
            if self.mean is not None and not np.all(np.isfinite(self.mean)):
                raise ValueError("data.mean contains NaN or Inf; give finite numbers")
        return self

    @property
    def dim(self) -> int | None:
        """D when given by `cov` (None for a sample file, known once it is read)."""
        return None if self.cov is None else len(self.cov)


class AugmentationSpec(_Strict):
    """Additive-noise augmentation x' = x + ε, ε ~ N(0, noise_scale · noise_cov)."""

    noise_cov: Vector | Matrix | None = None
    noise_scale: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 1.0

    @field_validator("noise_cov")
    @classmethod
    def _covariance(cls, v: Vector | Matrix | None) -> Vector | Matrix | None:
        if v is not None:
            covariance_matrix(v, "augmentation.noise_cov")
        return v


class VICRegWeights(_Strict):
    invariance: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 25.0
    variance: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 25.0
    covariance: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 1.0


class Spec(_Strict):
    """An SSL problem (docs/spec.md); `weight_decay` is γ in + γ Σ_l ‖W_l‖² (explicit L2)."""

    objective: Objective
    similarity: Similarity = "dot"
    protocol: Protocol = "augmented_negatives"
    symmetric: bool = False
    data: DataSpec
    augmentation: AugmentationSpec = AugmentationSpec()
    weight_decay: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    temperature: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 1.0
    embed_dim: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    depth: Annotated[int, Field(ge=1, le=16)] = 1
    bias: bool = False
    normalization: Normalization = "none"
    barlow_lambda: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.005
    vicreg: VICRegWeights = VICRegWeights()
    ema_decay: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.99
    batch_size: Annotated[int, Field(ge=2, le=10_000_000)] | None = None
    seed: int = 0

    @field_validator("objective", mode="before")
    @classmethod
    def _known_objective(cls, v: object) -> object:
        if isinstance(v, str) and v not in OBJECTIVES:
            raise ValueError(f"unknown objective {v!r}; use one of {', '.join(OBJECTIVES)}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Spec:
        if self.similarity != "dot" and self.objective not in ("infonce", "simsiam", "byol"):
            raise ValueError(f"'similarity' applies to infonce, simsiam and byol only; {self.objective} is defined "
                             "with dot products — remove 'similarity' or use normalization 'l2' for normalised "
                             "embeddings")
        if self.symmetric and self.objective != "infonce":
            raise ValueError(f"'symmetric' applies to infonce only; {self.objective} has no direction to average — "
                             "remove it")
        dim, noise = self.data.dim, self.augmentation.noise_cov
        if dim is not None and noise is not None and len(noise) != dim:
            raise ValueError(f"augmentation.noise_cov is {len(noise)}-dimensional but data.cov is {dim}-dimensional; "
                             f"give {dim} entries (vector) or a {dim}×{dim} matrix")
        return self

    def theory_gaps(self) -> list[str]:
        """Fields the theory cannot model for this spec, one phrase each naming the field and the fix; [] when it
        can. Training accepts these specs (they are valid SSL problems); `sslscape.theory.plan`/`predict` (and
        `phase`, `advise`) refuse them in one line, so theory and training never answer different problems.

        SimSiam/BYOL: the theory (closed form and integrated dynamics, docs/theory.md §7) is one linear encoder W
        without bias and a linear predictor, with the normalisation given by similarity 'cosine' — depth > 1, a
        bias or an embedding normalisation would be silently dropped.
        """
        gaps: list[str] = []
        if self.objective in PREDICTIVE:
            obj = self.objective
            if self.depth != 1:
                gaps.append(f"depth {self.depth} with {obj}: the theory models a depth-1 linear encoder with a linear "
                            "predictor — set depth 1")
            if self.bias:
                gaps.append(f"bias with {obj}: the theory models an encoder without bias — set bias false")
            if self.normalization != "none":
                gaps.append(f"normalization {self.normalization!r} with {obj}: the theory normalises only through "
                            "the loss — set normalization 'none' (and similarity 'cosine' for a normalised loss)")
        return gaps

    @property
    def is_contrastive(self) -> bool:
        return self.objective in ("infonce", "spectral")

    def loss_kwargs(self) -> dict[str, Any]:
        """The hyper-parameters of the objective's exact loss (`sslscape.objectives.view_loss`), by name."""
        return {"temperature": self.temperature, "similarity": self.similarity, "symmetric": self.symmetric,
                "normalization": self.normalization, "barlow_lambda": self.barlow_lambda,
                "vicreg": self.vicreg.model_dump()}

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


def parse_spec(raw: object) -> Spec:
    """Validate a dict as a Spec, turning pydantic's report into a one-line SpecError."""
    if not isinstance(raw, dict):
        raise SpecError(f"a spec must be a JSON/YAML object (mapping of field: value); see {DOCS}")
    try:
        return Spec.model_validate(raw)
    except ValidationError as err:
        raise SpecError(format_validation_error(err, "spec", Spec, DOCS)) from err
    except (TypeError, ValueError, OverflowError) as err:  # numpy on absurd values
        raise SpecError(f"spec: {' '.join(str(err).split())[:200]}; see {DOCS}") from err


def resolve_paths(spec: Spec, base_dir: Path) -> Spec:
    """The spec with a relative `data.samples` path made absolute against `base_dir` (done once, at load)."""
    samples = spec.data.samples
    if samples is None or samples.is_absolute():
        return spec
    return spec.with_updates(**{"data.samples": str((base_dir / samples).resolve())})


def load_spec(path: str | Path) -> Spec:
    """Read a JSON or YAML spec file; a relative sample path is resolved against the file's folder."""
    try:
        raw = read_mapping_file(path, "spec")
    except UserError as err:
        raise SpecError(str(err)) from err
    return resolve_paths(parse_spec(raw), Path(path).parent)
