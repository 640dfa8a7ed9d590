"""`ntxent_loss` against SimCLR's Eq. 1 (Chen et al. 2020) written out here independently: explicit loops over the
2N anchors in float64 Python arithmetic for the value, central differences of that loop for the gradient."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sslscape.objectives import infonce_loss, ntxent_loss, view_loss


def _sim(u: np.ndarray, v: np.ndarray, kind: str) -> float:
    dot = sum(float(a) * float(b) for a, b in zip(u, v, strict=True))
    if kind == "dot":
        return dot
    return dot / (math.sqrt(sum(float(a) ** 2 for a in u)) * math.sqrt(sum(float(b) ** 2 for b in v)))


def eq1(z1: np.ndarray, z2: np.ndarray, tau: float, kind: str) -> float:
    """Eq. 1: L = (1/2N) Σ_k [ℓ(2k−1, 2k) + ℓ(2k, 2k−1)], ℓ(i, j) = −log(e^{s_ij/τ} / Σ_{k≠i} e^{s_ik/τ}), with the
    2N embeddings interleaved as in the paper (example k's views at 2k − 1 and 2k)."""
    n = z1.shape[0]
    u = [z1[k // 2] if k % 2 == 0 else z2[k // 2] for k in range(2 * n)]
    total = 0.0
    for i in range(2 * n):
        j = i + 1 if i % 2 == 0 else i - 1  # the other view of the same example
        logits = {k: _sim(u[i], u[k], kind) / tau for k in range(2 * n) if k != i}
        top = max(logits.values())
        total += -(logits[j] - top) + math.log(sum(math.exp(v - top) for v in logits.values()))
    return total / (2 * n)


def eq1_gradient(z1: np.ndarray, z2: np.ndarray, tau: float, kind: str, h: float = 1e-6) -> tuple[np.ndarray, ...]:
    grads = []
    for which in (0, 1):
        z = (z1, z2)[which]
        g = np.zeros_like(z)
        for idx in np.ndindex(*z.shape):
            up, dn = z.copy(), z.copy()
            up[idx] += h
            dn[idx] -= h
            args = ((up, z2), (dn, z2)) if which == 0 else ((z1, up), (z1, dn))
            g[idx] = (eq1(*args[0], tau, kind) - eq1(*args[1], tau, kind)) / (2 * h)
        grads.append(g)
    return tuple(grads)


CASES = [(2, 3, 0.5), (3, 5, 0.1), (6, 2, 2.0), (4, 8, 0.07)]  # (N, d, τ): N < d and N > d, small and large τ


@pytest.mark.parametrize("kind", ["cosine", "dot"])
@pytest.mark.parametrize("n, d, tau", CASES)
@pytest.mark.parametrize("dtype, rel", [(torch.float64, 1e-7), (torch.float32, 2e-4)])
def test_value_and_gradient_match_eq1(kind, n, d, tau, dtype, rel):
    rng = np.random.default_rng(n * 100 + d)
    scale = 1.0 if kind == "cosine" else 0.5
    z1, z2 = scale * rng.standard_normal((n, d)), scale * rng.standard_normal((n, d))
    t1 = torch.tensor(z1, dtype=dtype, requires_grad=True)
    t2 = torch.tensor(z2, dtype=dtype, requires_grad=True)
    loss = ntxent_loss(t1, t2, temperature=tau, similarity=kind)
    loss.backward()
    assert loss.dtype == dtype
    ref = eq1(z1, z2, tau, kind)
    assert float(loss.detach()) == pytest.approx(ref, rel=rel)
    g1, g2 = eq1_gradient(z1, z2, tau, kind)
    scale_g = max(np.abs(g1).max(), np.abs(g2).max())
    tol = (1e-6 if dtype == torch.float64 else 2e-4) * scale_g  # central differences: error ~1e-9 in float64
    assert np.abs(t1.grad.double().numpy() - g1).max() <= tol
    assert np.abs(t2.grad.double().numpy() - g2).max() <= tol


def test_known_value_and_the_clip_form_differs():
    z = torch.eye(2, dtype=torch.float64)  # orthogonal pairs: positive cos 1, the other 2 candidates cos 0
    assert float(ntxent_loss(z, z, temperature=1.0)) == pytest.approx(-1 + math.log(math.e + 2), rel=1e-14)
    # all logits equal: NT-Xent sits at log(2N − 1), the CLIP form at log N
    flat = torch.ones(5, 3, dtype=torch.float64)
    assert float(ntxent_loss(flat, flat, temperature=0.5)) == pytest.approx(math.log(9), rel=1e-12)
    assert float(infonce_loss(flat, flat, temperature=0.5, similarity="cosine")) == pytest.approx(math.log(5))


def test_stacked_batches_are_the_mean_and_view_loss_dispatches():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(3, 7, 4, generator=g, dtype=torch.float64), torch.randn(3, 7, 4, generator=g,
                                                                              dtype=torch.float64)
    each = torch.stack([ntxent_loss(z1[i], z2[i], temperature=0.3) for i in range(3)]).mean()
    assert float(ntxent_loss(z1, z2, temperature=0.3)) == pytest.approx(float(each), rel=1e-13)
    got = view_loss("ntxent", z1[0], z2[0], temperature=0.3, similarity="dot")
    assert float(got) == pytest.approx(float(ntxent_loss(z1[0], z2[0], temperature=0.3, similarity="dot")), rel=1e-15)
    with pytest.raises(ValueError, match="no separate negatives"):
        view_loss("ntxent", z1[0], z2[0], z1[0], temperature=0.3)


@pytest.mark.parametrize("kwargs, match", [({"temperature": 0.0}, "temperature"),
                                           ({"temperature": 0.5, "similarity": "euclidean"}, "cosine' or 'dot"),
                                           ({"temperature": 0.5, "n": 1}, "at least 2"),
                                           ({"temperature": 0.5, "shapes": True}, "must both be")])
def test_bad_arguments_raise(kwargs, match):
    n = kwargs.pop("n", 4)
    z1 = torch.randn(n, 3)
    z2 = torch.randn(n, 2) if kwargs.pop("shapes", False) else torch.randn(n, 3)
    with pytest.raises(ValueError, match=match):
        ntxent_loss(z1, z2, **kwargs)
