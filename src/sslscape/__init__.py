"""sslscape: when and why self-supervised representations collapse — theory, training, diagnostics.

    from sslscape import Spec, predict, landscape, train, diagnose

`Spec` is the problem spec, `predict(spec)` the theory's answer, `landscape(spec, moments_of(spec))` its
coefficients, `train(config)` runs a training (package `sslscape.training`), `diagnose(z)` inspects any embeddings
(package `sslscape.diagnostics`). Everything is imported on first use, so `import sslscape` (and the CLI's
start-up) costs milliseconds. Paper: Ziyin, Lubana, Ueda & Tanaka, "What shapes the loss landscape of
self-supervised learning?", ICLR 2023 (arXiv:2210.00638).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

# public name → module that defines it (imported on first access, PEP 562)
_LAZY = {
    "Spec": "sslscape.spec", "parse_spec": "sslscape.spec", "load_spec": "sslscape.spec",
    "predict": "sslscape.theory", "landscape": "sslscape.theory", "Prediction": "sslscape.theory",
    "Diagnosis": "sslscape.diagnostics", "TrainConfig": "sslscape.training", "TrainResult": "sslscape.training",
}
__all__ = ["Diagnosis", "Prediction", "Spec", "TrainConfig", "TrainResult", "diagnose", "landscape", "load_spec",
           "parse_spec", "predict", "train"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sslscape' has no attribute {name!r}")


def train(config: Any, out_dir: Any = None, **kwargs: Any) -> Any:
    """Train an encoder from a `TrainConfig` (see `sslscape.training.loop.train`); returns a `TrainResult`."""
    from .training.loop import train as run

    return run(config, out_dir, **kwargs)


def diagnose(z: Any, views: Any = None) -> Any:
    """Diagnose (N, d) embeddings (see `sslscape.diagnostics.diagnosis.diagnose`); returns a `Diagnosis`."""
    from .diagnostics.diagnosis import diagnose as run

    return run(z, views)
