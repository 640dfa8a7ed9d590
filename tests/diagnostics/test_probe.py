"""sslscape.diagnostics.probe: kNN vs an explicit loop; probes see through to separable classes."""

from __future__ import annotations

import numpy as np
import pytest

from sslscape.diagnostics.probe import knn_predict, probe_accuracies
from sslscape.diagnostics.spectrum import EmbeddingError


def knn_loop(train, train_y, test, k):
    out = []
    for t in test:
        sims = [float(t @ x / (np.linalg.norm(t) * np.linalg.norm(x))) for x in train]
        nearest = sorted(range(len(train)), key=lambda i: -sims[i])[:k]
        votes = np.bincount(train_y[nearest], minlength=train_y.max() + 1)
        out.append(int(np.argmax(votes)))
    return np.array(out)


def test_knn_matches_explicit_loop():
    rng = np.random.default_rng(0)
    train, test = rng.standard_normal((120, 5)), rng.standard_normal((30, 5))
    y = rng.integers(0, 3, 120)
    np.testing.assert_array_equal(knn_predict(train, y, test, k=7, chunk=8), knn_loop(train, y, test, 7))


def test_probes_on_separable_clusters_and_on_collapsed_embeddings():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 800)
    centres = rng.standard_normal((4, 16)) * 5
    z = centres[y] + rng.standard_normal((800, 16))
    r = probe_accuracies(z, y, seed=0)
    assert r.knn_accuracy > 0.95 and r.linear_accuracy > 0.95
    assert (r.n_train, r.n_test, r.n_classes, r.k) == (640, 160, 4, 20)
    assert probe_accuracies(z, y, seed=0) == r  # seeded: deterministic
    collapsed = probe_accuracies(np.ones((800, 16)) + 1e-9 * rng.standard_normal((800, 16)), y, seed=0)
    assert collapsed.linear_accuracy < 0.5


def test_string_labels_and_subsampling():
    rng = np.random.default_rng(1)
    y = np.where(rng.random(3000) > 0.5, "cat", "dog")
    z = rng.standard_normal((3000, 4)) + (y == "cat")[:, None] * 4
    r = probe_accuracies(z, y, max_samples=1000)
    assert r.n_train + r.n_test == 1000 and r.linear_accuracy > 0.9


def test_label_errors():
    with pytest.raises(EmbeddingError, match="one label per row"):
        probe_accuracies(np.ones((10, 2)), np.zeros(9))
    with pytest.raises(EmbeddingError, match="single class"):
        probe_accuracies(np.random.default_rng(0).standard_normal((10, 2)), np.zeros(10))


def test_knn_and_probe_accept_torch_and_agree_on_separable_clusters():
    import torch

    from sslscape.diagnostics.probe import knn_accuracy, linear_probe_accuracy

    g = torch.Generator().manual_seed(0)
    centres = torch.eye(4) * 5
    y = torch.randint(0, 4, (400,), generator=g)
    x = centres[y] + 0.3 * torch.randn(400, 4, generator=g)
    assert knn_accuracy(x[:300], y[:300], x[300:], y[300:], k=20) == 1.0
    assert linear_probe_accuracy(x[:300], y[:300], x[300:], y[300:]) == 1.0
    noise, labels = torch.randn(2000, 8, generator=g), torch.randint(0, 4, (2000,), generator=g)
    assert knn_accuracy(noise[:1500], labels[:1500], noise[1500:], labels[1500:]) < 0.4
