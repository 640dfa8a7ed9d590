"""The reduced cosine-InfoNCE solver (sslscape.theory.cosine_infonce): its integral, gradient, growth law, and the
exact solver as referee (docs/theory.md §14)."""

from __future__ import annotations

import numpy as np
import pytest

from sslscape.moments import moments_of
from sslscape.spec import parse_spec
from sslscape.theory import cosine_infonce as ci

C8 = [4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1]


def _spec(**fields):
    raw = {"data": {"cov": C8}, "augmentation": {"noise_cov": [0.5] * 8}, "objective": "infonce",
           "similarity": "cosine", "weight_decay": 0.01, "temperature": 0.5}
    raw.update(fields)
    return parse_spec(raw)


@pytest.mark.parametrize("kappa", [0.5, 2.0, 10.0])
@pytest.mark.parametrize("n", [1, 3, 8])
def test_m_kappa_matches_simulated_cosines(n, kappa):
    """E_c exp(κ cos(u, y)), y ~ N(0, diag h): the 1-D Bessel integral against 400,000 simulated negatives."""
    rng = np.random.default_rng(n)
    h = rng.uniform(0.01, 1.0, n)
    u = np.sqrt(h) * rng.standard_normal(n)
    u /= np.linalg.norm(u)
    y = rng.standard_normal((400_000, n)) * np.sqrt(h)
    e = np.exp(kappa * (y @ u) / np.linalg.norm(y, axis=1))
    got = float(ci.m_kappa(u**2, h, kappa)[0])
    assert abs(got - e.mean()) < 5 * e.std() / np.sqrt(e.size) + 1e-4 * e.mean()


@pytest.mark.parametrize("protocol,kappa,n_batch", [("augmented_negatives", 2.0, 512), ("clean_negatives", 10.0, 64)])
def test_reduced_loss_gradient_and_scale_invariance(protocol, kappa, n_batch):
    c, s = np.array(C8), np.full(8, 0.5)
    a, p, b_c = ci._pairs(c, s, protocol, 256)
    g = np.random.default_rng(0).uniform(0.05, 1.0, 8)
    args = (a * a, p * p, a * p, b_c, kappa, n_batch)
    value, grad, _ = ci.reduced_loss(g, *args)
    num = np.array([(ci.reduced_loss(g + 1e-6 * e, *args)[0] - ci.reduced_loss(g - 1e-6 * e, *args)[0]) / 2e-6
                    for e in np.eye(8)])
    assert np.abs(grad - num).max() < 1e-4 * np.abs(num).max()  # the Bessel tables are read linearly (1e-7)
    assert ci.reduced_loss(3.7 * g, *args)[0] == pytest.approx(value, abs=1e-9)  # cosine: scale-invariant
    assert abs(g @ grad) < 1e-4 * np.abs(grad).max() * g.sum()  # Euler: Σ g ∂L/∂g = 0


def test_reduced_loss_matches_the_exact_batch_loss():
    """The delta-method loss against sslscape's own InfoNCE on simulated batches of N = 64 at τ = 0.2."""
    import torch

    from sslscape.objectives import view_loss

    c, s = np.array(C8), np.full(8, 0.5)
    g = np.array([0.25, 0.2, 0.18, 0.14, 0.11, 0.07, 0.04, 0.01]) / (c + s)
    a, p, b_c = ci._pairs(c, s, "augmented_negatives", 4096)
    ours = ci.reduced_loss(g, a * a, p * p, a * p, b_c, 5.0, 64)[0]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(400, 64, 8, generator=gen, dtype=torch.float64) * torch.tensor(c).sqrt()
    noise = lambda: torch.randn(400, 64, 8, generator=gen, dtype=torch.float64) * np.sqrt(0.5)  # noqa: E731
    w = torch.tensor(np.sqrt(g))
    exact = float(view_loss("infonce", (x + noise()) * w, (x + noise()) * w, None, temperature=0.2,
                            similarity="cosine"))
    assert ours == pytest.approx(exact, abs=0.01)


def test_sweep_spec_gives_rank_six_like_exact_and_training():
    """benchmarks/sweep_compare.py "infonce cosine γ=0.01 τ=0.5": exact and trained rank 6."""
    res = ci.cosine_infonce_prediction(_spec())
    assert res is not None and res.rank == 6
    assert 0.333 < res.snr_critical < 0.5  # ρ₇ = 1/3 dies, ρ₆ = 1/2 lives
    assert ci.cosine_infonce_prediction(_spec(weight_decay=0.05)).rank == 6  # γ never enters


@pytest.mark.parametrize("fields", [{"temperature": 2.0}, {"temperature": 0.5, "protocol": "clean_negatives"},
                                    {"temperature": 0.5, "embed_dim": 3}])
def test_agrees_with_the_exact_solver(fields):
    from sslscape.theory.exact import exact_solution

    spec = _spec(**fields)
    m = moments_of(spec)
    ours = ci.cosine_infonce_prediction(spec, m)
    ref = exact_solution(spec, m, n_pairs=2048, n_starts=1)
    assert ours is not None and ours.rank == ref.rank
    share = lambda v: np.asarray(v) / np.sum(v)  # noqa: E731
    assert np.abs(share(ours.spectrum) - share(ref.spectrum)).max() < 0.03


def test_growth_law_is_an_snr_threshold():
    """At the solution every alive direction has ρ_k > ρ_c and every dead one ρ_k < ρ_c (away from threshold)."""
    res = ci.cosine_infonce_prediction(_spec(temperature=2.0))
    alive = res.gains > 0
    assert np.all(res.snr[alive] > res.snr_critical) and np.all(res.snr[~alive] < res.snr_critical)


def test_outside_the_domain_returns_none():
    assert ci.cosine_infonce_prediction(_spec(depth=2)) is None
    assert ci.cosine_infonce_prediction(_spec(similarity="dot")) is None
    assert ci.covers(_spec(bias=True)) == "a bias"
    rotated = _spec(augmentation={"noise_cov": (np.eye(8) * 0.5 + 0.1).tolist()})
    assert "common eigenbasis" in ci.covers(rotated)


def test_predict_uses_the_reduced_solver_with_its_threshold_band():
    from sslscape.diagnostics.rank import agreement
    from sslscape.theory.predict import predict

    pred = predict(_spec())
    assert (pred.order, pred.method, pred.thresholds.kind) == ("learned_point", "cosine_snr_level", "snr_level")
    # ρ₇ = 1/3 sits 0.012 below ρ_c ≈ 0.345: inside the ±0.02 band, so the range is 6–7 and the point 6
    assert (pred.rank, pred.rank_range, pred.alive_max) == (6, (6, 7), 7) and pred.spectrum[6] == 0.0
    assert agreement(pred.spectrum, 6, predicted_rank_max=pred.alive_max).agree
    assert agreement(pred.spectrum, 7, predicted_rank_max=pred.alive_max).agree
    assert not agreement(pred.spectrum, 5, predicted_rank_max=pred.alive_max).agree
    assert pred.thresholds.critical_weight_decay == ()  # weight decay never changes the rank
    assert pred.thresholds.critical_noise_scale is None  # the noise moves ρ_c itself: no per-direction value


def test_tiny_temperatures_are_left_to_the_exact_order():
    assert "temperature below" in ci.covers(_spec(temperature=0.02))
    assert ci.cosine_infonce_prediction(_spec(temperature=0.03)) is None


def test_a_direction_clear_of_the_band_is_decided():
    from sslscape.theory.predict import predict

    pred = predict(_spec(temperature=2.0))  # ρ_c ≈ 0.59: ρ₆ = 0.5 is 0.09 below, nothing in the band
    assert pred.rank_range == (5, 5) and pred.alive == 5
