import math

import torch

from sslscape.train.metrics import covariance_spectrum, effective_rank, population_spectrum, trained_rank


def test_population_spectrum_of_orthogonal_map_is_the_data_spectrum():
    q, _ = torch.linalg.qr(torch.randn(4, 4, dtype=torch.float64))
    c = torch.diag(torch.tensor([4.0, 2.0, 1.0, 0.5], dtype=torch.float64))
    torch.testing.assert_close(population_spectrum(q, q.T @ c @ q), torch.tensor([4.0, 2, 1, 0.5],
                                                                                   dtype=torch.float64))


def test_covariance_spectrum_and_ranks():
    z = torch.randn(20000, 3) * torch.tensor([2.0, 1.0, 0.0])
    s = covariance_spectrum(z)
    assert abs(float(s[0]) - 4) < 0.2 and float(s[2]) == 0.0
    assert trained_rank(s) == 2
    assert math.isclose(effective_rank(torch.ones(5)), 5.0)
    assert effective_rank(torch.tensor([1.0, 0, 0])) == 1.0


def test_complete_collapse_is_rank_zero():
    assert trained_rank(torch.tensor([1e-20, 1e-21]), scale=1.0) == 0
    assert trained_rank(torch.tensor([1e-3, 1e-4, 1e-9]), scale=1.0) == 2  # relative above the floor
