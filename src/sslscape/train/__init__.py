"""Training engine: encoders, data, augmentations, the loop, checkpoints, evaluation and `compare`.

    from sslscape.train import TrainConfig, parse_config, load_config, train, compare

`train(config, out_dir)` trains with the exact sample losses of `sslscape.objectives` plus the theory's
weight decay γ Σ‖W_l‖²; `compare(spec)` trains a spec's own linear model and sets the result against
`sslscape.theory.predict`. Nothing here imports the theory except `compare`, lazily.
"""

from .compare import CompareResult, compare, compare_config, plot_compare, write_compare
from .config import ConfigError, TrainConfig, load_config, parse_config, resolve_spec
from .data import DataError, load_fashion_mnist
from .evaluate import knn_accuracy, linear_probe_accuracy
from .loop import TrainResult, build_model, ssl_loss, train
from .metrics import Measured, measure_embeddings, measure_population, population_spectrum

__all__ = ["CompareResult", "ConfigError", "DataError", "Measured", "TrainConfig", "TrainResult", "build_model",
           "compare", "compare_config", "knn_accuracy", "linear_probe_accuracy", "load_config",
           "load_fashion_mnist", "measure_embeddings", "measure_population", "parse_config", "plot_compare",
           "population_spectrum", "resolve_spec", "ssl_loss", "train", "write_compare"]

from .._callable import make_module_callable  # noqa: E402

make_module_callable(__name__, train)  # `from sslscape import train; train(config)` (DESIGN.md §2)
