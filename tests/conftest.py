"""Fixtures for every test folder: embeddings with a spectrum chosen by construction, and one torch thread."""

from __future__ import annotations

import numpy as np
import pytest


def embeddings_with_singular_values(s: np.ndarray, n: int, seed: int = 0, shift: float = 0.0) -> np.ndarray:
    """(n, d) float64 X whose centred version has singular values exactly `s` (d = len(s)), in random bases.

    X_c = U diag(s) Qᵀ with U (n×d) orthonormal and orthogonal to the all-ones vector, Q a random rotation;
    then X = X_c + shift·m for a random unit vector m, which leaves the centred spectrum unchanged.
    """
    rng = np.random.default_rng(seed)
    d = len(s)
    a = rng.standard_normal((n, d))
    a -= a.mean(axis=0)  # columns ⟂ 1, so U stays centred after QR
    u, _ = np.linalg.qr(a)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    m = rng.standard_normal(d)
    return (u * np.asarray(s)) @ q.T + shift * m / np.linalg.norm(m)


@pytest.fixture(scope="session")
def make_embeddings():
    """`embeddings_with_singular_values` as a fixture (tests/ is not a package)."""
    return embeddings_with_singular_values


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models: one thread is faster and immune to a busy machine; restored afterwards (sslscape.threads)."""
    from sslscape.threads import torch_threads

    with torch_threads(1):
        yield
