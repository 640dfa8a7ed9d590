"""sslscape.augment: every op against an independent reference (F.interpolate per crop, a per-image convolution,
an HSV hue shift, explicit index loops), the mean maps against many drawn maps, the grammar and the presets."""

from __future__ import annotations

import colorsys
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sslscape.augment import (
    Blur,
    Crop,
    Flip,
    Gray,
    ImageAugment,
    ImageAugmentConfig,
    Jitter,
    NoiseAugment,
    PipelineAugment,
    Shift,
    Solarize,
    apply_ops,
    make_augment,
    make_views,
    mean_ops,
    parse_pipeline,
    sample_view,
)
from sslscape.errors import UserError


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_noise_augment_has_the_requested_covariance():
    s = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    eps = NoiseAugment(torch.linalg.cholesky(s))(torch.zeros(200_000, 2), gen())
    torch.testing.assert_close(eps.T @ eps / len(eps), s, atol=0.02, rtol=0.02)


def test_protocols_and_two_views():
    x = torch.randn(8, 3)
    aug = NoiseAugment(torch.eye(3))
    a, p, clean = make_views(x, aug, "clean_negatives", gen())
    assert clean and torch.equal(a, x) and not torch.equal(p, x)
    a, p, clean = make_views(x, aug, "augmented_negatives", gen())
    assert not clean and not torch.equal(a, x) and not torch.equal(a, p)
    # a two-view pipeline: the anchor gets view 1 (no solarisation), the positive view 2 (always solarised)
    imgs = torch.rand(16, 1, 6, 6)
    a, p, _ = make_views(imgs, make_augment("flip:0 | solarize:1"), "augmented_negatives", gen())
    torch.testing.assert_close(a, imgs)
    torch.testing.assert_close(p, torch.where(imgs >= 0.5, 1 - imgs, imgs))


def test_crop_matches_f_interpolate_of_each_box_and_one_row_theta_broadcasts():
    x = torch.rand(12, 3, 9, 7, dtype=torch.float64)
    op = Crop(0.1, 1.0, 0.5, 2.0)
    th = op.sample(12, gen(1), (3, 9, 7), "cpu")
    y = op.apply(x, th)
    for i in range(12):  # the reference: torchvision's resized crop = F.interpolate of the box, bilinear
        t, l, h, w = (int(th[k][i]) for k in ("top", "left", "height", "width"))
        ref = F.interpolate(x[i:i + 1, :, t:t + h, l:l + w], size=(9, 7), mode="bilinear", align_corners=False)
        torch.testing.assert_close(y[i:i + 1], ref, atol=1e-12, rtol=0)
    one = {k: v[3:4] for k, v in th.items()}  # one θ row: the same map for every image
    torch.testing.assert_close(op.apply(x, one), op.apply(x, {k: v[3:4].expand(12) for k, v in th.items()}))


def test_crop_box_distribution_matches_its_quadrature():
    op = Crop(0.2, 0.9, 0.6, 1.7)
    th = op.sample(200_000, gen(2), (1, 10, 8), "cpu")
    emp = np.zeros((10, 8))
    np.add.at(emp, (th["height"].numpy() - 1, th["width"].numpy() - 1), 1.0 / 200_000)
    p, fb, (fh, fw) = op.box_probabilities(10, 8)
    p[fh - 1, fw - 1] += fb
    assert abs(p.sum() - 1) < 1e-9
    assert np.abs(emp - p).max() < 5 * math.sqrt(p.max() / 200_000)
    identity = Crop(1.0, 1.0, 1.0, 1.0)  # the whole image: exactly the identity
    x = torch.rand(3, 1, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(identity.apply(x, identity.sample(3, gen(), (1, 6, 6), "cpu")), x)


def test_flip_and_shift_against_index_loops():
    x = torch.rand(6, 2, 4, 5, dtype=torch.float64)
    flipped = Flip(1.0).apply(x, Flip(1.0).sample(6, gen(), (2, 4, 5), "cpu"))
    ref = torch.zeros_like(x)
    for w in range(5):
        ref[..., w] = x[..., 4 - w]
    torch.testing.assert_close(flipped, ref)
    op = Shift(1)
    th = op.sample(6, gen(3), (2, 4, 5), "cpu")
    y = op.apply(x, th)
    for i in range(6):
        t = int(th["choice"][i])
        dy, dx = t // 3 - 1, t % 3 - 1
        ref = torch.zeros_like(x[i])
        for h in range(4):
            for w in range(5):
                if 0 <= h - dy < 4 and 0 <= w - dx < 5:
                    ref[:, h, w] = x[i, :, h - dy, w - dx]
        torch.testing.assert_close(y[i], ref)


def _hsv_hue_shift(img: np.ndarray, h: float) -> np.ndarray:
    """torchvision's adjust_hue on an RGB image (3, H, W): hue += h in HSV (colorsys), per pixel."""
    out = np.empty_like(img)
    for i in range(img.shape[1]):
        for j in range(img.shape[2]):
            hh, s, v = colorsys.rgb_to_hsv(*img[:, i, j])
            out[:, i, j] = colorsys.hsv_to_rgb((hh + h) % 1.0, s, v)
    return out


def test_jitter_against_torchvision_formulas_and_hue_against_hsv():
    x = torch.rand(5, 3, 4, 4, dtype=torch.float64)
    op = Jitter(0.5, 0.5, 0.5, 0.0, prob=1.0)
    th = op.sample(5, gen(4), (3, 4, 4), "cpu")
    y = op.apply(x, th)
    g = np.array([0.299, 0.587, 0.114])
    for i in range(5):
        v = x[i].numpy() * float(th["brightness"][i])
        c = float(th["contrast"][i])
        v = c * v + (1 - c) * np.tensordot(g, v, 1).mean()
        s = float(th["saturation"][i])
        v = s * v + (1 - s) * np.tensordot(g, v, 1)[None]
        np.testing.assert_allclose(y[i].numpy(), v, atol=1e-12)
    # hue: the rotation about the grey axis — keeps the channel mean, and is nearer torchvision's HSV shift than
    # no shift at all (the best a linear map can do: docs/augmentations.md)
    img = torch.rand(1, 3, 8, 8, dtype=torch.float64, generator=gen(11)) * 0.6 + 0.2
    hue = Jitter(hue=0.1)
    for h in (0.05, -0.1):
        th = {"on": torch.tensor([True]), "brightness": torch.ones(1), "contrast": torch.ones(1),
              "saturation": torch.ones(1), "hue": torch.tensor([h], dtype=torch.float64)}
        out = hue.apply(img, th)[0].numpy()
        np.testing.assert_allclose(out.mean(0), img[0].numpy().mean(0), atol=1e-12)
        ref = _hsv_hue_shift(img[0].numpy(), h)
        assert np.abs(out - ref).mean() < 0.9 * np.abs(img[0].numpy() - ref).mean()


def test_blur_matches_a_per_image_reference():
    op = Blur(5, 0.5, 1.5, prob=1.0)
    x = torch.rand(4, 2, 10, 9, dtype=torch.float64)
    th = op.sample(4, gen(5), (2, 10, 9), "cpu")
    y = op.apply(x, th)
    t = torch.arange(5, dtype=torch.float64) - 2
    for i in range(4):  # torchvision's GaussianBlur: reflect padding, separable normalised kernel
        k = torch.exp(-0.5 * (t / th["sigma"][i]) ** 2)
        k = k / k.sum()
        img = F.pad(x[i:i + 1], (2, 2, 2, 2), mode="reflect")
        ref = F.conv2d(img, (k[:, None] * k[None, :]).expand(2, 1, 5, 5), groups=2)
        torch.testing.assert_close(y[i:i + 1], ref, atol=1e-12, rtol=0)


def test_gray_solarize_clip_and_probabilities():
    x = torch.rand(2000, 3, 2, 2, dtype=torch.float64) * 1.4 - 0.2
    g = Gray(0.3).apply(x, Gray(0.3).sample(2000, gen(6), (3, 2, 2), "cpu"))
    grey = (x * torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)).sum(1, keepdim=True)
    made_grey = torch.isclose(g, grey.expand_as(x)).flatten(1).all(1)
    assert 0.25 < float(made_grey.double().mean()) < 0.35
    assert torch.equal(g[~made_grey], x[~made_grey])
    s = Solarize(1.0, 0.4).apply(x, Solarize(1.0).sample(2000, gen(), (3, 2, 2), "cpu"))
    torch.testing.assert_close(s, torch.where(x >= 0.4, 1 - x, x))
    assert float(make_augment("clip")(x, gen()).min()) == 0.0


@pytest.mark.parametrize("text", ["flip", "shift:1", "crop:0.3,1,0.5,2", "jitter:0.6,0.5,0.7,0.2,p=0.7", "gray:0.4",
                                  "blur:3,0.3,1.5,p=0.6", "simclr", "crop:0.5+flip+blur:3"])
def test_mean_map_is_the_average_of_the_drawn_maps(text):
    """M̄x (mean_ops: exact quadratures) against the average of 40,000 drawn maps applied to the same images."""
    shape = (3, 6, 5)
    view = parse_pipeline(text).first
    x = torch.rand(2, *shape, dtype=torch.float64)
    n = 20_000
    th = sample_view(view, 2 * n, gen(7), shape)
    drawn = apply_ops(view.ops, x.repeat(n, 1, 1, 1), th).view(n, 2, *shape)
    mean, err = drawn.mean(0), drawn.std(0) / math.sqrt(n)
    exact = mean_ops(view.ops, x)
    assert float(((exact - mean).abs() / (err + 1e-12)).max()) < 5.0
    if all(op.kind == "finite" for op in view.ops):  # finite mixtures: also exactly the weighted maps
        idx, w = view.ops[0].maps(shape)
        flat = x.reshape(2, -1)
        ref = sum(wt * flat[:, np.where(i < 0, 0, i)] * torch.as_tensor(i >= 0) for i, wt in zip(idx, w, strict=True))
        torch.testing.assert_close(exact.reshape(2, -1), ref, atol=1e-14, rtol=0)


def test_views_are_batched_and_seeded():
    aug = make_augment("simclr", (3, 8, 8))
    x = torch.rand(32, 3, 8, 8)
    a1, b1 = aug.views(x, gen(9))
    a2, b2 = aug.views(x, gen(9))
    assert torch.equal(a1, a2) and torch.equal(b1, b2) and not torch.equal(a1, b1) and a1.shape == x.shape
    # one batched call = the same θ applied image by image
    view = aug.pipeline.first
    th = sample_view(view, 32, gen(10), (3, 8, 8))
    batched = apply_ops(view.ops, x, th)
    for i in (0, 17, 31):
        one = apply_ops(view.ops, x[i:i + 1], [{k: v[i:i + 1] for k, v in t.items()} for t in th])
        torch.testing.assert_close(batched[i:i + 1], one, atol=1e-6, rtol=1e-6)


def test_grammar_order_presets_and_round_trip():
    assert parse_pipeline("shift:1+flip") == parse_pipeline("flip+shift:1")  # the table's order, whatever written
    for text in ("simclr", "byol", "shift:1+flip", "flip | flip+solarize:0.2,t=0.4", "none",
                 "crop:0.2,0.9+jitter:0.4,0.4,0.2,0.1,p=0.8+gray:0.2+blur:auto,p=0.5+noise:0.05"):
        p = parse_pipeline(text)
        assert parse_pipeline(p.text).views == p.views, text
    simclr, byol = parse_pipeline("simclr"), parse_pipeline("byol")
    assert simclr.symmetric and simclr.kind == "linear" and not byol.symmetric and byol.kind == "nonlinear"
    crop, _, jit, gray, blur = simclr.first.ops
    assert (crop.smin, crop.smax, jit.brightness, jit.hue, jit.prob, gray.prob, blur.prob) == (
        0.08, 1.0, 0.8, 0.2, 0.8, 0.2, 0.5)
    assert byol.first.ops[-1].prob == 1.0 and byol.second.ops[-2].prob == 0.1 and byol.second.ops[-1].prob == 0.2
    assert Blur().resolved((3, 32, 32))[0] == 3 and Blur().resolved((3, 224, 224)) == (23, 0.1, 2.0)


@pytest.mark.parametrize("text", ["rotate:3", "flip:2", "shift", "shift:1.5", "jitter:-1", "blur:4", "a|b|c",
                                  "flip+flip", "", "crop:0", "noise:x", "solarize:p=2", "crop:0.5,0.2"])
def test_bad_pipelines_are_one_line(text):
    with pytest.raises(UserError) as err:
        parse_pipeline(text)
    assert "\n" not in str(err.value) and len(str(err.value)) < 400


def test_pipeline_refuses_images_it_cannot_act_on():
    with pytest.raises(UserError, match="need images"):
        PipelineAugment("flip")(torch.rand(4, 10), gen())
    with pytest.raises(UserError, match="too large"):
        make_augment("blur:13", (1, 6, 6))
    with pytest.raises(UserError, match="RGB"):
        make_augment("jitter:0.4", (2, 6, 6))


def test_training_config_image_augment_is_a_pipeline():
    cfg = ImageAugmentConfig(crop_scale=[1.0, 1.0], crop_ratio=[1.0, 1.0], flip=False, brightness=0.0,
                             contrast=0.0)
    x = torch.rand(4, 1, 12, 12)
    torch.testing.assert_close(ImageAugment(cfg)(x, gen()), x, atol=1e-6, rtol=0)
    assert ImageAugment(ImageAugmentConfig(pipeline="simclr")).pipeline == parse_pipeline("simclr")
    assert "jitter:0.4,0.4" in ImageAugment(ImageAugmentConfig()).pipeline.text
    with pytest.raises(ValueError, match="not both"):
        ImageAugmentConfig(pipeline="simclr", flip=False)
    with pytest.raises(ValueError, match="unknown augmentation step"):
        ImageAugmentConfig(pipeline="rotate")
