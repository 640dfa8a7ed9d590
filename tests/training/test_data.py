import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from sslscape.moments import moments_of
from sslscape.spec import parse_spec
from sslscape.training.config import DataConfig
from sslscape.training.data import (
    FASHION_MNIST_ROOT,
    DataError,
    GaussianSource,
    build_source,
    load_fashion_mnist,
    read_idx,
)

CPU = torch.device("cpu")


def test_gaussian_source_has_the_spec_moments():
    spec = parse_spec({"objective": "spectral", "data": {"cov": [[2.0, 0.8], [0.8, 1.0]], "mean": [1.0, -2.0]}})
    src = GaussianSource(moments_of(spec), CPU, 16, seed=0)
    x = src.batch(0, 200_000, torch.Generator().manual_seed(0)).x
    torch.testing.assert_close(x.mean(0), torch.tensor([1.0, -2.0]), atol=0.02, rtol=0)
    torch.testing.assert_close(torch.cov(x.T), torch.tensor([[2.0, 0.8], [0.8, 1.0]]), atol=0.03, rtol=0)


def test_mixture_class_weights():
    spec = parse_spec({"objective": "spectral", "data": {"cov": [1.0, 1.0, 1.0]}})
    src = build_source(DataConfig(source="mixture", class_weights=[0.9, 0.1]), moments_of(spec), CPU, 0)
    b = src.batch(0, 50_000, torch.Generator().manual_seed(0))
    assert abs(float((b.y == 0).float().mean()) - 0.9) < 0.01
    torch.testing.assert_close(b.x[b.y == 1].mean(0), torch.tensor([0.0, 3.0, 0.0]), atol=0.05, rtol=0)


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def test_idx_reader_and_fake_fashion_mnist(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 255, (10, 28, 28))
    for split in ("train", "t10k"):
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", imgs)
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(10) % 3)
    np.testing.assert_array_equal(read_idx(tmp_path / "train-images-idx3-ubyte.gz"), imgs)
    tx, ty, vx, vy = load_fashion_mnist(tmp_path)
    assert tx.shape == (10, 28, 28) and list(ty[:4]) == [0, 1, 2, 0]


def test_missing_fashion_mnist_says_how_to_install(tmp_path):
    with pytest.raises(DataError, match=r"apt-get update && apt-get install -y dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "nowhere")


@pytest.mark.skipif(not FASHION_MNIST_ROOT.is_dir(), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist():
    tx, ty, vx, vy = load_fashion_mnist()
    assert tx.shape == (60000, 28, 28) and vx.shape == (10000, 28, 28) and set(np.unique(ty)) == set(range(10))


def _moments():
    return moments_of(parse_spec({"objective": "spectral", "data": {"cov": [1.0]}}))


def test_digits_source_and_resume_safe_batches():
    src = build_source(DataConfig(source="digits", subset=500), _moments(), CPU, seed=0)
    assert src.is_image and src.shape == (1, 8, 8) and src.x.shape[0] == 500
    again = build_source(DataConfig(source="digits", subset=500), _moments(), CPU, seed=0)
    g = torch.Generator()
    for step in (0, 3, 7):  # a batch is a pure function of (seed, step)
        assert torch.equal(src.batch(step, 64, g).x, again.batch(step, 64, g).x)
    assert float(src.eval_set().x.max()) <= 1.0


def test_file_source_rejects_bad_arrays(tmp_path):
    bad = np.ones((5, 3))
    bad[2, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(DataError, match="1 examples with NaN"):
        build_source(DataConfig(source="file", path=str(tmp_path / "nan.npy")), _moments(), CPU, 0)
    np.save(tmp_path / "flat.npy", np.ones(7))
    with pytest.raises(DataError, match=r"shape \(7,\)"):
        build_source(DataConfig(source="file", path=str(tmp_path / "flat.npy")), _moments(), CPU, 0)
    np.save(tmp_path / "ok.npy", np.ones((10, 3)))
    np.save(tmp_path / "y.npy", np.zeros(9))
    with pytest.raises(DataError, match="9 entries"):
        build_source(DataConfig(source="file", path=str(tmp_path / "ok.npy"), labels=str(tmp_path / "y.npy")),
                     _moments(), CPU, 0)
    with pytest.raises(DataError, match="does not exist"):
        build_source(DataConfig(source="file", path=str(tmp_path / "missing.npz")), _moments(), CPU, 0)


def test_file_sources_npz_and_pt(tmp_path):
    x = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x)
    torch.save(torch.from_numpy(x), tmp_path / "d.pt")
    for name in ("d.npz", "d.pt"):
        src = build_source(DataConfig(source="file", path=str(tmp_path / name)), _moments(), CPU, 0)
        assert src.dim == 4 and src.x.shape == (16, 4) and not src.is_image


def test_image_folder(tmp_path):
    from PIL import Image

    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(np.full((10, 12), 40 * i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    src = build_source(DataConfig(source="folder", path=str(tmp_path), image_size=8), _moments(), CPU, 0)
    assert src.shape == (1, 8, 8) and src.x.dtype == torch.uint8
    assert src.x.shape[0] + src.test_x.shape[0] == 6


def test_rgb_folder_and_nhwc_file_sources(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, (8, 6, 7, 3)).astype(np.uint8)  # NHWC
    (tmp_path / "folder").mkdir()
    for i, img in enumerate(imgs):
        Image.fromarray(img).save(tmp_path / "folder" / f"{i}.png")
    src = build_source(DataConfig(source="folder", path=str(tmp_path / "folder"), image_size=5), _moments(), CPU, 0)
    assert src.shape == (3, 5, 5) and src.is_image  # colour kept, resized
    np.save(tmp_path / "nhwc.npy", imgs)
    src = build_source(DataConfig(source="file", path=str(tmp_path / "nhwc.npy")), _moments(), CPU, 0)
    assert src.shape == (3, 6, 7)
    nchw = imgs.transpose(0, 3, 1, 2)
    assert all(any(np.array_equal(a, b) for b in nchw) for a in src.x.numpy())  # the channel axis moved, no mixing
    np.save(tmp_path / "ambiguous.npy", np.zeros((8, 3, 5, 3), np.float32))
    with pytest.raises(DataError, match="give --layout"):
        build_source(DataConfig(source="file", path=str(tmp_path / "ambiguous.npy")), _moments(), CPU, 0)


def test_training_uses_the_pipeline_of_data_image(tmp_path):
    """A linear encoder on RGB images with the SimCLR preset: the views come from sslscape.augment (the same ops
    `estimate` computes the moments of)."""
    from sslscape.training import parse_config, train

    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((64, 3, 6, 6)).astype(np.float32))
    cfg = parse_config({"spec": {"objective": "spectral", "weight_decay": 0.01, "embed_dim": 4},
                        "model": {"kind": "linear"}, "device": "cpu",
                        "data": {"source": "file", "path": str(tmp_path / "x.npy"), "augment": "image",
                                 "image": {"pipeline": "simclr"}, "eval_size": 16},
                        "schedule": {"steps": 3, "batch_size": 16, "log_every": 3, "checkpoint_every": 10},
                        "eval": {"knn": False}})
    res = train(cfg, None)
    assert res.model.effective_weight().shape == (4, 108)
