"""Cosine InfoNCE with zero-signal input directions (c_k = 0, s_k > 0): the growth law with ρ_c < 0 and the reduced
solver's use of them (docs/theory.md §14.6), checked against Monte-Carlo of sslscape's exact batch loss."""

from __future__ import annotations

import numpy as np
import pytest

from sslscape.moments import moments_of
from sslscape.spec import parse_spec
from sslscape.theory import cosine_infonce as ci

COV = [4.0, 3.0, 2.0, 1.0, 0.5, 0.0, 0.0, 0.0]


def _spec(**fields):
    raw = {"objective": "infonce", "similarity": "cosine", "data": {"cov": COV},
           "augmentation": {"noise_cov": [1.0] * 8}, "weight_decay": 1e-3, "temperature": 0.1, "batch_size": 256}
    raw.update(fields)
    return parse_spec(raw)


def test_snr_level_is_where_the_growth_per_unit_variance_changes_sign():
    """ρ_c = Γ₀₁/(Γ₀₁ − Γ₁₀): a direction of SNR ρ grows (ρΓ₁₀ + (1 − ρ)Γ₀₁ < 0) iff ρ > ρ_c — by a scan over ρ,
    for both signs of Γ₀₁ (negative at low τ: every ρ ≥ 0 grows, zero-signal directions included)."""
    rho = np.linspace(0.0, 1.0, 2001)
    for g10, g01 in [(-2.0, 0.5), (-6.4, -1.4), (-1.0, -0.01), (0.5, 1.0), (-1.0, -3.0), (1.0, 0.5)]:
        grows = rho * g10 + (1 - rho) * g01 < 0
        level = ci.snr_level(g10, g01)
        assert np.array_equal(grows, rho > level), (g10, g01, level)


@pytest.mark.parametrize("tau,grows", [(0.1, True), (1.0, False)])
def test_zero_signal_growth_matches_the_exact_batch_loss(tau, grows):
    """At the solver's learned point of the directions with signal, the derivative of sslscape's exact batch loss
    (cosine InfoNCE, augmented negatives) along a zero-signal direction's gain — Monte-Carlo with common random
    numbers — has the sign and size of the reduced growth law's s_k·Γ₀₁: negative at τ = 0.1 (the signal-only answer
    is a saddle), positive at τ = 1."""
    import torch

    from sslscape.objectives import view_loss

    spec = _spec(temperature=tau, data={"cov": COV[:5] + [0.0]}, augmentation={"noise_cov": [1.0] * 6})
    c, s = np.array(COV[:5]), np.ones(5)
    pairs = ci._pairs(c, s, "augmented_negatives", 1024)
    rho = c / (c + s)
    found = ci._active_set(pairs, rho, ci._water_filling(rho, c + s, tau), rho > 0, 1 / tau, 256, "augmented_negatives")
    assert found is not None
    g = found[0]
    a, p, b_c = pairs
    g10, g01, _ = ci._virtual_growth(g, a * a, p * p, a * p, b_c, 1 / tau, 256, "augmented_negatives")
    assert (g01 < 0) == grows and (ci.snr_level(g10, g01) < 0) == grows
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(96, 256, 6, generator=gen, dtype=torch.float64) * torch.tensor(COV[:5] + [0.0]).sqrt()
    e1, e2 = (torch.randn(96, 256, 6, generator=gen, dtype=torch.float64) for _ in range(2))

    def loss(eps: float) -> float:
        w = torch.tensor(np.sqrt(np.concatenate([g, [eps]])), dtype=torch.float64)
        return float(view_loss("infonce", (x + e1) * w, (x + e2) * w, temperature=tau, similarity="cosine"))

    eps = 1e-3 * g.sum()
    slope = (loss(eps) - loss(0.0)) / eps
    assert (slope < 0) == grows
    assert slope == pytest.approx(g01, rel=0.15, abs=0.02 * abs(g10))
    del spec


def test_solver_uses_zero_signal_directions_at_low_temperature_only():
    """τ = 0.1, augmented negatives: every zero-signal direction is used (gains ≈ 0.2 of the largest; training:
    0.2–0.25, benchmarks/RESULTS.md), the W C Wᵀ rank is the signal count; τ = 0.5 and clean negatives: none."""
    low = ci.cosine_infonce_prediction(_spec(), moments_of(_spec()))
    assert low is not None and low.snr_critical < 0
    assert (low.rank, low.used) == (5, 8)
    zero = low.c == 0
    assert 0.1 < low.gains[zero].max() / low.gains.max() < 0.35
    assert np.count_nonzero(low.spectrum > 0) == 5  # zero-signal directions add nothing to W C Wᵀ
    for spec in (_spec(temperature=0.5), _spec(protocol="clean_negatives")):
        res = ci.cosine_infonce_prediction(spec, moments_of(spec))
        assert res is not None and res.used == res.rank == 5 and not res.gains[res.c == 0].any()


def test_zero_signal_directions_take_only_capacity_left_by_signal():
    """d = 6 < 8: the five directions with signal first (highest SNR), one zero-signal direction in the spare row."""
    res = ci.cosine_infonce_prediction(_spec(embed_dim=6), moments_of(_spec(embed_dim=6)))
    assert res is not None and (res.rank, res.used) == (5, 6)
