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

from .errors import FieldError, UserError, format_validation_error
from .io import read_mapping_file
from .objectives.registry import NAMES, PREDICTIVE
from .objectives.registry import OBJECTIVES as REGISTRY

Objective = Literal[NAMES]  # type: ignore[valid-type]  # the objectives registry's names (objectives/registry.py)
Similarity = Literal["dot", "cosine", "euclidean"]
Protocol = Literal["augmented_negatives", "clean_negatives"]
Normalization = Literal["none", "l2", "batch"]
OBJECTIVES: tuple[str, ...] = NAMES


def softmax_candidates(objective: str, batch_size: int) -> int:
    """How many candidates each anchor's softmax runs over in a batch of `batch_size` pairs: N for CLIP-form InfoNCE
    (`infonce`: the other view's N embeddings), 2N − 1 for NT-Xent (`ntxent`: every embedding but itself). With
    embeddings gathered over W ranks pass N·W. A loss stuck with all logits equal sits at log of this count.

    >>> softmax_candidates("infonce", 256), softmax_candidates("ntxent", 256)
    (256, 511)
    """
    if objective == "ntxent":
        return 2 * batch_size - 1
    if objective == "infonce":
        return batch_size
    raise ValueError(f"softmax_candidates applies to infonce and ntxent, not {objective!r}")


Vector = list[float]
Matrix = list[list[float]]
PSD_TOL = 1e-9
DOCS = "docs/spec.md"


class SpecError(UserError, ValueError):
    """A spec (or a file it points to) is wrong; the message names the field and the fix."""


DEFAULT_SPEC = Path(__file__).parent / "specs" / "default.json"  # package data; examples/default.json is its copy
LARGEST = 1e6  # every scalar knob lies in [0, 1e6] (temperature in [1e-6, 1e6]): finite maths, docs/spec.md


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
    """Data statistics: `cov` (vector = diagonal, or matrix) with optional `mean`, or `samples` (a file), or
    `moments` (a moments file of `sslscape estimate`: C = A, μ = μ_v and the augmentation's S = B − A)."""

    cov: Vector | Matrix | None = None
    mean: Vector | None = None
    samples: Path | None = Field(default=None, description=".npy / .npz / .pt / .csv file of shape (n, D)")
    moments: Path | None = Field(default=None, description="moments file (.npz) written by `sslscape estimate`")

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if sum(v is not None for v in (self.cov, self.samples, self.moments)) != 1:
            raise ValueError("give exactly one of 'cov' (vector or matrix), 'samples' (a .npy/.npz/.pt file) or "
                             "'moments' (a moments file of `sslscape estimate`)")
        if self.samples is not None and self.mean is not None:
            raise ValueError("'mean' is estimated from 'samples'; remove 'mean' or give 'cov' instead")
        if self.moments is not None and self.mean is not None:
            raise ValueError("'mean' comes from the moments file; remove 'mean' or give 'cov' instead")
        if self.cov is not None:
            dim = covariance_matrix(self.cov, "data.cov").shape[0]
            if self.mean is not None and len(self.mean) != dim:
                raise FieldError("mean", f"data.mean has length {len(self.mean)} but data.cov is {dim}×{dim}; "
                                 f"give {dim} numbers")
            if self.mean is not None and not np.all(np.isfinite(self.mean)):
                raise FieldError("mean", "data.mean contains NaN or Inf; give finite numbers")
        return self

    @property
    def dim(self) -> int | None:
        """D when given by `cov` (None for a sample file, known once it is read)."""
        return None if self.cov is None else len(self.cov)


class AugmentationSpec(_Strict):
    """Additive-noise augmentation x' = x + ε, ε ~ N(0, noise_scale · noise_cov)."""

    noise_cov: Vector | Matrix | None = None
    noise_scale: Annotated[float, Field(ge=0.0, le=LARGEST, allow_inf_nan=False, strict=True)] = 1.0

    @field_validator("noise_cov")
    @classmethod
    def _covariance(cls, v: Vector | Matrix | None) -> Vector | Matrix | None:
        if v is not None:
            covariance_matrix(v, "augmentation.noise_cov")
        return v


class VICRegWeights(_Strict):
    invariance: Annotated[float, Field(ge=0.0, le=LARGEST, allow_inf_nan=False, strict=True)] = 25.0
    variance: Annotated[float, Field(ge=0.0, le=LARGEST, allow_inf_nan=False, strict=True)] = 25.0
    covariance: Annotated[float, Field(ge=0.0, le=LARGEST, allow_inf_nan=False, strict=True)] = 1.0


class Spec(_Strict):
    """An SSL problem (docs/spec.md); `weight_decay` is γ in + γ Σ_l ‖W_l‖² (explicit L2)."""

    objective: Objective
    similarity: Similarity = "dot"
    protocol: Protocol = "augmented_negatives"
    symmetric: bool = False
    data: DataSpec
    augmentation: AugmentationSpec = AugmentationSpec()
    weight_decay: Annotated[float, Field(ge=0.0, le=LARGEST, allow_inf_nan=False, strict=True)] = 0.0
    temperature: Annotated[float, Field(ge=1 / LARGEST, le=LARGEST, allow_inf_nan=False, strict=True)] = 1.0
    embed_dim: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    depth: Annotated[int, Field(ge=1, le=16)] = 1
    # None: recipe.INIT_SCALE
    init_scale: Annotated[float, Field(gt=0.0, le=LARGEST, allow_inf_nan=False, strict=True)] | None = None
    bias: bool = False
    normalization: Normalization = "none"
    barlow_lambda: Annotated[float, Field(ge=0.0, le=LARGEST, allow_inf_nan=False, strict=True)] = 0.005
    vicreg: VICRegWeights = VICRegWeights()
    ema_decay: Annotated[float, Field(ge=0.0, lt=1.0, strict=True)] = 0.99
    batch_size: Annotated[int, Field(ge=2, le=10_000_000)] | None = None
    seed: int = 0

    @field_validator("objective", mode="before")
    @classmethod
    def _known_objective(cls, v: object) -> object:
        if isinstance(v, str) and v not in OBJECTIVES:
            raise ValueError(f"unknown objective {v!r}; use one of {', '.join(OBJECTIVES)}")
        return v

    @model_validator(mode="before")
    @classmethod
    def _ntxent_default_similarity(cls, raw: object) -> object:
        """NT-Xent is SimCLR's loss: its similarity defaults to cosine (every other objective's to dot)."""
        if isinstance(raw, dict) and raw.get("objective") == "ntxent" and "similarity" not in raw:
            return {**raw, "similarity": "cosine"}
        return raw

    @model_validator(mode="after")
    def _consistent(self) -> Spec:
        if self.objective == "ntxent":
            self._ntxent_fields()
        if self.similarity != "dot" and REGISTRY[self.objective].similarities == ("dot",):
            with_sim = ", ".join(n for n, o in REGISTRY.items() if len(o.similarities) > 1)
            raise FieldError("similarity", f"'similarity' applies to {with_sim} only; {self.objective} is "
                                           "defined with dot products — remove 'similarity' or use normalization "
                                           "'l2' for normalised embeddings")
        if self.symmetric and self.objective != "infonce":
            raise FieldError("symmetric", f"'symmetric' applies to infonce only; {self.objective} has no direction "
                                          "to average — remove it")
        dim, noise = self.data.dim, self.augmentation.noise_cov
        if self.data.moments is not None and noise is not None:
            raise FieldError("augmentation.noise_cov", "augmentation.noise_cov comes from data.moments (S = B − A "
                             "of the moments file); remove it (augmentation.noise_scale still scales S)")
        if dim is not None and noise is not None and len(noise) != dim:
            raise FieldError("augmentation.noise_cov", f"augmentation.noise_cov is {len(noise)}-dimensional but "
                             f"data.cov is {dim}-dimensional; give {dim} entries (vector) or a {dim}×{dim} matrix, "
                             "or fix data.cov")
        return self

    def _ntxent_fields(self) -> None:
        """NT-Xent (SimCLR, Eq. 1): both views are anchors and negatives, normalised by the cosine similarity."""
        if self.protocol != "augmented_negatives":
            raise FieldError("protocol", "'protocol' clean_negatives does not exist for ntxent (its negatives are the "
                                         "batch's other augmented views) — remove it, or use objective infonce")
        if self.similarity == "euclidean":
            raise FieldError("similarity", "'similarity' euclidean is not NT-Xent; use cosine (SimCLR's) or dot")
        if self.symmetric:
            raise FieldError("symmetric", "'symmetric' does not apply to ntxent: every embedding of both views is "
                                          "already an anchor — remove it")
        if self.normalization != "none":
            raise FieldError("normalization", f"'normalization' {self.normalization!r} does not apply to ntxent: it "
                                              "normalises through similarity 'cosine' — remove it")

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
    """The spec with a relative `data.samples` or `data.moments` path made absolute against `base_dir` (done once,
    at load)."""
    for key in ("samples", "moments"):
        path = getattr(spec.data, key)
        if path is not None and not path.is_absolute():
            spec = spec.with_updates(**{f"data.{key}": str((base_dir / path).resolve())})
    return spec


def load_spec(path: str | Path) -> Spec:
    """Read a JSON or YAML spec file; a relative sample path is resolved against the file's folder."""
    try:
        raw = read_mapping_file(path, "spec")
    except UserError as err:
        raise SpecError(str(err)) from err
    return resolve_paths(parse_spec(raw), Path(path).parent)


SpecLike = Spec | dict | str | Path  # what the public entry points take (`as_spec`)


def as_spec(spec: SpecLike) -> Spec:
    """The one coercion at the public entry points (`predict`, `landscape`, `phase_diagram`, `advise`,
    `moments_of`): a Spec as it is, a mapping through `parse_spec`, a JSON/YAML file path through `load_spec`;
    anything else is a one-line SpecError.

    >>> as_spec({"objective": "spectral", "data": {"cov": [4, 1]}}).objective
    'spectral'
    """
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec)
    if isinstance(spec, str | Path):
        return load_spec(spec)
    raise SpecError(f"a spec is a Spec, a mapping of field: value or a JSON/YAML file path, not a "
                    f"{type(spec).__name__}; see {DOCS}")
