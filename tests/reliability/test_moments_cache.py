"""`estimate` computes the exact moments once: the moments file, its cache key, and the specs built from it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sslscape.cli import main
from sslscape.errors import UserError
from sslscape.moments import (
    cache_dir,
    cached_dataset_moments,
    dataset_moments,
    load_moments_file,
    moments_from_file,
    moments_key,
    save_moments,
    spec_from_moments,
)
from sslscape.spec import parse_spec
from sslscape.theory import predict


@pytest.fixture
def images(tmp_path):
    """40 random 4×4 'images' as an (n, 16) .npy file (flip and shift need square images)."""
    path = tmp_path / "imgs.npy"
    np.save(path, np.random.default_rng(0).random((40, 16)))
    return path


def test_first_call_computes_second_reads_the_same_numbers(tmp_path, images):
    first = cached_dataset_moments(str(images), "flip+shift:1", cache=tmp_path / "cache")
    assert not first.cached and first.path.is_file() and first.path.parent == tmp_path / "cache"
    second = cached_dataset_moments(str(images), "flip+shift:1", cache=tmp_path / "cache")
    assert second.cached and second.path == first.path
    direct = dataset_moments(str(images), "flip+shift:1")
    for name in ("mean", "cross_cov", "view_cov", "eigenvalues"):
        assert np.array_equal(getattr(second.moments, name), getattr(direct, name)), name
    assert second.moments.to_dict() == direct.to_dict()


@pytest.mark.parametrize("change", [
    {"augment": "flip"}, {"augment": "shift:1+flip"}, {"samples": 20}, {"mc": True}, {"mc": True, "pairs": 4},
    {"seed": 1},
])
def test_everything_that_changes_the_result_changes_the_file(tmp_path, images, change):
    base = {"augment": "flip+shift:1", "samples": None, "mc": False, "pairs": 8, "seed": 0}
    a = moments_key(str(images), **{k: v for k, v in base.items()})
    b = moments_key(str(images), **{**base, **change})
    same_pipeline = change == {"augment": "shift:1+flip"}  # the parsed pipeline is the key: order does not matter
    assert (a == b) == same_pipeline


def test_exact_moments_ignore_pairs_and_the_file_content_is_the_key(tmp_path, images):
    assert moments_key(str(images), "flip", pairs=4) == moments_key(str(images), "flip", pairs=16)
    key = moments_key(str(images), "flip")
    np.save(images, np.random.default_rng(1).random((40, 16)))  # same path, other content
    assert moments_key(str(images), "flip") != key
    assert moments_key("digits", "flip")["data"] == {"dataset": "digits"}
    assert moments_key("fashion_mnist", "flip") == moments_key("fashion-mnist", "flip")


def test_a_torn_cache_file_is_recomputed_and_replaced(tmp_path, images):
    first = cached_dataset_moments(str(images), "flip", cache=tmp_path)
    first.path.write_bytes(first.path.read_bytes()[:200])
    again = cached_dataset_moments(str(images), "flip", cache=tmp_path)
    assert not again.cached and np.array_equal(again.moments.cross_cov, first.moments.cross_cov)
    assert cached_dataset_moments(str(images), "flip", cache=tmp_path).cached


def test_no_cache_writes_nothing(tmp_path, images, monkeypatch):
    monkeypatch.setenv("SSLSCAPE_CACHE", str(tmp_path / "c"))
    res = cached_dataset_moments(str(images), "flip", cache=False)
    assert res.path is None and not res.cached and not (tmp_path / "c").exists()


def test_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("SSLSCAPE_CACHE", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x"
    monkeypatch.delenv("SSLSCAPE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "sslscape"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "sslscape"


def test_moments_file_gives_moments_and_specs(tmp_path, images):
    est = dataset_moments(str(images), "flip+noise:0.1")
    path = save_moments(est, tmp_path / "m.npz")
    loaded = load_moments_file(path)
    assert loaded.to_dict() == est.to_dict() and np.array_equal(loaded.view_cov, est.view_cov)
    m, ref = moments_from_file(path), est.as_moments()
    assert np.array_equal(m.cov, ref.cov) and np.array_equal(m.noise_cov, ref.noise_cov)
    assert np.array_equal(m.mean, ref.mean)
    # no spec: the spec `estimate` writes
    assert spec_from_moments(path, objective="spectral", weight_decay=0.02) == parse_spec(
        est.spec_dict("spectral", 0.02))
    # a spec: its data block replaced, everything else kept (a γ sweep reuses one file)
    spec = parse_spec({"objective": "infonce", "similarity": "euclidean", "temperature": 0.5, "weight_decay": 0.3,
                       "data": {"samples": "elsewhere.npy"}, "augmentation": {"noise_scale": 2.0}})
    got = spec_from_moments(path, spec)
    assert got.objective == "infonce" and got.temperature == 0.5 and got.weight_decay == 0.3
    assert got.augmentation.noise_scale == 2.0 and got.data.samples is None
    assert np.allclose(np.asarray(got.data.cov), ref.cov) and np.allclose(got.augmentation.noise_cov, ref.noise_cov)
    assert predict(got).rank == predict(spec_from_moments(path, spec.model_dump(mode="json"))).rank


def test_a_bad_spec_from_a_moments_file_is_one_line(tmp_path, images):
    path = save_moments(dataset_moments(str(images), "flip"), tmp_path / "m.npz")
    with pytest.raises(UserError) as err:
        spec_from_moments(path, {"objective": "nope"})
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="does not exist"):
        load_moments_file(tmp_path / "missing.npz")


def _estimate(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    assert exc.value.code == 0, out.err
    return json.loads(out.out)


def test_estimate_command_caches(tmp_path, images, capsys, monkeypatch):
    monkeypatch.setenv("SSLSCAPE_CACHE", str(tmp_path / "cache"))
    argv = ["estimate", str(images), "--augment", "flip+shift:1", "--out", str(tmp_path / "s.json"), "--json"]
    first = _estimate(argv, capsys)
    second = _estimate(argv, capsys)
    assert first["cached"] is False and second["cached"] is True
    assert first["moments_file"] == second["moments_file"] and Path(first["moments_file"]).is_file()
    assert first["prediction"] == second["prediction"]
    spec = spec_from_moments(first["moments_file"], objective="spectral", weight_decay=0.01)
    assert predict(spec).to_dict() == first["prediction"]
