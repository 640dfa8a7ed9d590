"""The top-level API (README, docs/architecture.md): names are what they say, imported lazily."""

import subprocess
import sys

import numpy as np

from sslscape import Spec, diagnose, landscape, predict, train


def test_top_level_names_are_plain_functions_and_the_packages_keep_their_names() -> None:
    spec = Spec.model_validate({"objective": "spectral", "data": {"cov": [4.0, 1.0]}, "weight_decay": 3.0})
    assert predict(spec).rank == 1  # 2c > γ only for c = 4
    from sslscape.moments import moments_of

    assert landscape(spec, moments_of(spec)).quadratic.shape == (2, 2)
    z = np.random.default_rng(0).normal(size=(200, 4)) * [3.0, 1.0, 0.0, 0.0]
    assert diagnose(z).rank == 2
    import sslscape.diagnostics.spectrum
    import sslscape.training.loop

    assert callable(train) and type(train).__name__ == "function"
    assert sslscape.training.loop.train is not train and sslscape.diagnostics.spectrum


def test_import_sslscape_is_light() -> None:
    heavy = "('torch', 'numpy', 'matplotlib', 'pydantic')"
    code = f"import sys, sslscape; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
