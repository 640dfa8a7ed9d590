"""sslscape.training.metrics: the run's measurements come from the one measurement core (diagnose)."""

import numpy as np
import pytest
import torch

from sslscape.diagnostics import diagnose
from sslscape.diagnostics.metrics import effective_rank
from sslscape.training.metrics import measure_embeddings, measure_population, population_spectrum


def test_population_spectrum_of_orthogonal_map_is_the_data_spectrum():
    q, _ = torch.linalg.qr(torch.randn(4, 4, dtype=torch.float64))
    c = torch.diag(torch.tensor([4.0, 2.0, 1.0, 0.5], dtype=torch.float64))
    np.testing.assert_allclose(population_spectrum(q, q.T @ c @ q), [4.0, 2, 1, 0.5], rtol=1e-12)


def test_population_rank_uses_the_collapse_rule_and_the_data_scale():
    cov = torch.eye(4)
    w = torch.diag(torch.tensor([1.0, 0.5, 1e-4, 1e-5]))  # λ = 1, 0.25, 1e-8, 1e-10: a cliff after 2
    m = measure_population(w, cov)
    assert m.rank == 2
    assert m.effective_rank == pytest.approx(effective_rank(np.sqrt(m.spectrum)))
    assert measure_population(1e-4 * torch.eye(4), cov).rank == 0  # top variance 1e-8 ≤ 1e-6 × scale


def test_sample_measurement_is_diagnose():
    z = torch.randn(3000, 6) * torch.tensor([2.0, 1.0, 1.0, 0.5, 0.0, 0.0])
    m, d = measure_embeddings(z), diagnose(z)
    assert m.rank == d.rank == 4
    assert m.effective_rank == d.effective_rank
    np.testing.assert_array_equal(m.spectrum, d.eigenvalues)
