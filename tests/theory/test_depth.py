"""Depth L ≥ 2: the metastable (spinodal) weight decay and the bisection bracket, against brute-force scans."""

from __future__ import annotations

import numpy as np
import pytest

from sslscape.theory.solve import (
    depth_critical_weight_decay,
    depth_metastable_weight_decay,
    depth_profile,
    inflection_point,
)

P = np.logspace(-9, 3, 400_001)


def _has_local_minimum(a: float, beta2: float, gamma: float, depth: int) -> bool:
    fprime = -a + 2 * beta2 * P + gamma * P ** (1.0 / depth - 1.0)
    return bool((fprime < 0).any())


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("a, beta2", [(2.0, 1.5), (0.7, 0.2), (5.0, 9.0)])
def test_spinodal_is_where_the_local_minimum_disappears(depth: int, a: float, beta2: float) -> None:
    g_sp = float(depth_metastable_weight_decay(a, beta2, depth))
    g_star = float(depth_critical_weight_decay(a, beta2, depth))
    assert g_star < g_sp  # a metastable band exists for every L ≥ 2
    assert _has_local_minimum(a, beta2, 0.995 * g_sp, depth)
    assert not _has_local_minimum(a, beta2, 1.005 * g_sp, depth)


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_inflection_point_is_where_f_second_derivative_vanishes(depth: int) -> None:
    beta2, gamma = 0.8, 0.3
    p_c = float(inflection_point(beta2, gamma, depth))
    f2 = lambda p: 2 * beta2 + gamma * (1 / depth - 1) * p ** (1 / depth - 2)  # noqa: E731
    assert f2(0.999 * p_c) < 0 < f2(1.001 * p_c)


@pytest.mark.parametrize("depth", [2, 3])
def test_profile_finds_the_local_minimum_inside_the_metastable_band(depth: int) -> None:
    a, beta2 = 2.0, 1.5
    g_star = float(depth_critical_weight_decay(a, beta2, depth))
    g_sp = float(depth_metastable_weight_decay(a, beta2, depth))
    below = 0.5 * g_star  # globally alive: the profile returns the brute-force minimiser
    p, val = depth_profile(np.array([a]), np.array([beta2]), below, depth)
    f = -a * P + beta2 * P**2 + below * depth * P ** (1 / depth)
    assert val[0] == pytest.approx(f.min(), rel=1e-4) and p[0] == pytest.approx(P[f.argmin()], rel=1e-2)
    inside = 0.5 * (g_star + g_sp)  # metastable: the global minimum is W = 0
    p, val = depth_profile(np.array([a]), np.array([beta2]), inside, depth)
    assert p[0] == 0.0 and val[0] == 0.0
