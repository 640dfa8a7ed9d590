import torch

from sslscape.train.evaluate import knn_accuracy, linear_probe_accuracy


def test_knn_and_probe_on_separable_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.eye(4) * 5
    y = torch.randint(0, 4, (400,), generator=g)
    x = centres[y] + 0.3 * torch.randn(400, 4, generator=g)
    assert knn_accuracy(x[:300], y[:300], x[300:], y[300:], k=20, chunk=37) == 1.0
    assert linear_probe_accuracy(x[:300], y[:300], x[300:], y[300:]) == 1.0


def test_knn_on_noise_is_near_chance():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(2000, 8, generator=g), torch.randint(0, 4, (2000,), generator=g)
    assert knn_accuracy(x[:1500], y[:1500], x[1500:], y[1500:]) < 0.4
