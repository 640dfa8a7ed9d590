"""sslscape.moments: a spec's C, μ, S, and a real augmentation's moments computed by the structure of its maps —
each route against the brute-force loop over maps applied to every image (exact to 1e-12 for finite mixtures),
over many drawn maps (within their sampling error) for random linear maps, and against Monte-Carlo over images."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from sslscape.augment import PipelineAugment, apply_ops, mean_ops, parse_pipeline, sample_view
from sslscape.datasets import Images
from sslscape.errors import UserError
from sslscape.moments import (
    augmentation_moments,
    load_moments_file,
    moments_of,
    psd_factor,
    psd_project,
    save_moments,
)
from sslscape.spec import load_spec, parse_spec

SHAPE = (3, 4, 5)
DIM = 60


@pytest.fixture(scope="module")
def images() -> Images:
    """50 small RGB images with smooth structure (uint8, as a folder or CIFAR array would be)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:4, 0:5]
    base = 120 + 60 * np.sin(yy[None, None] * rng.random((50, 3, 1, 1)) + xx[None, None] * rng.random((50, 3, 1, 1)))
    x = np.clip(base + rng.normal(0, 20, (50, *SHAPE)), 0, 255).astype(np.uint8)
    return Images(x=x, labels=None, name="small", read_as="", scale=1 / 255)


def _explicit_maps(text: str) -> tuple[list, list]:
    """Each view's finite maps as (weight, function on (n, C, H, W)), built by explicit torch ops (not `maps`)."""
    def shift(x, dy, dx):
        out = torch.zeros_like(x)
        for h, w in itertools.product(range(SHAPE[1]), range(SHAPE[2])):
            if 0 <= h - dy < SHAPE[1] and 0 <= w - dx < SHAPE[2]:
                out[..., h, w] = x[..., h - dy, w - dx]
        return out

    views = []
    for view in parse_pipeline(text).views:
        maps = [(1.0, lambda x: x)]
        for op in view.ops:
            if op.name == "flip":
                opts = [(1 - op.prob, lambda x: x), (op.prob, lambda x: x.flip(-1))]
            else:
                k = op.k
                opts = [(1 / (2 * k + 1) ** 2, lambda x, a=dy, b=dx: shift(x, a, b))
                        for dy in range(-k, k + 1) for dx in range(-k, k + 1)]
            maps = [(w1 * w2, lambda x, f=f1, g=f2: g(f(x))) for (w1, f1) in maps for (w2, f2) in opts]
        views.append(maps)
    return views


@pytest.mark.parametrize("text", ["flip", "shift:1", "flip+shift:1", "flip:0.3", "flip | shift:1",
                                  "flip+noise:0.1"])
def test_finite_mixtures_equal_the_loop_over_maps(images, text):
    """A, B, μ of finite mixtures: exact (one C₂, gathers) = the old brute force (every map on every image)."""
    est = augmentation_moments(images, text)
    assert est.method == "exact" and est.noise_floor == 0 and est.shape == SHAPE
    n = images.n
    x = torch.as_tensor(images.rows(0, n)).reshape(n, *SHAPE)  # float64
    v1, v2 = _explicit_maps(text)
    flat = lambda f: f(x).reshape(n, -1).numpy()  # noqa: E731
    mu = [sum(w * flat(f).mean(0) for w, f in v) for v in (v1, v2)]
    cross = sum(w1 * w2 * flat(f1).T @ flat(f2) / n for w1, f1 in v1 for w2, f2 in v2) - np.outer(mu[0], mu[1])
    second = [sum(w * flat(f).T @ flat(f) / n for w, f in v) - np.outer(m, m)
              for v, m in zip((v1, v2), mu, strict=True)]
    noise = parse_pipeline(text).first.noise ** 2
    np.testing.assert_allclose(est.mean, (mu[0] + mu[1]) / 2, atol=1e-12)
    np.testing.assert_allclose(est.cross_cov, (cross + cross.T) / 2, atol=1e-12)
    np.testing.assert_allclose(est.view_cov, (second[0] + second[1]) / 2 + noise * np.eye(DIM), atol=1e-12)


def _drawn_maps(text: str, view: int, k: int, seed: int) -> np.ndarray:
    """k explicit (D, D) matrices of drawn maps M_θ (each θ applied to the D basis images)."""
    v = parse_pipeline(text).views[view]
    th = sample_view(v, k, torch.Generator().manual_seed(seed), SHAPE, ops=v.linear_ops)
    th = [{key: val.repeat_interleave(DIM) for key, val in t.items()} for t in th]
    basis = torch.eye(DIM, dtype=torch.float64).reshape(DIM, *SHAPE).repeat(k, 1, 1, 1)
    return apply_ops(v.linear_ops, basis, th).reshape(k, DIM, DIM).transpose(1, 2).numpy()


@pytest.mark.parametrize("text", ["crop:0.3,1,0.5,2", "jitter:0.5,0.4,0.3,0.1,p=0.7", "simclr",
                                  "crop:0.5+shift:1+flip+gray:0.3", "crop+flip | crop+blur:3,0.2,1.2,p=0.5"])
def test_random_linear_maps_against_the_loop_over_drawn_maps(images, text):
    """A, μ exact through the mean maps = the average over 1,200 explicit drawn maps (within its sampling error);
    B from drawn maps within the two estimates' floors; and the rows route = explicit M̄ Σ₀ M̄ᵀ to 1e-12."""
    est = augmentation_moments(images, text, draws=64)
    assert est.method == "mean_maps" and est.noise_floor == 0 and est.view_floor > 0
    x = images.rows(0, images.n)
    c2, mu0 = x.T @ x / len(x), x.mean(0)
    sigma0 = c2 - np.outer(mu0, mu0)
    pipe = parse_pipeline(text)
    mbar = []
    for v in range(2):  # the mean maps as explicit matrices: the rows route must equal M̄₁ Σ₀ M̄₂ᵀ exactly
        basis = torch.eye(DIM, dtype=torch.float64).reshape(DIM, *SHAPE)
        mbar.append(mean_ops(pipe.views[v].linear_ops, basis).reshape(DIM, DIM).numpy().T)
    a_exact = mbar[0] @ sigma0 @ mbar[1].T
    np.testing.assert_allclose(est.cross_cov, (a_exact + a_exact.T) / 2, atol=1e-12)
    np.testing.assert_allclose(est.mean, (mbar[0] + mbar[1]) @ mu0 / 2, atol=1e-12)
    # against the loop over drawn maps: two independent halves give the loop's own error
    halves = [[_drawn_maps(text, v, 600, seed=10 * h + v) for v in range(2)] for h in range(2)]
    a_loop = [m1.mean(0) @ sigma0 @ m2.mean(0).T for m1, m2 in halves]
    a_loop = [(a + a.T) / 2 for a in a_loop]
    err = np.linalg.norm(a_loop[0] - a_loop[1], 2) / 2
    assert np.linalg.norm(est.cross_cov - (a_loop[0] + a_loop[1]) / 2, 2) < 5 * err + 1e-12
    mu_loop = sum(m.mean(0) @ mu0 for h in halves for m in h) / 4
    b_loop = []
    for h in halves:
        b = [(m @ c2 @ m.transpose(0, 2, 1)).mean(0) - np.outer(mv, mv)
             for m, mv in zip(h, (h[0].mean(0) @ mu0, h[1].mean(0) @ mu0), strict=True)]
        b_loop.append((b[0] + b[1]) / 2)
    berr = np.linalg.norm(b_loop[0] - b_loop[1], 2) / 2
    assert np.abs(est.mean - mu_loop).max() < 0.02
    assert np.linalg.norm(est.view_cov - (b_loop[0] + b_loop[1]) / 2, 2) < 5 * (berr + est.view_floor)


@pytest.mark.parametrize("text", ["flip+solarize:0.3", "byol", "crop:0.5+clip"])
def test_nonlinear_branch_against_monte_carlo_over_images(images, text):
    """Linear branch by structure + nonlinear branch by Monte-Carlo = Monte-Carlo of everything, within floors."""
    est = augmentation_moments(images, text, pairs=8, draws=32, seed=1)
    mc = augmentation_moments(images, text, mc=True, pairs=64, seed=2)
    assert est.method.endswith("+monte_carlo") or text == "crop:0.5+clip"  # clip acts always: all Monte-Carlo
    assert mc.method == "monte_carlo" and mc.noise_floor > 0
    assert np.linalg.norm(est.cross_cov - mc.cross_cov, 2) < 4 * (est.noise_floor + mc.noise_floor)
    assert np.abs(est.mean - mc.mean).max() < 0.02


def test_the_training_views_have_the_estimated_mean(images):
    """The views training draws (PipelineAugment) average to the estimated μ_v: one definition of the ops."""
    est = augmentation_moments(images, "simclr")
    x = torch.as_tensor(images.float32())
    aug, gen = PipelineAugment("simclr"), torch.Generator().manual_seed(0)
    draws = torch.stack([aug(x, gen) for _ in range(100)]).double()
    np.testing.assert_allclose(est.mean, draws.mean((0, 1)).reshape(-1).numpy(), atol=0.02)


def test_noise_on_vectors_gives_a_equal_c_and_isotropic_s():
    x = np.random.default_rng(1).normal(size=(300, 7))
    est = augmentation_moments(x, "noise:0.1")
    m = est.as_moments()
    np.testing.assert_allclose(np.diag(m.noise_cov), 0.01, atol=1e-9)
    np.testing.assert_allclose(m.cov, np.cov(x, rowvar=False, bias=True), atol=1e-12)
    with pytest.raises(UserError, match="need images") as err:
        augmentation_moments(x, "flip")
    assert "\n" not in str(err.value)


def test_the_exact_route_needs_no_torch(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((30, 36)))
    code = ("import sys; from sslscape.moments import dataset_moments; "
            f"e = dataset_moments({str(tmp_path / 'x.npy')!r}, 'flip+shift:1'); "
            "print(e.method, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["exact", "False"]


def test_moments_file_keeps_the_shape_and_a_spec_references_it(tmp_path, images):
    est = augmentation_moments(images, "crop:0.5+flip", draws=8)
    path = save_moments(est, tmp_path / "m.npz")
    back = load_moments_file(path)
    assert back.shape == SHAPE and back.to_dict() == est.to_dict() and back.method == "mean_maps"
    (tmp_path / "spec.json").write_text(json.dumps({"objective": "spectral", "data": {"moments": "m.npz"},
                                                    "weight_decay": 0.01}))
    spec = load_spec(tmp_path / "spec.json")  # a relative moments path is resolved against the spec's folder
    m, ref = moments_of(spec), est.as_moments()
    np.testing.assert_allclose(m.cov, ref.cov, atol=1e-15)
    np.testing.assert_allclose(m.noise_cov, ref.noise_cov, atol=1e-15)
    with pytest.raises(UserError, match="noise_cov comes from data.moments"):
        parse_spec({"objective": "spectral", "data": {"moments": str(path)}, "augmentation": {"noise_cov": [1.0]}})
    with pytest.raises(UserError, match="exactly one of"):
        parse_spec({"objective": "spectral", "data": {"moments": str(path), "cov": [1.0]}})


def test_spec_moments_and_psd_helpers():
    m = moments_of(parse_spec({"objective": "spectral", "data": {"cov": [[2, 1], [1, 2]], "mean": [1, -1]},
                               "augmentation": {"noise_cov": [0.5, 0.5], "noise_scale": 2.0}}))
    np.testing.assert_allclose(m.noise_cov, np.eye(2))
    f = psd_factor(m.cov)
    np.testing.assert_allclose(f @ f.T, m.cov, atol=1e-12)
    np.testing.assert_allclose(psd_project(np.diag([1.0, -2.0])), np.diag([1.0, 0.0]))
