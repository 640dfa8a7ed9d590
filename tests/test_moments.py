"""sslscape.moments: a spec's C, μ, S and a real augmentation's cross-view moments (exact vs Monte-Carlo vs the
views training draws from the same augmentation definitions)."""

from __future__ import annotations

import numpy as np
import torch

from sslscape.augment import PipelineAugment, parse_pipeline, pipeline_maps
from sslscape.moments import augmentation_moments, load_images, moments_of, psd_factor, psd_project
from sslscape.spec import parse_spec


def test_flip_exact_matches_monte_carlo():
    x, side, _ = load_images("digits", 600)
    p = parse_pipeline("flip")
    exact = augmentation_moments(x, side, p)
    mc = augmentation_moments(x, side, p, mc=True, pairs=16, seed=1)
    assert exact.method == "exact" and mc.method == "monte_carlo" and mc.noise_floor > 0
    above = exact.eigenvalues > 3 * mc.noise_floor
    assert above.sum() >= 5
    np.testing.assert_allclose(mc.eigenvalues[above], exact.eigenvalues[above], rtol=0.1)
    np.testing.assert_allclose(mc.mean, exact.mean, atol=0.02)


def test_exact_moments_equal_the_moments_of_the_views_training_draws():
    x, side, _ = load_images("digits", 300)
    p = parse_pipeline("flip+shift:1")
    exact = augmentation_moments(x, side, p)
    imgs = torch.as_tensor(x, dtype=torch.float64).reshape(-1, 1, side, side)
    # the mean view over the finite family equals the mean of many random draws of the training augmentation
    maps = pipeline_maps(p)
    mean_view = sum(t(imgs) for t in maps) / len(maps)
    aug, gen = PipelineAugment(p), torch.Generator().manual_seed(0)
    draws = torch.stack([aug(imgs, gen) for _ in range(200)]).mean(0)
    assert float((draws - mean_view).abs().mean()) < 0.05
    np.testing.assert_allclose(exact.mean, mean_view.reshape(len(x), -1).mean(0).numpy(), atol=1e-12)


def test_noise_pipeline_gives_isotropic_s_and_a_equal_to_c():
    x, side, _ = load_images("digits", 200)
    est = augmentation_moments(x, side, parse_pipeline("noise:0.1"))
    m = est.as_moments()
    np.testing.assert_allclose(np.diag(m.noise_cov), 0.01, atol=1e-9)
    np.testing.assert_allclose(m.cov, psd_project(np.cov(x, rowvar=False, bias=True)), atol=1e-9)


def test_spec_moments_and_psd_helpers():
    m = moments_of(parse_spec({"objective": "spectral", "data": {"cov": [[2, 1], [1, 2]], "mean": [1, -1]},
                               "augmentation": {"noise_cov": [0.5, 0.5], "noise_scale": 2.0}}))
    np.testing.assert_allclose(m.noise_cov, np.eye(2))
    f = psd_factor(m.cov)
    np.testing.assert_allclose(f @ f.T, m.cov, atol=1e-12)
    np.testing.assert_allclose(psd_project(np.diag([1.0, -2.0])), np.diag([1.0, 0.0]))
