import torch

from sslscape.augment import ImageAugment, NoiseAugment, make_views
from sslscape.augment import ImageAugmentConfig as ImageCfg


def test_noise_augment_has_the_requested_covariance():
    s = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    aug = NoiseAugment(torch.linalg.cholesky(s))
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(200_000, 2)
    eps = aug(x, g)
    torch.testing.assert_close(eps.T @ eps / len(eps), s, atol=0.02, rtol=0.02)


def test_protocols():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3)
    aug = NoiseAugment(torch.eye(3))
    a, p, clean = make_views(x, aug, "clean_negatives", g)
    assert clean and torch.equal(a, x) and not torch.equal(p, x)
    a, p, clean = make_views(x, aug, "augmented_negatives", g)
    assert not clean and not torch.equal(a, x) and not torch.equal(a, p)


def test_identity_crop_without_flip_or_jitter_returns_the_image():
    cfg = ImageCfg(crop_scale=[1.0, 1.0], crop_ratio=[1.0, 1.0], flip=False, brightness=0.0, contrast=0.0)
    x = torch.rand(4, 1, 12, 12)
    y = ImageAugment(cfg)(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(y, x, atol=1e-5, rtol=0)


def test_flip_mirrors_exactly():
    cfg = ImageCfg(crop_scale=[1.0, 1.0], crop_ratio=[1.0, 1.0], flip=True, brightness=0.0, contrast=0.0)
    x = torch.rand(64, 1, 6, 6)
    y = ImageAugment(cfg)(x, torch.Generator().manual_seed(1))
    flipped = torch.isclose(y, x.flip(-1), atol=1e-5).flatten(1).all(1)
    same = torch.isclose(y, x, atol=1e-5).flatten(1).all(1)
    assert bool((flipped | same).all()) and 10 < int(flipped.sum()) < 54


def test_blur_matches_a_per_sample_reference_and_is_batched():
    cfg = ImageCfg(blur_prob=1.0, blur_sigma=[0.5, 1.5])
    aug = ImageAugment(cfg)
    x = torch.rand(5, 2, 10, 10)
    g = torch.Generator().manual_seed(3)
    y = aug.blur(x, g)
    sigma = 0.5 + torch.rand(5, generator=torch.Generator().manual_seed(3))  # same draws as inside blur
    r = aug.blur_radius
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    for i in range(5):  # independent per-sample reference
        k = torch.exp(-0.5 * (t / sigma[i]) ** 2)
        k = k / k.sum()
        img = torch.nn.functional.pad(x[i:i + 1], (r, r, r, r), mode="reflect")
        ref = torch.nn.functional.conv2d(img, k.view(1, 1, 1, -1).repeat(2, 1, 1, 1), groups=2)
        ref = torch.nn.functional.conv2d(ref, k.view(1, 1, -1, 1).repeat(2, 1, 1, 1), groups=2)
        torch.testing.assert_close(y[i:i + 1], ref, atol=1e-5, rtol=1e-5)


def test_full_image_pipeline_shapes_range_and_seed():
    aug = ImageAugment(ImageCfg(blur_prob=0.5))
    x = torch.rand(16, 1, 28, 28)
    y1 = aug(x, torch.Generator().manual_seed(0))
    y2 = aug(x, torch.Generator().manual_seed(0))
    assert y1.shape == x.shape and float(y1.min()) >= 0 and float(y1.max()) <= 1
    assert torch.equal(y1, y2)
