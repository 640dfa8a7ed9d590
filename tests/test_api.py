"""The top-level API of DESIGN.md §2."""

import numpy as np

import sslscape
from sslscape import Spec, diagnose, landscape, predict, train


def test_top_level_names_are_callables_and_packages_stay_packages() -> None:
    spec = Spec.model_validate({"objective": "spectral", "data": {"cov": [4.0, 1.0]}, "weight_decay": 3.0})
    assert predict(spec).rank == 1  # 2c > γ only for c = 4
    assert landscape(spec, spec.moments()).quadratic.shape == (2, 2)
    z = np.random.default_rng(0).normal(size=(200, 4)) * [3.0, 1.0, 0.0, 0.0]
    assert diagnose(z).rank == 2
    assert callable(train) and hasattr(sslscape.train, "loop") and hasattr(sslscape.diagnose, "spectrum")
    assert train.__doc__ and "TrainConfig" in dir(train)
