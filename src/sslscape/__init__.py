"""sslscape: when and why self-supervised representations collapse — theory, training, diagnostics.

    from sslscape import Spec, predict, landscape, train, diagnose

`Spec` is the problem spec, `predict(spec)` the theory's answer, `landscape(spec, spec.moments())` its
coefficients, `train(config)` runs a training (also the package `sslscape.train`), `diagnose(z)` inspects any
embeddings (also the package `sslscape.diagnose`). The CLI (`sslscape --help`) is a thin layer over these.
"""

from . import diagnose, train
from .spec import Spec, load_spec, parse_spec
from .theory import landscape, predict

__version__ = "0.1.0"
__all__ = ["Spec", "diagnose", "landscape", "load_spec", "parse_spec", "predict", "train"]
