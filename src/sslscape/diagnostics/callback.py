"""Watch collapse during training: a function for custom loops, a JSONL monitor, and a Lightning callback.

    monitor = EmbeddingMonitor("runs/a/diagnose.jsonl", every=100)
    for step, batch in enumerate(loader):
        z = model(batch)            # (B, d) embeddings
        ...
        monitor(z, step)            # every 100 steps: one JSON line with rank, RankMe, α, verdict ...

A batch of B ≤ d embeddings can only show B − 1 directions; use B > d (or a held-out batch) for a full
verdict. `EmbeddingMetricsCallback` (Lightning) exists only when `lightning` or `pytorch_lightning` imports;
it is built on first access, so importing `sslscape.diagnostics` never imports Lightning.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ..io import append_jsonl
from .diagnosis import diagnose
from .spectrum import EmbeddingError

METRIC_KEYS = ("rank", "effective_rank", "rankme", "alpha", "normalized_std", "verdict", "phase")


def log_embedding_metrics(z: Any, step: int) -> dict[str, Any]:
    """Collapse metrics of a (B, d) batch of embeddings at `step`, as a flat JSON-able dict.

    Keys: step, n, dim, rank, effective_rank, rankme, alpha, normalized_std, verdict, phase. A batch with
    NaN/Inf rows does not raise (a monitor must survive a diverging run): the dict then holds
    `nonfinite_rows` and `error` instead of the metrics.
    """
    try:
        d = diagnose(z)
    except EmbeddingError as exc:
        if exc.nonfinite_rows == 0:
            raise
        return {"step": int(step), "nonfinite_rows": exc.nonfinite_rows, "error": str(exc)}
    full = d.to_dict(spectrum=False)
    return {"step": int(step), "n": d.n, "dim": d.dim, **{k: full[k] for k in METRIC_KEYS}}


class EmbeddingMonitor:
    """Every `every` steps, compute `log_embedding_metrics(z, step)` and append it as one line to `path`.

    `monitor(z, step)` returns the metrics dict on logged steps and None otherwise.
    """

    def __init__(self, path: str | Path, every: int = 100) -> None:
        if every < 1:
            raise ValueError(f"every must be ≥ 1 step, got {every}")
        self.path = Path(path)
        self.every = every
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, z: Any, step: int) -> dict[str, Any] | None:
        if step % self.every:
            return None
        record = log_embedding_metrics(z, step)
        append_jsonl(self.path, record)
        return record


def _import_lightning_callback_base() -> type:
    try:
        from lightning.pytorch import Callback
    except ImportError:
        try:
            from pytorch_lightning import Callback
        except ImportError as exc:
            raise ImportError(
                "EmbeddingMetricsCallback needs Lightning: pip install 'sslscape[lightning]'"
            ) from exc
    return Callback


@functools.cache  # one class object per process, so isinstance checks keep working
def _build_lightning_callback() -> type:
    base = _import_lightning_callback_base()

    class EmbeddingMetricsCallback(base):  # type: ignore[misc, valid-type]
        """Lightning callback: every `every` training steps, read embeddings from the training step's output.

        `training_step` must return a dict holding the (B, d) embeddings under `key` (default "embeddings").
        Metrics are logged with `pl_module.log_dict` as `diagnose/<name>` and, if `path` is given, appended to
        a JSONL file by `EmbeddingMonitor`.
        """

        def __init__(self, every: int = 100, key: str = "embeddings", path: str | Path | None = None) -> None:
            super().__init__()
            if every < 1:
                raise ValueError(f"every must be ≥ 1 step, got {every}")
            self.every, self.key = every, key
            self.monitor = EmbeddingMonitor(path, every=1) if path is not None else None

        def on_train_batch_end(
            self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
        ) -> None:
            step = int(trainer.global_step)
            if step % self.every or not isinstance(outputs, dict) or self.key not in outputs:
                return
            z = outputs[self.key]
            record = self.monitor(z, step) if self.monitor is not None else log_embedding_metrics(z, step)
            numeric = {
                f"diagnose/{k}": float(v)
                for k, v in (record or {}).items()
                if isinstance(v, int | float) and not isinstance(v, bool) and k != "step"
            }
            if numeric:
                pl_module.log_dict(numeric)

    return EmbeddingMetricsCallback


def __getattr__(name: str) -> Any:
    # Module-level lazy attribute (PEP 562): Lightning is imported only when the callback is asked for.
    if name == "EmbeddingMetricsCallback":
        return _build_lightning_callback()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
