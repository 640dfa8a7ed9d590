"""`TrainConfig`: everything a training run needs, validated strictly (unknown keys and wrong types rejected).

    spec       the SSL problem (inline mapping or path to a spec file): objective, τ, γ, d, depth, bias, ...
    model      encoder kind and widths (kind 'auto' = linear / deep linear from spec.depth)
    optimizer  sgd | adam | adamw | lars, and whether γ is explicit L2 (+γ Σ‖W_l‖², the theory's) or decoupled
    data       where x comes from (the spec's Gaussian, a class mixture, Fashion-MNIST, digits, a file, a
               folder) and how views are made (additive noise from the spec, or image augmentations)
    schedule   steps, batch size, lr, warmup, cosine/constant, logging and checkpoint cadence
    seed, device

YAML or JSON. Relative paths (spec file, data files) are relative to the config file's folder.
When training on a dataset (not the spec's Gaussian) the spec's `data` block is unused and may be omitted.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..augment import ImageAugmentConfig
from ..errors import UserError, format_validation_error
from ..io import read_mapping_file
from ..recipe import BATCH, LR, STEPS, start_scale
from ..spec import Spec, load_spec, parse_spec
from ..spec import resolve_paths as resolve_spec_paths

DOCS = "docs/config.md"
PosInt = Annotated[int, Field(ge=1)]
PosFloat = Annotated[float, Field(gt=0.0)]
NonNeg = Annotated[float, Field(ge=0.0)]


class ConfigError(UserError, ValueError):
    """A training config is wrong; the message names the field and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ModelConfig(_Strict):
    kind: Literal["auto", "linear", "deep_linear", "mlp", "resnet18"] = "auto"
    hidden: list[PosInt] = [512, 512]  # MLP backbone widths
    width: PosInt | None = None  # deep-linear hidden width (None → input dim)
    projector: PosInt | None = None  # projector hidden width for mlp/resnet18 (None → a single Linear)
    init_scale: PosFloat | None = None  # linear models: W ≈ init_scale · N(0, 1/D); None → the spec's init_scale,
    #                                     else sslscape.recipe.INIT_SCALE (`TrainConfig.init_scale`)


class OptimizerConfig(_Strict):
    name: Literal["sgd", "adam", "adamw", "lars"] = "adam"
    momentum: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.9
    betas: list[float] = [0.9, 0.999]
    eps: PosFloat = 1e-8
    lars_eta: PosFloat = 0.001
    # 'l2': add the gradient of γ Σ_l ‖W_l‖² (γ = spec.weight_decay; the theory's weight decay).
    # 'decoupled': W ← (1 − 2γ·lr) W after each step (AdamW-style; equals 'l2' for plain SGD only).
    # Default: 'decoupled' for adamw (that is what AdamW means), 'l2' otherwise; adamw with 'l2' is refused.
    weight_decay_mode: Literal["l2", "decoupled"] = "l2"

    @model_validator(mode="before")
    @classmethod
    def _adamw_is_decoupled(cls, raw: object) -> object:
        if isinstance(raw, dict) and raw.get("name") == "adamw":
            if raw.get("weight_decay_mode", "decoupled") != "decoupled":
                raise ValueError("adamw means decoupled weight decay; set weight_decay_mode: decoupled, or use "
                                 "name: adam for the theory's L2 weight decay")
            raw = {**raw, "weight_decay_mode": "decoupled"}
        return raw


class DataConfig(_Strict):
    source: Literal["spec", "mixture", "fashion_mnist", "digits", "file", "folder"] = "spec"
    path: str | None = None  # file / folder / Fashion-MNIST root (None → /usr/share/datasets/fashion-mnist)
    labels: str | None = None  # labels file for source='file'
    subset: PosInt | None = None  # use only the first n training examples (after a seeded shuffle)
    image_size: PosInt = 28  # folder images are resized to this (grey)
    # mixture: within-class covariance and offset from the spec; class k has mean class_means[k] (or, when
    # omitted, class_separation · e_k) and probability class_weights[k] (imbalance studies).
    class_weights: list[NonNeg] | None = None
    class_means: list[list[float]] | None = None
    class_separation: NonNeg = 3.0
    # views: 'noise' = x + ε, ε ~ N(0, S) with S from the spec; 'image' = crop/flip/jitter/blur; 'none'
    augment: Literal["auto", "noise", "image", "none"] = "auto"
    image: ImageAugmentConfig = ImageAugmentConfig()
    eval_size: PosInt = 2048  # clean examples embedded at the end (embeddings.npy) and for spectra


class ScheduleConfig(_Strict):
    steps: PosInt = STEPS  # sslscape.recipe: compare's recipe is the trainer's default
    batch_size: Annotated[int, Field(ge=2)] | None = None  # None → spec.batch_size, else recipe.BATCH (1024)
    lr: PosFloat = LR
    kind: Literal["cosine", "constant"] = "cosine"
    warmup_steps: Annotated[int, Field(ge=0)] = 0
    min_lr_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    log_every: PosInt = 100
    checkpoint_every: PosInt = 1000


class EvalConfig(_Strict):
    knn: bool = True
    knn_k: PosInt = 20
    linear_probe: bool = False
    max_train: PosInt = 20000  # kNN bank / probe training-set cap (CPU time)


SYNTHETIC = ("spec", "mixture")


class TrainConfig(_Strict):
    spec: Spec | str
    model: ModelConfig = ModelConfig()
    optimizer: OptimizerConfig = OptimizerConfig()
    data: DataConfig = DataConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    eval: EvalConfig = EvalConfig()
    seed: int = 0
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"

    @model_validator(mode="before")
    @classmethod
    def _placeholder_data(cls, raw: object) -> object:
        # A dataset run does not use the spec's Gaussian; let users leave out the spec's required `data`.
        if isinstance(raw, dict) and isinstance(raw.get("spec"), dict) and "data" not in raw["spec"]:
            data = raw.get("data")
            source = data.get("source", "spec") if isinstance(data, dict) else "spec"
            if source not in SYNTHETIC:
                raw = {**raw, "spec": {**raw["spec"], "data": {"cov": [1.0]}}}
        return raw

    def resolved_spec(self) -> Spec:
        """The spec (a spec given as a path is read, relative to the working directory)."""
        return self.spec if isinstance(self.spec, Spec) else load_spec(self.spec)

    def init_scale(self, spec: Spec) -> float:
        """The linear models' initial scale: model.init_scale, else the spec's `init_scale` (the theory's start),
        else sslscape.recipe.INIT_SCALE; ConfigError when the two are set and differ."""
        own, theirs = self.model.init_scale, spec.init_scale
        if own is not None and theirs is not None and own != theirs:
            raise ConfigError(f"model.init_scale = {own:g} but spec.init_scale = {theirs:g}: set one of them (the "
                              f"spec's is the one the theory predicts from; {DOCS})")
        return own if own is not None else start_scale(spec)

    def batch_size(self, spec: Spec) -> int:
        return self.schedule.batch_size or spec.batch_size or BATCH

    def trajectory_hash(self) -> str:
        """Hash of every field that changes the trajectory (not logging/checkpoint cadence, device or eval):
        stored in checkpoints so that resuming with a different config is refused."""
        raw = self.model_dump(mode="json")
        raw["schedule"].pop("log_every")
        raw["schedule"].pop("checkpoint_every")
        raw.pop("device")
        raw.pop("eval")
        return hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:16]


def parse_config(raw: object) -> TrainConfig:
    """Validate a mapping as a TrainConfig; errors become one-line ConfigErrors naming the field."""
    if not isinstance(raw, dict):
        raise ConfigError("a training config must be a YAML/JSON mapping with at least a 'spec' key")
    if isinstance(raw.get("spec"), dict):  # validate the spec with its own one-line messages first
        parse_spec(TrainConfig._placeholder_data(raw)["spec"])
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, "training config", TrainConfig, DOCS)) from err


def resolve_paths(config: TrainConfig, base_dir: Path) -> TrainConfig:
    """The config with every relative path (spec file, data file, labels, folder) made absolute against `base_dir`
    — done once, when the config file is read — and a spec given as a path loaded into the config."""
    spec = config.spec
    if isinstance(spec, str):
        path = Path(spec) if Path(spec).is_absolute() else base_dir / spec
        spec = load_spec(path)
    else:
        spec = resolve_spec_paths(spec, base_dir)
    data = config.data
    updates = {k: str((base_dir / v).resolve()) for k in ("path", "labels")
               if (v := getattr(data, k)) is not None and not Path(v).is_absolute()}
    return config.model_copy(update={"spec": spec, "data": data.model_copy(update=updates)})


def load_config(path: str | Path) -> TrainConfig:
    """Read a YAML/JSON training config; relative paths resolve against its folder (every field: docs/config.md)."""
    try:
        raw = read_mapping_file(path, "config")
    except UserError as err:
        raise ConfigError(str(err)) from err
    return resolve_paths(parse_config(raw), Path(path).parent)
