"""Training engine: encoders, data sources, the loop, checkpoints — with the exact sample losses of
`sslscape.objectives` plus the theory's weight decay γ Σ‖W_l‖², and measurements through `sslscape.diagnostics`.

    from sslscape.training import load_config, train
    result = train(load_config("configs/spectral_linear.yaml"), "runs/spectral")

Nothing here imports the theory (`sslscape.compare` is where a prediction meets a trained model).
Every field of a training config: docs/config.md.
"""

from .config import ConfigError, TrainConfig, load_config, parse_config
from .data import DataError, load_fashion_mnist, load_named_dataset
from .loop import TrainResult, build_model, ssl_loss, train
from .metrics import Measured, measure_embeddings, measure_population, population_spectrum

__all__ = ["ConfigError", "DataError", "Measured", "TrainConfig", "TrainResult", "build_model", "load_config",
           "load_fashion_mnist", "load_named_dataset", "measure_embeddings", "measure_population", "parse_config",
           "population_spectrum", "ssl_loss", "train"]
