"""A collapse monitor for your own training loop: measures, compares with the theory, and says what went wrong.

    from sslscape.monitor import CollapseMonitor
    monitor = CollapseMonitor("runs/a/monitor.jsonl", every=100, objective="simsiam")
    for step, batch in enumerate(loader):
        z1, z2 = model(view1), model(view2)                 # (B, d) embeddings the loss sees
        loss = ...
        monitor(z1, step, loss=loss, z2=z2)                 # every 100 steps: one JSON line, messages in words

Call it at every step: on the steps between logs it only keeps the embeddings in a queue of recent rows (when
the batch alone is too small: B ≤ 2d keeps the last 4d rows; `queue=` sets it), as stable-pretraining's RankMe
and LiDAR callbacks do, so a batch of B ≤ d embeddings does not cap the directions it can see. Every `every`
steps it takes the queued embeddings (gathered across ranks under torch.distributed: DDP with NCCL or gloo),
measures them with `diagnose` — the spectrum, the collapse rank and its knee, effective rank, RankMe, α-ReQ,
normalised std and, from the two views `z2=` (or `views=`) of the same samples, LiDAR (never re-implemented here)
— and appends one JSON line (`sslscape.io.append_jsonl`). Given a spec
(`spec=`), or measured feature moments of a backbone with the projector's objective and weight decay
(`moments=`, `objective=`, `weight_decay=`), the line also holds the theory's predicted rank beside the measured
one (`sslscape.expectation.theory_expectation`). `figure="monitor.png"` redraws a live figure (spectrum; ranks over
steps) at every log (`sslscape.report.figures`). Collapse signatures (`sslscape.diagnostics.signatures`) are said
once when they appear, through `say` (default: the `sslscape.monitor` logger at WARNING level), with the likely
cause and the knob to turn.

`CollapseMonitorCallback` (Lightning) wraps it: `training_step` returns a dict with the embeddings under `key`
(and the loss, and optionally `loss_terms` and the other view under `views_key`); it warns once when the step's
output holds no embeddings (a `training_step` that returns the loss alone). It is built on first access, so
importing `sslscape.monitor` never imports Lightning.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .diagnostics.diagnosis import diagnose
from .diagnostics.rank import agreement
from .diagnostics.signatures import Context, Signature, detect
from .diagnostics.spectrum import EmbeddingError
from .errors import UserError
from .expectation import Expectation
from .io import append_jsonl
from .objectives.registry import NAMES

LOGGER = logging.getLogger("sslscape.monitor")
OBJECTIVES = NAMES  # the objectives registry (sslscape.objectives.registry)
HISTORY = 256  # compact records kept for the detectors and the figure
QUEUE_BATCH = 2  # queue="auto": a batch of B ≤ 2d rows is topped up with the preceding steps' rows …
QUEUE_ROWS = 4  # … up to 4d rows (a well-conditioned d × d covariance: N ≥ 4d)
VICREG_KEYS = ("variance", "covariance")


# ---- torch.distributed ---------------------------------------------------------------------------------------------

def _dist() -> Any:
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch without distributed support
        return None
    return dist if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1 else None


def gather_embeddings(z: Any) -> tuple[Any, int]:
    """(embeddings of every rank stacked, world size): `all_gather` of each rank's (B_r, d) batch under an
    initialised torch.distributed group (sizes may differ between ranks), else (z, 1). Every rank gets the whole.
    A collective: every rank must call it at the same step."""
    dist = _dist()
    if dist is None:
        return z, 1
    import torch

    t = torch.as_tensor(z).detach()
    if t.dtype not in (torch.float32, torch.float64):
        t = t.float()  # gloo has no bfloat16/float16 all_gather; float32 holds those values exactly
    world = dist.get_world_size()
    size = torch.tensor([t.shape[0]], device=t.device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    most = int(max(s.item() for s in sizes))
    padded = torch.zeros((most, *t.shape[1:]), dtype=t.dtype, device=t.device)
    padded[: t.shape[0]] = t
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded.contiguous())
    return torch.cat([p[: int(s.item())] for p, s in zip(parts, sizes, strict=True)]), world


def gather_views(v: Any) -> Any:
    """`gather_embeddings` for (B, q, d) views: flattened to (B, q·d) rows, gathered, reshaped."""
    if v is None or _dist() is None:
        return v
    import torch

    t = torch.as_tensor(v)
    return gather_embeddings(t.reshape(t.shape[0], -1))[0].reshape(-1, *t.shape[1:])


def _mean_over_ranks(values: list[float]) -> list[float]:
    dist = _dist()
    if dist is None or not values:
        return values
    import torch

    t = torch.tensor(values, dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return (t / dist.get_world_size()).cpu().tolist()


def _is_main() -> bool:
    dist = _dist()
    return dist is None or dist.get_rank() == 0


def _scalar(v: Any) -> float | None:
    if v is None:
        return None
    try:
        return float(v.detach().float().item() if hasattr(v, "detach") else v)
    except (TypeError, ValueError) as exc:
        raise UserError(f"loss / loss_terms values must be numbers or 0-d tensors, got {type(v).__name__}") from exc


def _views_of(z: Any, z2: Any, views: Any) -> Any:
    """(B, q, d) views from `z2` (the other view of the same B samples: q = 2, with `z`) or `views`."""
    if z2 is not None and views is not None:
        raise UserError("give z2= (the second view) or views= (B, q, d), not both")
    if z2 is None:
        return views
    if tuple(getattr(z2, "shape", ())) != tuple(getattr(z, "shape", ())):
        raise UserError(f"z2 must have the shape of z, {tuple(getattr(z, 'shape', ()))}: the other view of the same "
                        f"samples; got {tuple(getattr(z2, 'shape', ()))}")
    if hasattr(z, "detach"):
        import torch

        return torch.stack([z.detach(), torch.as_tensor(z2).detach().to(z.device, z.dtype)], dim=1)
    return np.stack([np.asarray(z), np.asarray(z2)], axis=1)


def _detached(x: Any, keep: bool) -> Any:
    """The rows as the measurement sees them: detached; copied when they are kept past this step (the caller's
    buffer may be overwritten); half precision widened to float32 (which holds it exactly)."""
    if hasattr(x, "detach"):
        import torch

        t = x.detach()
        if t.dtype in (torch.float16, torch.bfloat16):
            return t.float()
        return t.clone() if keep else t
    return np.array(x, copy=True) if keep else x


def _concat(parts: list[Any]) -> Any:
    """Rows of several steps stacked (torch on the last step's device, numpy otherwise)."""
    if hasattr(parts[0], "detach"):
        import torch

        dev = parts[-1].device
        dtype = torch.float64 if any(q.dtype == torch.float64 for q in parts) else parts[-1].dtype
        return torch.cat([torch.as_tensor(q).to(dev, dtype) for q in parts])
    return np.concatenate([np.asarray(q) for q in parts])


def _vicreg_terms(z: Any) -> tuple[float, float]:
    """VICReg's unweighted variance hinge and covariance term of (N, d) embeddings — `sslscape.objectives.vicreg`'s
    own definitions, on the (gathered) batch."""
    import torch

    from .objectives.vicreg import covariance_term, variance_term

    t = torch.as_tensor(z).detach().double()
    return float(variance_term(t)), float(covariance_term(t))


# ---- the monitor ----------------------------------------------------------------------------------------------------

class CollapseMonitor:
    """Watch a training run for collapse (module docstring). `monitor(z, step, loss=, loss_terms=)` returns the
    logged record (a dict) on logged steps and None otherwise.

    path         JSONL file (one line per log; None: keep records in memory only, `monitor.records`)
    every        log every `every` steps (step % every == 0)
    objective    'infonce' | 'ntxent' | 'spectral' | 'barlow' | 'vicreg' | 'simsiam' | 'byol' (enables the
                 objective's signatures and words its causes; default: the spec's)
    candidates   softmax candidates per anchor, for the "stuck at log K" test (default: from the objective and
                 the batch, `sslscape.spec.softmax_candidates`: B for `infonce` (CLIP form), 2B − 1 for `ntxent`;
                 under DDP also B·W and 2B·W − 1, for a loss that gathers the embeddings of W ranks)
    queue        rows of recent embeddings (per rank) measured at each log: 'auto' (the batch alone when B > 2d,
                 else the last 4d rows), 0 (the batch alone) or a number of rows
    spec         a Spec, a spec dict or a spec file: the theory's predicted rank beside the measured one, and the
                 knob to turn from the theory
    moments      `FeatureMoments` of the backbone's features (with `weight_decay`, `objective`, `embed_dim` =
                 the embeddings' d unless given, `center`, `theory_fields`): the projector's predicted rank;
                 `set_moments` replaces them during training
    keep         directions the knob advice aims to keep (default: the most the run has shown so far)
    figure       png/pdf/svg path: a live figure redrawn at every log (rank 0 only)
    say          where messages go (default: the `sslscape.monitor` logger, WARNING)
    """

    def __init__(self, path: str | Path | None = None, every: int = 100, *, objective: str | None = None,
                 candidates: int | None = None, spec: Any = None, moments: Any = None,
                 weight_decay: float | None = None, embed_dim: int | None = None, center: bool = True,
                 theory_fields: dict[str, Any] | None = None, expectation: Expectation | None = None,
                 keep: int | None = None, figure: str | Path | None = None,
                 say: Callable[[str], None] | None = None, queue: int | str = "auto") -> None:
        if every < 1:
            raise UserError(f"every must be ≥ 1 step, got {every}")
        if not (queue == "auto" or (isinstance(queue, int) and not isinstance(queue, bool) and queue >= 0)):
            raise UserError(f"queue must be 'auto', 0 (the batch alone) or a number of rows, got {queue!r}")
        if objective is not None and objective not in OBJECTIVES:
            raise UserError(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)} (or None)")
        if moments is not None and (weight_decay is None or objective is None):
            raise UserError("moments= needs the projector's objective= and weight_decay= for the prediction")
        if figure is not None:
            from .report.figures import check_format

            check_format(figure)
        self.path = Path(path) if path is not None else None
        self.every, self.candidates, self.keep_arg = every, candidates, keep
        self.figure = Path(figure) if figure is not None else None
        self.say = say if say is not None else LOGGER.warning
        self._spec, self._moments, self._weight_decay = spec, moments, weight_decay
        self._embed_dim, self._center, self._fields = embed_dim, center, dict(theory_fields or {})
        self.expectation = expectation
        if spec is not None and expectation is None:
            self.expectation = self._theory()
        self.objective = objective or (self.expectation.objective if self.expectation is not None else None)
        self.records: list[dict[str, Any]] = []  # compact (no eigenvalues), the last HISTORY logs
        self.messages: list[str] = []
        self._active: set[str] = set()
        self._max_rank_seen = 0
        self.queue = queue
        self._queued: list[tuple[int, Any, Any]] = []  # (step, z rows, views rows or None), oldest first
        if self.path is not None and _is_main():
            self.path.parent.mkdir(parents=True, exist_ok=True)

    # -- theory ------------------------------------------------------------------------------------------------------
    def _theory(self, dim: int | None = None) -> Expectation | None:
        from .expectation import feature_expectation, theory_expectation  # the theory enters only through here

        if self._moments is not None:
            return feature_expectation(self._moments, self.objective or "spectral", float(self._weight_decay),
                                       self._embed_dim or dim, self._center, **self._fields)
        return theory_expectation(self._spec) if self._spec is not None else None

    def set_moments(self, moments: Any, weight_decay: float | None = None) -> None:
        """New feature moments (e.g. re-measured during joint training): the prediction is recomputed at the next
        log."""
        self._moments = moments
        if weight_decay is not None:
            self._weight_decay = weight_decay
        self.expectation = None

    # -- one log -----------------------------------------------------------------------------------------------------
    def __call__(self, z: Any, step: int, loss: Any = None, loss_terms: dict[str, Any] | None = None, *,
                 z2: Any = None, views: Any = None) -> dict[str, Any] | None:
        """Keep `z` (B, d) in the queue; on a logged step (step % every == 0) measure, detect, say and return the
        record. `z2`: the other view's (B, d) embeddings of the same samples, or `views` (B, q, d): LiDAR."""
        local_n = int(getattr(z, "shape", (0,))[0])
        v = _views_of(z, z2, views)
        self._enqueue(int(step), z, v)
        if step % self.every:
            return None
        z, v, first_step = self._take()
        z, world = gather_embeddings(z)
        v = gather_views(v)
        terms = {str(k): _scalar(v) for k, v in (loss_terms or {}).items() if v is not None}
        keys = sorted(terms)
        loss = _scalar(loss)
        reduced = _mean_over_ranks(([] if loss is None else [loss]) + [terms[k] for k in keys])  # DDP: rank mean
        if loss is not None:
            loss, reduced = reduced[0], reduced[1:]
        terms = dict(zip(keys, reduced, strict=True))
        record = self._measure(z, int(step), world, loss, terms, local_n, v)
        record["queue_steps"] = [first_step, int(step)]
        signatures = detect(record, self.records, self._context())
        record["signatures"] = [s.to_dict() for s in signatures]
        self._announce(signatures)
        compact = {k: v for k, v in record.items() if k != "eigenvalues"}
        self.records = [*self.records[-(HISTORY - 1):], compact]
        if _is_main():
            if self.path is not None:
                append_jsonl(self.path, record)
            if self.figure is not None and "eigenvalues" in record:
                self._draw(record)
        return record

    # -- the queue of recent embeddings ---------------------------------------------------------------------------
    def _capacity(self, batch: int, dim: int) -> int:
        if self.queue == "auto":
            return batch if batch > QUEUE_BATCH * dim else max(batch, QUEUE_ROWS * dim)
        return max(batch, int(self.queue))

    def _enqueue(self, step: int, z: Any, v: Any) -> None:
        """Keep a detached copy of this step's rows (and views) while the queue needs more than the batch."""
        shape = tuple(getattr(z, "shape", ()))
        if len(shape) != 2:
            self._queued = [(step, z, v)]  # diagnose refuses it at the log, in one line
            return
        cap = self._capacity(shape[0], shape[1])
        if cap <= shape[0] or (self._queued and tuple(self._queued[-1][1].shape[1:]) != shape[1:]):
            self._queued = []
        keep = cap > shape[0]
        self._queued.append((step, _detached(z, keep), None if v is None else _detached(v, keep)))
        rows = 0
        for i in range(len(self._queued) - 1, -1, -1):  # drop the oldest batches beyond the capacity
            rows += int(self._queued[i][1].shape[0])
            if rows >= cap:
                self._queued = self._queued[i:]
                break

    def _take(self) -> tuple[Any, Any, int]:
        """(queued rows, queued views or None, the first step they come from); views only if every step had them."""
        items = self._queued
        zs = [z for _, z, _ in items]
        vs = [v for _, _, v in items]
        z = zs[0] if len(zs) == 1 else _concat(zs)
        v = None if any(x is None for x in vs) or len({tuple(x.shape[1:]) for x in vs}) != 1 else (
            vs[0] if len(vs) == 1 else _concat(vs))
        return z, v, int(items[0][0])

    def _candidates(self, local_n: int, world: int) -> dict[str, int]:
        """K for the "stuck at log K" test: the user's, else from the objective and the batch (and the gathered
        batch under DDP, for a loss that gathers)."""
        if self.candidates is not None:
            return {"candidates": int(self.candidates)}
        if self.objective not in ("infonce", "ntxent"):
            return {}
        from .spec import softmax_candidates

        out = {"candidates": softmax_candidates(self.objective, local_n)}
        if world > 1:
            out["candidates_gathered"] = softmax_candidates(self.objective, local_n * world)
        return out

    def _measure(self, z: Any, step: int, world: int, loss: float | None, terms: dict[str, float],
                 local_n: int, views: Any = None) -> dict[str, Any]:
        base: dict[str, Any] = {"step": step, "world_size": world, "loss": loss, "loss_terms": terms,
                                "batch": local_n, **self._candidates(local_n, world)}
        try:
            d = diagnose(z, views=views)
        except EmbeddingError as exc:
            if exc.nonfinite_rows == 0:
                raise
            return {**base, "nonfinite_rows": exc.nonfinite_rows, "error": str(exc)}
        fit, authors = d.alpha_fit, d.alpha_fit_authors
        record = {**base, "n": d.n, "dim": d.dim, "rank": d.rank, "max_rank": d.max_rank,
                  "numerical_rank": d.numerical_rank, "effective_rank": d.effective_rank, "rankme": d.rankme,
                  "normalized_std": d.normalized_std, "mean_cosine": d.mean_cosine, "spread": d.spread,
                  "total_variance": d.total_variance, "surviving_variance_share": d.surviving_variance_share,
                  "knee": None if d.knee is None else d.knee.to_dict(), "knee_decades": d.knee_decades,
                  "alpha": d.alpha, "alpha_fit_rms": None if fit is None else fit.to_dict()["rms_decades"],
                  "alpha_authors": None if authors is None else authors.to_dict()["alpha"],
                  "lidar": d.lidar, "lidar_views": None if views is None else int(views.shape[1]),
                  "duplicate_rows": d.duplicate_rows, "verdict": d.verdict}
        if self.objective == "vicreg" or any(k in terms for k in VICREG_KEYS):
            record["vicreg_variance"], record["vicreg_covariance"] = _vicreg_terms(z)
        if self.expectation is None and (self._spec is not None or self._moments is not None):
            self.expectation = self._theory(d.dim)
        exp = self.expectation
        if exp is not None:
            rule = agreement(exp.spectrum, d.rank, predicted_rank_min=exp.rank_range[0],
                             predicted_rank_max=exp.rank_range[1])
            record.update(predicted_rank=exp.rank, predicted_rank_min=rule.predicted_rank,
                          predicted_rank_max=rule.predicted_rank_max,
                          agree=rule.agree if exp.embed_dim == d.dim else None, theory=exp.to_dict())
        self._max_rank_seen = max(self._max_rank_seen, d.rank)
        record["eigenvalues"] = [float(v) for v in d.eigenvalues]
        return record

    def _context(self) -> Context:
        keep = self.keep_arg if self.keep_arg is not None else max(1, self._max_rank_seen)
        return Context(objective=self.objective, candidates=self.candidates, expectation=self.expectation,
                       keep=keep, user_keep=self.keep_arg)

    def _announce(self, signatures: Sequence[Signature]) -> None:
        names = {s.name for s in signatures}
        for s in signatures:
            if s.name not in self._active:  # said once when it appears (again only after it cleared)
                self.messages.append(s.text())
                if _is_main():
                    self.say(s.text())
        self._active = names

    # -- live figure -------------------------------------------------------------------------------------------------
    def _draw(self, record: dict[str, Any]) -> None:
        from .report.figures import COLORS, figure, log_axis, save

        fig, (ax1, ax2) = figure(2, 1, width=4.6, height=3.4)
        lam = np.asarray(record["eigenvalues"], float)
        top = lam[0] if lam.size and lam[0] > 0 else 1.0
        k = np.arange(1, lam.size + 1)
        ax1.plot(k, np.maximum(lam / top, 1e-18), "o", ms=3, color=COLORS[0], label=f"measured (step {record['step']})")
        exp = self.expectation
        if exp is not None and exp.spectrum and exp.spectrum[0] > 0:
            p = np.asarray(exp.spectrum, float)
            ax1.plot(np.arange(1, p.size + 1), np.maximum(p / p[0], 1e-18), "-", color=COLORS[1], lw=1.5,
                     label="theory")
        ax1.axvline(record["rank"] + 0.5, color="gray", ls=":", lw=1)
        ax1.set_yscale("log")
        ax1.set_xlabel("direction k")
        ax1.set_ylabel(r"$\lambda_k / \lambda_1$")
        ax1.legend(fontsize=7)
        steps = [r["step"] for r in self.records if "rank" in r] + [record["step"]]
        for i, (key, label) in enumerate((("rank", "collapse rank"), ("effective_rank", "effective rank"),
                                          ("rankme", "RankMe"))):
            vals = [r[key] for r in self.records if "rank" in r] + [record[key]]
            ax2.plot(steps, vals, "-o", ms=3, color=COLORS[i], label=label)
        if exp is not None:
            ax2.axhline(exp.rank, color=COLORS[3], ls="--", lw=1.2, label=f"predicted rank {exp.rank}")
        ax2.set_xlabel("step")
        ax2.set_ylabel("directions")
        if steps and min(steps) > 0 and max(steps) / min(steps) > 100:
            log_axis(ax2, "x")
        ax2.legend(fontsize=7)
        if record.get("signatures"):
            ax2.set_title("; ".join(s["name"] for s in record["signatures"]), fontsize=8, color="#d62728")
        save(fig, self.figure, title=f"collapse monitor — {record['verdict']}")


# ---- Lightning -------------------------------------------------------------------------------------------------------

def _import_lightning_callback_base() -> type:
    try:
        from lightning.pytorch import Callback
    except ImportError:
        try:
            from pytorch_lightning import Callback
        except ImportError as exc:
            raise ImportError("CollapseMonitorCallback needs Lightning: pip install 'sslscape[lightning]'") from exc
    return Callback


@functools.cache  # one class object per process, so isinstance checks keep working
def _build_lightning_callback() -> type:
    base = _import_lightning_callback_base()

    class CollapseMonitorCallback(base):  # type: ignore[misc, valid-type]
        """Lightning callback around `CollapseMonitor`: after every training batch, hand the (B, d) embeddings of
        the training step's output dict (`key`), the loss (`loss_key`), optional loss terms (`terms_key`) and the
        other view (`views_key`: a (B, d) second view or (B, q, d) views, for LiDAR) to the monitor, which queues
        them and, when `global_step` is a multiple of `every`, gathers them across ranks (DDP), measures, logs the
        numbers with `pl_module.log_dict` as `monitor/<name>` and writes the JSON line / figure / messages.
        A step whose output holds no embeddings (a `training_step` returning the loss alone, as lightly's
        examples do) is skipped, and said once with the fix. Keyword arguments go to `CollapseMonitor` (path,
        objective, spec, moments, figure, say, queue, …)."""

        def __init__(self, every: int = 100, key: str = "embeddings", loss_key: str = "loss",
                     terms_key: str = "loss_terms", views_key: str = "views", log: bool = True,
                     **monitor: Any) -> None:
            super().__init__()
            self.monitor = CollapseMonitor(every=every, **monitor)
            self.key, self.loss_key, self.terms_key, self.views_key = key, loss_key, terms_key, views_key
            self.log = log
            self._last_step = -1
            self.warned = False

        def _missing(self, outputs: Any) -> None:
            if self.warned:
                return
            self.warned = True
            got = (f"a dict with keys {sorted(map(str, outputs))[:6]}" if isinstance(outputs, dict)
                   else "the loss alone" if outputs is None or hasattr(outputs, "item") else type(outputs).__name__)
            msg = (f"CollapseMonitorCallback: training_step returned {got}, without embeddings under "
                   f"{self.key!r}, so nothing is monitored; return {{'loss': loss, {self.key!r}: z}} from "
                   "training_step (z: the (B, d) embeddings the loss sees; add the other view under "
                   f"{self.views_key!r} for LiDAR), or pass key='…' naming yours")
            self.monitor.messages.append(msg)
            if _is_main():
                self.monitor.say(msg)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                               batch_idx: int) -> None:
            step = int(trainer.global_step)
            if not isinstance(outputs, dict) or self.key not in outputs:
                self._missing(outputs)
                return
            if step == self._last_step:
                return  # gradient accumulation repeats a global step: logged once
            self._last_step = step
            other = outputs.get(self.views_key)
            z = outputs[self.key]
            two = other is not None and getattr(other, "ndim", 0) == 2
            if isinstance(other, list | tuple):  # (z1, z2, …): the views of the same samples
                import torch

                other, two = torch.stack([torch.as_tensor(o).detach() for o in other], dim=1), False
            record = self.monitor(z, step, loss=outputs.get(self.loss_key), loss_terms=outputs.get(self.terms_key),
                                  z2=other if two else None, views=None if two else other)
            if record is None or not self.log:
                return
            numeric = {f"monitor/{k}": float(v) for k, v in record.items()
                       if isinstance(v, int | float) and not isinstance(v, bool) and k != "step"
                       and v is not None and math.isfinite(float(v))}
            if numeric:
                pl_module.log_dict(numeric, on_step=True, on_epoch=False)

    # a module-level name, so that pickle (Lightning's ddp_spawn) finds the class through `__getattr__` below
    CollapseMonitorCallback.__qualname__ = "CollapseMonitorCallback"
    CollapseMonitorCallback.__module__ = __name__
    return CollapseMonitorCallback


def __getattr__(name: str) -> Any:
    # Module-level lazy attribute (PEP 562): Lightning is imported only when the callback is asked for.
    if name == "CollapseMonitorCallback":
        return _build_lightning_callback()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
