"""Each exact sample loss against an independent explicit-loop reference and against known values."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sslscape.objectives import barlow_loss, byol_loss, infonce_loss, simsiam_loss, spectral_loss, vicreg_loss


@pytest.fixture(autouse=True)
def _float64():
    """Tight comparisons need double precision; restore the default afterwards (xdist shares processes)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _sim(u: torch.Tensor, v: torch.Tensor, kind: str) -> float:
    if kind == "dot":
        return float(u @ v)
    if kind == "cosine":
        return float(u @ v / (u.norm() * v.norm()))
    return float(-0.5 * ((u - v) ** 2).sum())


def infonce_loop(a, p, neg, tau, kind):
    n = a.shape[0]
    total = 0.0
    for i in range(n):
        cands = [p[j] if (neg is None or j == i) else neg[j] for j in range(n)]
        logits = [_sim(a[i], c, kind) / tau for c in cands]
        total += -logits[i] + math.log(sum(math.exp(x) for x in logits))
    return total / n


@pytest.mark.parametrize("kind", ["dot", "cosine", "euclidean"])
@pytest.mark.parametrize("clean", [False, True])
def test_infonce_matches_loop(kind: str, clean: bool) -> None:
    g = torch.Generator().manual_seed(0)
    a, p, neg = (torch.randn(7, 3, generator=g) for _ in range(3))
    neg = neg if clean else None
    got = float(infonce_loss(a, p, neg, temperature=0.7, similarity=kind))
    assert got == pytest.approx(infonce_loop(a, p, neg, 0.7, kind), rel=1e-10)


def test_infonce_symmetric_is_average_of_both_directions() -> None:
    g = torch.Generator().manual_seed(1)
    a, p = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    sym = float(infonce_loss(a, p, temperature=0.5, symmetric=True))
    both = 0.5 * (infonce_loop(a, p, None, 0.5, "dot") + infonce_loop(p, a, None, 0.5, "dot"))
    assert sym == pytest.approx(both, rel=1e-10)


def test_infonce_known_values() -> None:
    z = torch.zeros(5, 3)  # collapsed: every logit equal → log N
    assert float(infonce_loss(z, z)) == pytest.approx(math.log(5))
    e = torch.eye(4) * 50.0  # perfectly separated positives → loss → 0
    assert float(infonce_loss(e, e, temperature=1.0)) < 1e-10


def test_infonce_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="temperature"):
        infonce_loss(torch.ones(3, 2), torch.ones(3, 2), temperature=-1.0)
    with pytest.raises(ValueError, match="similarity"):
        infonce_loss(torch.ones(3, 2), torch.ones(3, 2), similarity="manhattan")
    with pytest.raises(ValueError, match="batch"):
        infonce_loss(torch.ones(3, 2), torch.ones(4, 2))


@pytest.mark.parametrize("clean", [False, True])
def test_spectral_matches_loop(clean: bool) -> None:
    g = torch.Generator().manual_seed(2)
    a, p, neg = (torch.randn(6, 3, generator=g) for _ in range(3))
    neg = neg if clean else None
    n = a.shape[0]
    cand = p if neg is None else neg
    align = sum(float(a[i] @ p[i]) for i in range(n)) / n
    off = sum(float(a[i] @ cand[j]) ** 2 for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    assert float(spectral_loss(a, p, neg)) == pytest.approx(-2 * align + off, rel=1e-10)


@pytest.mark.parametrize("standardize", [False, True])
def test_barlow_matches_loop(standardize: bool) -> None:
    g = torch.Generator().manual_seed(3)
    a, p = torch.randn(9, 4, generator=g), torch.randn(9, 4, generator=g)
    lam = 0.3
    if standardize:  # as lightly's BarlowTwinsLoss: F.batch_norm (biased variance, eps 1e-5)
        a = torch.nn.functional.batch_norm(a, None, None, training=True, eps=1e-5)
        p = torch.nn.functional.batch_norm(p, None, None, training=True, eps=1e-5)
    n, d = a.shape
    ref = 0.0
    for k in range(d):
        for l in range(d):
            kkl = sum(float(a[i, k] * p[i, l]) for i in range(n)) / n
            ref += (1 - kkl) ** 2 if k == l else lam * kkl**2
    g = torch.Generator().manual_seed(3)
    a0, p0 = torch.randn(9, 4, generator=g), torch.randn(9, 4, generator=g)
    got = float(barlow_loss(a0, p0, lambda_offdiag=lam, standardize=standardize))
    assert got == pytest.approx(ref, rel=1e-9)


def test_vicreg_matches_reference_formula() -> None:
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(16, 5, generator=g), torch.randn(16, 5, generator=g)
    n, d = x.shape
    inv = float(((x - y) ** 2).mean())

    def std_term(z):
        return sum(max(0.0, 1 - math.sqrt(float(z[:, k].var()) + 1e-4)) for k in range(d)) / d

    def cov_term(z):
        zc = z - z.mean(0)
        c = [[float(zc[:, k] @ zc[:, l]) / (n - 1) for l in range(d)] for k in range(d)]
        return sum(c[k][l] ** 2 for k in range(d) for l in range(d) if k != l) / d

    ref = 25 * inv + 25 * 0.5 * (std_term(x) + std_term(y)) + 1 * (cov_term(x) + cov_term(y))
    assert float(vicreg_loss(x, y)) == pytest.approx(ref, rel=1e-10)


def test_simsiam_and_byol_stop_gradient_and_values() -> None:
    g = torch.Generator().manual_seed(5)
    z1 = torch.randn(8, 3, generator=g, requires_grad=True)
    z2 = torch.randn(8, 3, generator=g, requires_grad=True)
    pred = torch.randn(3, 3, generator=g, requires_grad=True)
    p1, p2 = z1 @ pred, z2 @ pred
    loss = simsiam_loss(p1, p2, z1, z2)
    cos = torch.nn.functional.cosine_similarity
    ref = -0.5 * (cos(p1, z2.detach()).mean() + cos(p2, z1.detach()).mean())
    assert float(loss.detach()) == pytest.approx(float(ref.detach()), rel=1e-12)
    # the targets receive no gradient: d loss / d z flows only through the predictor branch
    (gz1,) = torch.autograd.grad(loss, z1, retain_graph=True)
    (gz1_pred_only,) = torch.autograd.grad(-0.5 * cos(z1 @ pred, z2.detach()).mean(), z1)
    assert torch.allclose(gz1, gz1_pred_only)
    t1, t2 = z1.detach(), z2.detach()
    byol = byol_loss(p1, p2, t1, t2)
    ref_byol = 0.5 * ((2 - 2 * cos(p1, t2)).mean() + (2 - 2 * cos(p2, t1)).mean())
    assert float(byol.detach()) == pytest.approx(float(ref_byol.detach()), rel=1e-12)
    assert float(byol_loss(t1, t2, t1, t2, similarity="dot")) == pytest.approx(
        -0.5 * float((t1 * t2).sum(1).mean() * 2), rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 9), st.integers(1, 5), st.floats(0.05, 5.0))
def test_infonce_properties(n: int, d: int, tau: float) -> None:
    """Bounded below by 0; invariant to a common rotation of all embeddings (dot similarity)."""
    g = torch.Generator().manual_seed(n * 10 + d)
    a, p = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    base = infonce_loss(a, p, temperature=tau)
    assert float(base) >= 0
    assert float(infonce_loss(a @ q, p @ q, temperature=tau)) == pytest.approx(float(base), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("kind", ["dot", "cosine", "euclidean"])
def test_stacked_batches_equal_mean_of_batches(kind: str) -> None:
    g = torch.Generator().manual_seed(6)
    a, p, neg = (torch.randn(3, 5, 4, generator=g) for _ in range(3))
    stacked = infonce_loss(a, p, neg, temperature=0.3, similarity=kind, symmetric=True)
    looped = sum(infonce_loss(a[i], p[i], neg[i], temperature=0.3, similarity=kind, symmetric=True)
                 for i in range(3)) / 3
    assert float(stacked) == pytest.approx(float(looped), rel=1e-12)
    assert float(spectral_loss(a, p, neg)) == pytest.approx(
        float(sum(spectral_loss(a[i], p[i], neg[i]) for i in range(3)) / 3), rel=1e-12)
