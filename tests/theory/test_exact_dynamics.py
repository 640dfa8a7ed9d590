"""The SimSiam/BYOL `exact` order (integrated stop-gradient dynamics) answers the trainer's problem: it starts from
the trainer's own W₀, P₀ and runs its schedule, and for dot SimSiam it escapes exactly where the matrix blow-up
criterion (docs/theory.md §7, (12m)) says it must from that very start — an independent, exact statement for any
initialisation — and agrees with the per-direction closed form away from the threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sslscape.moments import moments_of
from sslscape.recipe import LR, STEPS, cosine_lr
from sslscape.spec import parse_spec
from sslscape.theory import predict
from sslscape.theory.exact import estimate_seconds, trainer_start
from sslscape.theory.predictive import matrix_blowup_time

torch.set_num_threads(1)

COV = [4.0, 2.0, 1.0, 0.5]


def _spec(**kw: object):
    raw = {"objective": "simsiam", "similarity": "dot", "data": {"cov": COV}, "augmentation": {"noise_cov": [0.3] * 4},
           "seed": 3}
    raw.update(kw)
    return parse_spec(raw)


@pytest.mark.parametrize("objective", ["simsiam", "byol"])
def test_integrator_starts_like_the_trainer(objective: str) -> None:
    from sslscape.compare import compare_config
    from sslscape.training.loop import _Run  # the trainer's own construction of model and generator

    spec = _spec(objective=objective, embed_dim=3, weight_decay=0.1)
    run = _Run(compare_config(spec, spec.seed))
    w0, p0 = trainer_start(spec, 4, 3)
    assert torch.equal(run.model.effective_weight().detach().double(), w0)
    assert torch.equal(run.model.predictor.weight.detach().double(), p0)


def _horizon_threshold(spec) -> float:
    """γ at which the flow from the trainer's own start escapes exactly within the run's gradient time T:
    escape iff s*(W₀, P₀) < (1 − e^{−2γT})/(2γ) (12m with a finite horizon)."""
    d = spec.embed_dim or len(COV)
    w0, p0 = trainer_start(spec, len(COV), d)
    s_star = matrix_blowup_time(w0.numpy(), p0.numpy(), moments_of(spec).cov)
    horizon = sum(cosine_lr(k, STEPS, LR) for k in range(STEPS))
    lo, hi = 1e-6, 10.0
    for _ in range(80):  # s_reach decreases in γ
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if s_star < -math.expm1(-2 * mid * horizon) / (2 * mid) else (lo, mid)
    return lo


def test_dot_simsiam_integrator_escapes_where_the_matrix_criterion_says() -> None:
    """Seed 1's start escapes within the run below γ*_T = 1.84 and collapses above it (the aligned closed form's
    typical value is λ₁/2 = 2; seeds scatter 1.5–2.7 around it). At ±12 % of γ*_T the per-direction closed form
    agrees with the integrated dynamics too (escape below 2, collapse above)."""
    spec = _spec(weight_decay=1.0, seed=1)
    g_star = _horizon_threshold(spec)
    assert 1.7 < g_star < 1.95
    for factor, rank, method in ((0.88, 1, "dynamics_diverged"), (1.12, 0, "dynamics")):
        point = spec.with_updates(weight_decay=factor * g_star)
        exact, closed = predict(point, "exact"), predict(point)
        assert (exact.order, exact.method, exact.rank) == ("exact", method, rank)
        assert closed.order == "per_direction" and min(closed.rank, 1) == rank
    assert estimate_seconds(spec, moments_of(spec)) > 0


def test_trainer_start_is_deterministic_and_seeded() -> None:
    a, b = trainer_start(_spec(seed=1), 4, 4), trainer_start(_spec(seed=1), 4, 4)
    c = trainer_start(_spec(seed=2), 4, 4)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])
    np.testing.assert_allclose(float((a[0] ** 2).sum()), 4.0, rtol=0.6)  # ‖W₀‖² ≈ init_scale²·d
