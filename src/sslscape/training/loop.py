"""The training loop: exact sample losses from `sslscape.objectives`, + γ Σ‖W_l‖², one step at a time.

One step (all on the device, no DataLoader):

    x            ← source.batch(step)                  (Gaussian: randn @ Lᵀ + μ from the run's generator)
    anchor, pos  ← make_views(x, augment, spec.protocol)
    loss         = view_loss(objective, f(anchor), f(pos), f(anchor) if clean negatives, **hyper)  (InfoNCE, …)
                 | simsiam_loss(h(f(a)), h(f(p)), f(a), f(p)) | byol_loss(.., target(a), target(p))
    grad        += 2γ W_l                              (explicit L2; or decoupled shrink after the step)
    optimiser step at lr(step); EMA target update (BYOL)

Every `log_every` steps a JSON line goes to metrics.jsonl (mean loss of the window, lr, L2 penalty,
spectrum, effective rank, rank); every `checkpoint_every` steps an atomic, checksummed checkpoint (the previous one
is kept). `train(..., resume=True)` continues from the newest good checkpoint and ends bit-identically where an
uninterrupted run ends, whatever the moment the process was killed (tests/training/test_loop.py,
tests/reliability/test_crash.py); resuming a finished run changes nothing. A loss that becomes NaN/Inf stops the
run with a UserError naming the step and the last finite checkpoint; Ctrl-C raises TrainingInterrupted naming the
last checkpoint. One process per output folder (a lock); torch threads: `sslscape.threads` (restored afterwards).
On CUDA the forward pass runs under bf16 autocast; on CPU everything is fp32 and deterministic for a seed.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..augment import Augment, Identity, ImageAugment, NoiseAugment, make_views
from ..diagnostics.probe import knn_accuracy, linear_probe_accuracy
from ..errors import UserError
from ..io import (
    append_jsonl,
    atomic_write_text,
    fault_fire,
    fault_point,
    folder_lock,
    json_default,
    read_jsonl,
    remove_stale_temporaries,
)
from ..moments import moments_of, psd_factor
from ..objectives import PREDICTIVE, byol_loss, simsiam_loss, view_loss
from ..result import Result
from ..spec import Spec, covariance_matrix
from ..threads import resolve_threads, torch_threads
from .checkpoint import (
    CHECKPOINT,
    PREVIOUS,
    atomic_save_npy,
    atomic_write_json,
    load_latest,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from .config import TrainConfig
from .data import ArraySource, GaussianSource, build_source
from .metrics import Measured, measure_embeddings, measure_population
from .models import (
    DeepLinearEncoder,
    EMATarget,
    LinearEncoder,
    MLPBackbone,
    ResNet18,
    SSLModel,
    linear_predictor,
    projector,
)
from .optim import add_l2_grad, build_optimizer, decoupled_decay, l2_penalty, lr_at

DEFAULT_DEEP_EMBED = 128  # embed_dim for MLP / ResNet when the spec leaves it unset
SPECTRUM_SAMPLES = 2048  # clean eval examples behind a logged sample spectrum (d ≤ a few hundred)
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"


@dataclass(frozen=True)
class TrainResult(Result):
    """What a run ends with. `spectrum` is descending; `rank` is the collapse rank (train/metrics.py)."""

    steps: int
    final_loss: float
    spectrum: tuple[float, ...]
    effective_rank: float
    rank: int
    knn_accuracy: float | None
    linear_probe_accuracy: float | None
    samples_per_s: float
    wall_s: float
    config_hash: str
    out_dir: str | None
    model: SSLModel = field(repr=False, compare=False)
    already_finished: bool = field(default=False, compare=False)  # `resume` found the run finished: nothing ran
    # which data each figure is measured on (`measured_on`): spectrum/rank/effective rank, then kNN/probe ("" if none)
    spectrum_on: str = ""
    accuracy_on: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict without the model; a non-finite loss becomes None (summary.json stays valid JSON)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("model", "already_finished")}
        return _finite(json.loads(json.dumps(d, default=json_default)))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device 'cuda' requested but no CUDA GPU is available; use device: cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserError("device 'mps' requested but MPS is not available; use device: cpu or auto")
    return torch.device(name)


def build_model(config: TrainConfig, spec: Spec, source: GaussianSource | ArraySource,
                generator: torch.Generator) -> SSLModel:
    """Encoder from the spec (depth, bias, embed_dim; None → input dim for linear models) and model config."""
    m = config.model
    kind = m.kind if m.kind != "auto" else ("linear" if spec.depth == 1 else "deep_linear")
    in_dim = source.dim
    if kind in ("linear", "deep_linear"):
        d = spec.embed_dim or in_dim
        if kind == "linear" or spec.depth == 1:
            backbone = LinearEncoder(in_dim, d, bias=spec.bias, init_scale=config.init_scale(spec),
                                     generator=generator)
        else:
            backbone = DeepLinearEncoder(in_dim, d, depth=spec.depth, width=m.width, bias=spec.bias,
                                         init_scale=config.init_scale(spec), generator=generator)
        head = None
    elif kind == "mlp":
        d = spec.embed_dim or DEFAULT_DEEP_EMBED
        backbone = MLPBackbone(in_dim, list(m.hidden))
        head = projector(backbone.out_dim, m.projector, d)
    else:
        if not source.is_image:
            raise UserError("model.kind 'resnet18' needs image data (fashion_mnist, digits, folder or an "
                            "(n, C, H, W) file); use 'mlp' or 'linear' for vectors")
        d = spec.embed_dim or DEFAULT_DEEP_EMBED
        backbone = ResNet18(in_channels=source.shape[0])
        head = projector(backbone.out_dim, m.projector, d)
    predictor = linear_predictor(d, generator) if spec.objective in PREDICTIVE else None
    return SSLModel(backbone, head, predictor)


def build_augment(config: TrainConfig, spec: Spec, source: GaussianSource | ArraySource,
                  noise_cov: np.ndarray, device: torch.device) -> Augment:
    kind = config.data.augment
    if kind == "auto":
        kind = "image" if source.is_image else "noise"
    if kind == "none":
        return Identity()
    if kind == "image":
        if not source.is_image:
            raise UserError("data.augment 'image' needs image data; use 'noise' (the spec's noise_cov) for "
                            "vectors")
        return ImageAugment(config.data.image)
    if noise_cov.shape[0] != source.dim:
        raise UserError(f"the spec's augmentation.noise_cov is {noise_cov.shape[0]}-dimensional but the data "
                        f"is {source.dim}-dimensional; give {source.dim} entries or set data.augment: none")
    if not np.any(noise_cov):
        return NoiseAugment(None)
    factor = torch.as_tensor(psd_factor(noise_cov), dtype=torch.float32, device=device)
    if source.is_image:
        raise UserError("additive-noise augmentation is for vector data; use data.augment: image for images")
    return NoiseAugment(factor)


def ssl_loss(spec: Spec, model: SSLModel, target: EMATarget | None, anchor: Tensor, positive: Tensor,
             clean_negatives: bool) -> Tensor:
    """The spec's exact sample loss on one batch of views (weight decay excluded)."""
    if spec.objective in PREDICTIVE:
        z1, z2 = model.embed(anchor), model.embed(positive)
        p1, p2 = model.predictor(z1), model.predictor(z2)
        if spec.objective == "simsiam":
            return simsiam_loss(p1, p2, z1, z2, similarity=spec.similarity)
        with torch.no_grad():
            t1, t2 = target.embed(anchor), target.embed(positive)
        return byol_loss(p1, p2, t1, t2, similarity=spec.similarity)
    za, zp = model.embed(anchor), model.embed(positive)
    return view_loss(spec.objective, za, zp, za if clean_negatives else None, **spec.loss_kwargs())


class _Run:
    """Everything built from a config: spec, source, model, optimiser, generator."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.spec = config.resolved_spec()
        self.device = resolve_device(config.device)
        synthetic = config.data.source in ("spec", "mixture")
        moments = moments_of(self.spec) if synthetic else None
        self.source = build_source(config.data, moments, self.device, config.seed)
        noise = moments.noise_cov if moments is not None else _dataset_noise(self.spec, self.source.dim)
        init_gen = torch.Generator().manual_seed(config.seed)
        # MLP/ResNet layers initialise from torch's global generator: seed it inside fork_rng, which restores the
        # caller's global RNG state afterwards (a library call leaves no global state changed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.model = build_model(config, self.spec, self.source, init_gen).to(self.device)
        self.target = EMATarget(self.model, self.spec.ema_decay) if self.spec.objective == "byol" else None
        self.augment = build_augment(config, self.spec, self.source, noise, self.device)
        self.decayed = self.model.decayed_parameters()
        self.optimizer = build_optimizer([p for p in self.model.parameters() if p.requires_grad],
                                         config.optimizer, config.schedule.lr)
        self.gen = torch.Generator(device=self.device).manual_seed(config.seed)
        self.batch_size = config.batch_size(self.spec)
        self.cov = getattr(self.source, "cov", None)

    @property
    def population(self) -> bool:
        """Whether the spectrum is exact: a linear encoder on the spec's Gaussian, eig(W C Wᵀ)."""
        return self.model.effective_weight() is not None and type(self.source) is GaussianSource

    @torch.no_grad()
    def measure(self) -> Measured:
        """Spectrum, collapse rank and effective rank now (train/metrics.py: one measurement core)."""
        if self.population:
            return measure_population(self.model.effective_weight(), self.cov)  # exact: eig(W C Wᵀ)
        was_training = self.model.training
        self.model.eval()
        z = self.model.embed(self.source.eval_set().x[:SPECTRUM_SAMPLES])
        self.model.train(was_training)
        return measure_embeddings(z.float())

    @torch.no_grad()
    def features(self, x: Tensor, embed: bool = False, chunk: int = 4096) -> Tensor:
        self.model.eval()
        fn = self.model.embed if embed else self.model.represent
        out = torch.cat([fn(x[i:i + chunk]) for i in range(0, x.shape[0], chunk)])
        self.model.train()
        return out.float()


def _dataset_noise(spec: Spec, dim: int) -> np.ndarray:
    """S for a dataset run: the spec's noise_cov (vector = diagonal) × noise_scale, or 0 (its size is checked by
    `build_augment`, only when the run augments with noise)."""
    noise = spec.augmentation.noise_cov
    if noise is None:
        return np.zeros((dim, dim))
    return spec.augmentation.noise_scale * covariance_matrix(noise, "augmentation.noise_cov")


Progress = Callable[[int, int, dict[str, Any]], None]  # (steps done, total, last logged metrics)


def flush_denormal_enabled() -> bool:
    """Whether torch flushes float32 subnormals to zero now (torch has no getter: a subnormal times 1 tells)."""
    return bool((torch.tensor([1e-39], dtype=torch.float32) * 1.0).item() == 0.0)


@contextlib.contextmanager
def flush_denormal() -> Iterator[None]:
    """Flush subnormals to zero inside, and put the caller's setting back afterwards.

    Collapsed directions decay towards 0 through the float32 subnormal range, where CPU arithmetic is ~100×
    slower (a spectral run went from 2.5 s to 82 s); flushing them to zero changes nothing measurable.
    """
    before = flush_denormal_enabled()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop metric lines after `step` (written before an interruption) and a torn last line: a resumed file equals a
    fresh one."""
    if not path.is_file():
        return
    keep = [r for r in read_jsonl(path) if isinstance(r, dict) and _step_of(r, step + 1) <= step]
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in keep))


def _step_of(record: dict[str, Any], default: int) -> int:
    step = record.get("step", default)
    return step if isinstance(step, int) and not isinstance(step, bool) else default


OUTPUTS = (CHECKPOINT, PREVIOUS, METRICS, SUMMARY, "embeddings.npy", "labels.npy")


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, which the CLI turns into it) stopped `train`; says where to resume from.

    A KeyboardInterrupt, so that scripts stop as they would anyway; `checkpoint` is the newest checkpoint on disk
    (None when none was written yet), `checkpoint_step` its step, `step` the step reached.
    """

    def __init__(self, step: int, total: int, checkpoint: Path | None, checkpoint_step: int | None) -> None:
        self.step, self.total, self.checkpoint, self.checkpoint_step = step, total, checkpoint, checkpoint_step
        where = (f"the last checkpoint is {checkpoint} (step {checkpoint_step})" if checkpoint is not None
                 else "no checkpoint was written yet")
        super().__init__(f"interrupted at step {step} of {total}; {where}")


def train(config: TrainConfig, out_dir: str | Path | None = None, *, resume: bool = False,
          stop_after: int | None = None, progress: Progress | None = None, threads: int | None = None,
          say: Callable[[str], None] | None = None) -> TrainResult:
    """Train the config's model; write checkpoint.pt, metrics.jsonl, embeddings.npy, summary.json to out_dir.

    `resume=True` continues from out_dir/checkpoint.pt (refused if written by another config; a truncated or
    corrupt one is reported with a CheckpointWarning and the previous one, checkpoint.prev.pt, is used). Resuming a
    finished run changes nothing and returns its recorded result with `already_finished=True`. Without `resume`
    the folder's earlier outputs are removed first. `stop_after` ends the loop after that many total steps without
    the final outputs, as an interruption would. `progress(done, total, metrics)` is called every few steps (the CLI
    draws a bar with it). `threads`: torch threads for the run (None: `sslscape.threads.resolve_threads`), restored
    afterwards. One process per out_dir: a second one gets a UserError (`sslscape.io.folder_lock`).
    Ctrl-C raises `TrainingInterrupted` (a KeyboardInterrupt) naming the last checkpoint. `say(line)` gets one line
    with `resume`: "resumed from step S of T (checkpoint …)", or that there was no checkpoint to resume from.
    """
    out = Path(out_dir) if out_dir is not None else None
    lock = folder_lock(out, "training run") if out is not None else contextlib.nullcontext()
    with torch_threads(resolve_threads(threads)), lock:
        return _train(config, out, resume, stop_after, progress, say)


def _newest_checkpoint(out: Path | None) -> Path | None:
    if out is None:
        return None
    return next((out / n for n in (CHECKPOINT, PREVIOUS) if (out / n).is_file()), None)


def _recorded_result(out: Path, config_hash: str, steps: int, model: SSLModel) -> TrainResult | None:
    """The result summary.json records for a finished run of this config, or None (missing, torn or another run)."""
    try:
        summary = json.loads((out / SUMMARY).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or summary.get("config_hash") != config_hash or summary.get("steps") != steps:
        return None
    try:
        kept = {k: summary[k] for k in ("steps", "final_loss", "effective_rank", "rank", "knn_accuracy",
                                        "linear_probe_accuracy", "samples_per_s", "wall_s")}
        return TrainResult(**kept, spectrum=tuple(summary["spectrum"]), config_hash=config_hash, out_dir=str(out),
                           model=model, already_finished=True, spectrum_on=str(summary.get("spectrum_on", "")),
                           accuracy_on=str(summary.get("accuracy_on", "")))
    except (KeyError, TypeError):
        return None


def _train(config: TrainConfig, out: Path | None, resume: bool, stop_after: int | None,
           progress: Progress | None, say: Callable[[str], None] | None = None) -> TrainResult:
    run = _Run(config)
    spec, sched, model, opt = run.spec, config.schedule, run.model, run.optimizer
    ckpt_path = out / CHECKPOINT if out is not None else None
    metrics_path = out / METRICS if out is not None else None
    config_hash = config.trajectory_hash()
    gamma, mode = spec.weight_decay, config.optimizer.weight_decay_mode
    start, last_ckpt_step, wall_before, last_loss = 0, None, 0.0, float("nan")
    window = torch.zeros((), device=run.device)
    window_n = 0
    found = None
    if out is not None:
        remove_stale_temporaries(out, OUTPUTS)
        found = load_latest(out, config_hash) if resume else None
        if found is None:  # a fresh run: nothing of an earlier run stays to be mixed with this one
            for name in OUTPUTS:
                (out / name).unlink(missing_ok=True)
            atomic_write_text(metrics_path, "")
    if resume and found is None and say is not None:
        say(f"no checkpoint to resume from in {out}; training from step 0 of {sched.steps}")
    if found is not None:
        ckpt, ckpt_file = found
        model.load_state_dict(ckpt["model"])
        if run.target is not None:
            run.target.load_state_dict(ckpt["target"])
        opt.load_state_dict(ckpt["optimizer"])
        set_rng_state(run.gen, ckpt["rng"])
        start = last_ckpt_step = ckpt["step"]
        window, window_n = ckpt["window"].to(run.device), ckpt["window_n"]
        wall_before, last_loss = ckpt["wall_s"], ckpt["last_loss"]
        if start >= sched.steps:
            recorded = _recorded_result(out, config_hash, sched.steps, model)
            if recorded is not None:
                return recorded  # finished: nothing is recomputed or rewritten
        if say is not None:
            say(f"resumed from step {start} of {sched.steps} (checkpoint {ckpt_file})")
        _truncate_metrics(metrics_path, start)
    stop = sched.steps if stop_after is None else min(sched.steps, stop_after)
    check_every = 1 if run.device.type == "cpu" else sched.log_every  # a sync per step is free on CPU only
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if run.device.type == "cuda"
                else contextlib.nullcontext())
    t0 = time.perf_counter()

    def checkpoint(step: int) -> None:
        nonlocal last_ckpt_step
        if ckpt_path is None:
            return
        save_checkpoint(ckpt_path, {
            "config_hash": config_hash, "step": step, "model": model.state_dict(),
            "target": run.target.state_dict() if run.target is not None else None,
            "optimizer": opt.state_dict(), "rng": rng_state(run.gen), "window": window.cpu(),
            "window_n": window_n, "last_loss": last_loss, "wall_s": wall_before + time.perf_counter() - t0,
            "config": config.model_dump(mode="json")})
        last_ckpt_step = step

    def fail(step: int, value: float) -> UserError:
        where = (f"the last finite checkpoint is {ckpt_path} (step {last_ckpt_step})" if last_ckpt_step
                 else "no checkpoint was written yet")
        return UserError(f"loss became {value} at step {step}; {where}. Lower schedule.lr, add warmup or "
                         "raise spec.weight_decay")

    last_line: dict[str, Any] = {}
    done = start
    try:
        with flush_denormal():
            for step in range(start, stop):
                lr = lr_at(step, sched)
                for group in opt.param_groups:
                    group["lr"] = lr
                batch = run.source.batch(step, run.batch_size, run.gen)
                anchor, positive, clean = make_views(batch.x, run.augment, spec.protocol, run.gen)
                with autocast:
                    loss = ssl_loss(spec, model, run.target, anchor, positive, clean)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if mode == "l2":
                    add_l2_grad(run.decayed, gamma)
                opt.step()
                if mode == "decoupled":
                    decoupled_decay(run.decayed, gamma, lr)
                if run.target is not None:
                    run.target.update(model)
                window += loss.detach().float()
                window_n += 1
                done = step + 1
                if done % check_every == 0 and not torch.isfinite(window):
                    raise fail(done, float(loss.detach()))
                if done % sched.log_every == 0 or done == sched.steps:
                    last_loss = float(window) / window_n
                    if not np.isfinite(last_loss):
                        raise fail(done, last_loss)
                    m = run.measure()
                    line = {"step": done, "loss": last_loss, "lr": lr,
                            "penalty": gamma * float(l2_penalty(run.decayed)),
                            "effective_rank": m.effective_rank, "rank": m.rank, "spectrum": m.spectrum.tolist()}
                    if metrics_path is not None:
                        append_jsonl(metrics_path, line)
                    window, window_n = torch.zeros((), device=run.device), 0
                    last_line = line
                if done % sched.checkpoint_every == 0 or done == sched.steps:
                    if window_n and not torch.isfinite(window):
                        raise fail(done, float(loss.detach()))
                    checkpoint(done)
                if progress is not None and (done % 10 == 0 or done == stop):
                    progress(done, sched.steps, last_line)
                if (action := fault_point("step")) is not None:
                    fault_fire(action)
        wall = wall_before + time.perf_counter() - t0
        if stop < sched.steps:  # interrupted on purpose: no final outputs
            rate = max(0, stop - start) * run.batch_size / max(wall - wall_before, 1e-9)
            return TrainResult(stop, last_loss, (), 0.0, 0, None, None, rate, wall, config_hash,
                               str(out) if out else None, model)
        return _finish(run, out, last_loss, wall, config_hash)
    except KeyboardInterrupt as exc:
        if isinstance(exc, TrainingInterrupted):
            raise
        newest = _newest_checkpoint(out)
        raise TrainingInterrupted(done, sched.steps, newest,
                                  last_ckpt_step if newest is not None else None) from exc


def measured_on(run: _Run, n_bank: int | None) -> tuple[str, str]:
    """What the final figures are measured on, in words (summary.json `spectrum_on`, `accuracy_on`; the CLI prints
    them): the split and sample count behind the spectrum / rank / effective rank, and behind kNN / probe ("" when
    there are no labels)."""
    evalset = run.source.eval_set()
    bank_split, eval_split = (("train split", "test split") if isinstance(run.source, ArraySource)
                              else ("labelled draws", "held-out draws"))
    n_eval = int(evalset.x.shape[0])
    spectrum_on = ("the population: exact eig(W C Wᵀ) of the linear encoder on the spec's Gaussian "
                   f"(embeddings.npy holds {n_eval} {eval_split})" if run.population else
                   f"embeddings.npy: the embeddings of the {eval_split}, {n_eval} samples")
    accuracy_on = "" if n_bank is None else (
        f"representations (the encoder's output, before any projector), fitted on the {bank_split} ({n_bank} "
        f"samples), scored on the {eval_split} ({n_eval} samples)")
    return spectrum_on, accuracy_on


def _finish(run: _Run, out: Path | None, last_loss: float, wall: float, config_hash: str) -> TrainResult:
    """Final measurement, kNN / probe and the final outputs (embeddings, labels, then summary.json last: a run is
    finished when its summary exists). Fault point 'final-outputs' (tests) falls between the two. The final
    spectrum is the exact population one for a linear encoder on the spec's Gaussian, else that of the embeddings
    written to embeddings.npy (so `sslscape diagnose embeddings.npy` reports the summary's effective rank)."""
    config = run.config
    evalset = run.source.eval_set()
    embeddings = run.features(evalset.x, embed=True)
    measured = run.measure() if run.population else measure_embeddings(embeddings)
    knn = probe = n = None
    if evalset.y is not None:
        bank = run.source.train_set()
        n = min(config.eval.max_train, bank.x.shape[0])
        ftr, fte = run.features(bank.x[:n]), run.features(evalset.x)
        if config.eval.knn:
            knn = knn_accuracy(ftr, bank.y[:n], fte, evalset.y, k=config.eval.knn_k)
        if config.eval.linear_probe:
            probe = linear_probe_accuracy(ftr, bank.y[:n], fte, evalset.y, seed=config.seed)
    spectrum_on, accuracy_on = measured_on(run, n)
    result = TrainResult(
        steps=config.schedule.steps, final_loss=last_loss, spectrum=tuple(measured.spectrum.tolist()),
        effective_rank=measured.effective_rank, rank=measured.rank, knn_accuracy=knn,
        linear_probe_accuracy=probe, samples_per_s=config.schedule.steps * run.batch_size / max(wall, 1e-9),
        wall_s=wall, config_hash=config_hash, out_dir=str(out) if out else None, model=run.model,
        spectrum_on=spectrum_on, accuracy_on=accuracy_on)
    if out is not None:
        atomic_save_npy(out / "embeddings.npy", embeddings.cpu().numpy())
        if evalset.y is not None:
            atomic_save_npy(out / "labels.npy", evalset.y.cpu().numpy())
        if (action := fault_point("final-outputs")) is not None:
            fault_fire(action)
        summary = {**result.to_dict(), "config": config.model_dump(mode="json")}
        atomic_write_json(out / SUMMARY, summary, fault="summary-write")
    return result


def _finite(record: dict[str, Any]) -> dict[str, Any]:
    """NaN/Inf floats → None: summary.json stays valid JSON (json.dumps would write the non-standard NaN)."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
