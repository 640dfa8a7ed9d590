"""`sslscape estimate` on your own data: arrays in every common layout, folders of PNG/JPEG images (grey or RGB),
the small spec that references the moments file, RGB through predict / phase / advise / projector,
progress, and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sslscape.cli import main
from sslscape.datasets import DataError, load_images
from sslscape.moments import augmentation_moments, cached_dataset_moments, moments_key, moments_of
from sslscape.spec import load_spec


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def _images(n: int = 24, c: int = 3, h: int = 6, w: int = 6, seed: int = 0) -> np.ndarray:
    """(n, C, H, W) uint8 images with smooth structure."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    f = 128 + 90 * np.sin(yy[None, None] * rng.random((n, c, 1, 1)) + xx[None, None] * rng.random((n, c, 1, 1)))
    return np.clip(f + rng.normal(0, 15, (n, c, h, w)), 0, 255).astype(np.uint8)


@pytest.fixture
def rgb_folder(tmp_path) -> Path:
    """Two class sub-folders of 6×6 RGB PNGs (and one JPEG)."""
    x = _images(20)
    for i, img in enumerate(x):
        folder = tmp_path / "imgs" / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img.transpose(1, 2, 0)).save(folder / f"{i}.{'jpg' if i == 3 else 'png'}")
    return tmp_path / "imgs"


def test_every_array_layout_reads_as_the_same_images(tmp_path):
    x = _images()  # NCHW
    files = {"nchw.npy": x, "nhwc.npy": x.transpose(0, 2, 3, 1), "flat_nchw.npy": x.reshape(24, -1),
             "flat_nhwc.npy": x.transpose(0, 2, 3, 1).reshape(24, -1)}
    for name, arr in files.items():
        np.save(tmp_path / name, arr)
    layouts = {"nchw.npy": None, "nhwc.npy": None, "flat_nhwc.npy": "NHWC", "flat_nchw.npy": "NCHW"}
    for name, layout in layouts.items():
        size = (6, 6, 3) if name.startswith("flat") else None
        im = load_images(tmp_path / name, size=size, layout=layout)
        assert im.shape == (3, 6, 6) and np.array_equal(im.x, x) and im.scale == 1 / 255, name
        assert "RGB 6×6" in im.read_as
    grey = _images(c=1)[:, 0]
    np.save(tmp_path / "nhw.npy", grey)
    np.save(tmp_path / "flat.npy", grey.reshape(24, 36).astype(np.float32) / 255)
    assert load_images(tmp_path / "nhw.npy").shape == (1, 6, 6)
    flat = load_images(tmp_path / "flat.npy")
    assert flat.shape == (1, 6, 6) and "36 = 6²" in flat.read_as  # a square grey inference, said
    assert load_images(tmp_path / "flat.npy", size=(4, 9)).shape == (1, 4, 9)  # non-square, from --size
    np.save(tmp_path / "vectors.npy", np.random.default_rng(0).random((10, 7)))
    assert load_images(tmp_path / "vectors.npy").shape == (7,)


@pytest.mark.parametrize("shape,layout,size,match", [
    ((8, 3, 6, 3), None, None, "cannot tell the channel axis; give --layout"),
    ((8, 108), None, (6, 6), "--layout NCHW .* or NHWC"),
    ((8, 100), None, (6, 6), "does not fit"),
    ((8, 6, 6, 4), "NHWC", None, "4 channels"),
    ((8, 6, 6), "NHWC", None, "its layout is NHW"),
    ((8, 36), "NCHW", None, "give the image size too"),
    ((1, 36), None, None, "n ≥ 2"),
])
def test_ambiguous_or_bad_arrays_are_refused_in_one_line(tmp_path, shape, layout, size, match):
    np.save(tmp_path / "x.npy", np.zeros(shape, np.float32))
    with pytest.raises(DataError, match=match) as err:
        load_images(tmp_path / "x.npy", size=size, layout=layout)
    assert "\n" not in str(err.value)


def test_folders_grey_rgb_sizes_and_resizing(tmp_path, rgb_folder):
    im = load_images(rgb_folder)
    assert im.shape == (3, 6, 6) and im.n == 20 and sorted(set(im.labels)) == [0, 1] and im.x.dtype == np.uint8
    grey = tmp_path / "grey"
    grey.mkdir()
    for i, img in enumerate(_images(6, c=1)):
        Image.fromarray(img[0], mode="L").resize((6 + (i % 2) * 2, 6)).save(grey / f"{i}.png")
    with pytest.raises(DataError, match=r"2 sizes \(H×W: count — 6×6: 3, 6×8: 3\); give --size H,W") as err:
        load_images(grey)
    assert "\n" not in str(err.value)
    resized = load_images(grey, size=(5, 7))
    assert resized.shape == (1, 5, 7) and "grey" in resized.read_as
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has 0 images"):
        load_images(tmp_path / "empty")
    (grey / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot read image .*broken.png"):
        load_images(grey, size=(5, 7))


def test_estimate_writes_a_small_spec_that_references_the_moments(tmp_path, capsys):
    out = tmp_path / "spec.json"
    code, stdout, _ = _run(["estimate", "digits", "--augment", "noise:0.1", "--samples", "300", "--json",
                            "--out", str(out), "--no-cache"], capsys)
    assert code == 0
    res = json.loads(stdout)
    assert out.stat().st_size < 400 and json.loads(out.read_text())["data"] == {"moments": res["moments_file"]}
    m = moments_of(load_spec(out))
    np.testing.assert_allclose(m.noise_cov, 0.01 * np.eye(64), atol=1e-12)  # noise: S = σ² I exactly, A = C
    assert res["method"] == "exact" and {"rank", "phase"} <= set(res["prediction"]) and res["uncertain"] is False


def test_rgb_folder_through_estimate_predict_phase_advise(tmp_path, rgb_folder, capsys, monkeypatch):
    """(The explorer takes the same spec: 20–70 s of grids on this machine, so it is checked in
    benchmarks/bench_estimate.py, not here.)"""
    monkeypatch.setenv("SSLSCAPE_CACHE", str(tmp_path / "cache"))
    spec = tmp_path / "spec.json"
    code, stdout, err = _run(["estimate", str(rgb_folder), "--augment", "crop:0.5+flip+jitter:0.4,0.4,0.4,0.1",
                              "--weight-decay", "0.002", "--out", str(spec)], capsys)
    assert code == 0, err
    assert "20 RGB 6×6 images (folder)" in stdout and "mean_maps" in stdout
    assert "of at most" in stdout and "the rank of A" in stdout  # "rank r of at most m" says what m is
    moments_line = next(line for line in stdout.splitlines() if line.startswith("moments file"))
    assert Path(moments_line.split(": ", 1)[1]).is_file()  # the full path, on a line of its own
    code, stdout, err = _run(["predict", str(spec), "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["rank"] >= 1
    code, _, err = _run(["phase", str(spec), "--x", "weight_decay:0.0001:0.1:4", "--y", "noise_scale:0:2:3",
                         "--out", str(tmp_path / "phase")], capsys)
    assert code == 0, err
    code, stdout, err = _run(["advise", str(spec), "--keep", "2", "--json"], capsys)
    assert code == 0, err


def test_rgb_folder_through_projector(tmp_path, rgb_folder, capsys):
    code, stdout, err = _run(["projector", str(rgb_folder), "--backbone", "mlp", "--hidden", "16", "--augment",
                              "flip+jitter:0.4", "--samples", "20", "--embed-dim", "4", "--json"], capsys)
    assert code == 0, err
    res = json.loads(stdout)
    assert res["moments"]["dim"] == 16 and res["predictions"]


def test_progress_reaches_the_total_and_the_cache_key_knows_the_layout(tmp_path):
    np.save(tmp_path / "x.npy", _images(30).transpose(0, 2, 3, 1))
    seen = []
    res = cached_dataset_moments(str(tmp_path / "x.npy"), "simclr", draws=4, cache=False,
                                 progress=lambda done, total: seen.append((done, total)))
    assert res.moments.method == "mean_maps" and seen
    dones = [d for d, _ in seen]
    assert dones == sorted(dones) and abs(dones[-1] - seen[-1][1]) < 1e-9 * seen[-1][1]
    key = moments_key(str(tmp_path / "x.npy"), "flip")
    assert key != moments_key(str(tmp_path / "x.npy"), "flip", layout="NHWC")
    assert key["draws"] is None and key["method"] == "exact"  # the exact route draws nothing
    assert moments_key(str(tmp_path / "x.npy"), "simclr")["method"] == "mean_maps"


def test_the_same_images_give_the_same_moments_in_any_layout(tmp_path):
    x = _images(16)
    a = augmentation_moments(load_images_from(tmp_path, x, "a.npy"), "flip+shift:1")
    b = augmentation_moments(load_images_from(tmp_path, x.transpose(0, 2, 3, 1), "b.npy"), "flip+shift:1")
    np.testing.assert_array_equal(a.cross_cov, b.cross_cov)


def load_images_from(folder: Path, arr: np.ndarray, name: str):
    np.save(folder / name, arr)
    return load_images(folder / name)


@pytest.mark.parametrize("argv,match", [
    (["digits", "--augment", "rotate:3"], "unknown augmentation step"),
    (["nowhere.npy"], "neither 'digits'"),
    (["digits", "--size", "8,8"], "known layout"),
    (["digits", "--layout", "NHWC"], "known layout"),
    (["digits", "--size", "8,x"], "--size"),
    (["digits", "--pairs", "3"], "--pairs even"),
    (["digits", "--augment", "jitter:0.4,0.4,0.4,0.1+gray"], None),
])
def test_bad_input_is_one_line_with_exit_2(tmp_path, capsys, argv, match):
    code, _, err = _run(["estimate", *argv, "--no-cache", "--out", str(tmp_path / "s.json")], capsys)
    if match is None:  # colour ops on grey images are fine (saturation, hue and gray leave grey unchanged)
        assert code == 0, err
        return
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and match.split(" ")[0] in err, err


def test_a_numerical_prediction_is_announced_and_bounded_by_max_seconds(tmp_path, capsys):
    """Raw Barlow Twins (λ < 1) on RGB moments under crops: C and S commute in no basis the closed forms can use, so
    the quartic is minimised numerically — said on stderr with its estimate, stopped at --max-seconds, marked."""
    np.save(tmp_path / "x.npy", _images(40, h=6, w=6).transpose(0, 2, 3, 1))  # NHWC, D = 108
    code, stdout, err = _run(["estimate", str(tmp_path / "x.npy"), "--augment", "crop", "--objective", "barlow",
                              "--max-seconds", "0.5", "--json", "--out", str(tmp_path / "s.json"), "--no-cache"],
                             capsys)
    assert code == 0 and "solving numerically (solver quartic_numerical" in err and "about" in err
    pred = json.loads(stdout)["prediction"]
    assert pred["solver"] == "quartic_numerical" and pred["converged"] is False
    assert (tmp_path / "s.json").exists()  # the spec is written before the solve starts
