"""The spec validates at the edge: every bad input is a one-line SpecError naming the field and the fix."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sslscape.errors import UserError
from sslscape.moments import moments_of
from sslscape.spec import SpecError, load_spec, parse_spec

BASE = {"objective": "infonce", "data": {"cov": [3.0, 2.0, 1.0]}}


def test_defaults_and_vector_covariance() -> None:
    spec = parse_spec(BASE)
    m = moments_of(spec)
    assert spec.temperature == 1.0 and spec.weight_decay == 0.0 and spec.batch_size is None
    assert np.allclose(m.cov, np.diag([3.0, 2.0, 1.0])) and np.allclose(m.noise_cov, 0) and np.allclose(m.mean, 0)


def test_noise_scale_multiplies_noise_cov() -> None:
    spec = parse_spec({**BASE, "augmentation": {"noise_cov": [1, 2, 3], "noise_scale": 0.5}})
    assert np.allclose(moments_of(spec).noise_cov, np.diag([0.5, 1.0, 1.5]))


@pytest.mark.parametrize("raw, field", [
    ({**BASE, "objective": "simclr"}, "objective"),
    ({**BASE, "temperature": -1}, "temperature"),
    ({**BASE, "weight_decay": -0.1}, "weight_decay"),
    ({**BASE, "colour": 1}, "colour"),
    ({**BASE, "augmentation": {"noise_cov": [1, 1], "nosie_scale": 1}}, "nosie_scale"),
    ({"objective": "infonce"}, "data"),
    ({**BASE, "data": {}}, "data"),
])
def test_invalid_fields_are_named(raw: dict, field: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(raw)
    assert field in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("data, noise, needle", [
    ({"cov": [[1, 2], [2, 1]]}, None, "positive semi-definite"),
    ({"cov": [[1, 0.5], [0.1, 1]]}, None, "symmetric"),
    ({"cov": [[1, 0, 0], [0, 1, 0]]}, None, "square"),
    ({"cov": [[1, 0.5, 0], [0.5, 1]]}, None, "square"),  # ragged
    ({"cov": [[1, 0.5], [0.5, 1]]}, [[1, 0, 0], [0, 1]], "square"),
    ({"cov": [1, 2], "mean": [0, 0, 0]}, None, "data.mean"),
    ({"cov": [1, 2]}, [1, 2, 3], "noise_cov"),
    ({"cov": [1, 2]}, [-1, 2], "positive semi-definite"),
])
def test_bad_matrices(data: dict, noise: list | None, needle: str) -> None:
    raw = {"objective": "spectral", "data": data}
    if noise is not None:
        raw["augmentation"] = {"noise_cov": noise}
    with pytest.raises(SpecError, match=needle) as err:
        parse_spec(raw)  # checked at parse time: nothing downstream meets a bad matrix
    assert "\n" not in str(err.value)


def test_samples_file_estimates_moments(tmp_path) -> None:
    x = np.random.default_rng(0).normal(size=(5000, 3)) * [2.0, 1.0, 0.5] + [1.0, 0.0, -1.0]
    for name, save in (("x.npy", lambda p: np.save(p, x)), ("x.pt", lambda p: torch.save(torch.tensor(x), p)),
                       ("x.npz", lambda p: np.savez(p, x=x))):
        save(tmp_path / name)
        (tmp_path / "spec.json").write_text(json.dumps({"objective": "spectral", "data": {"samples": name}}))
        spec = load_spec(tmp_path / "spec.json")
        assert spec.data.samples.is_absolute()  # resolved against the spec's folder, once
        m = moments_of(spec)
        assert np.allclose(np.diag(m.cov), [4.0, 1.0, 0.25], rtol=0.08)
        assert np.allclose(m.mean, [1.0, 0.0, -1.0], atol=0.08)


@pytest.mark.parametrize("content, needle", [
    (b"not an array", "not a .npy file"),
    (None, "does not exist"),
])
def test_unreadable_sample_file(tmp_path, content: bytes | None, needle: str) -> None:
    if content is not None:
        (tmp_path / "bad.npy").write_bytes(content)
    spec = parse_spec({"objective": "spectral", "data": {"samples": str(tmp_path / "bad.npy")}})
    with pytest.raises(UserError, match=needle):
        moments_of(spec)


def test_sample_file_shape_and_nan(tmp_path) -> None:
    np.save(tmp_path / "one_d.npy", np.ones(5))
    x = np.ones((4, 2))
    x[1, 0] = np.nan
    np.save(tmp_path / "nan.npy", x)
    with pytest.raises(UserError, match="shape"):
        moments_of(parse_spec({"objective": "spectral", "data": {"samples": str(tmp_path / "one_d.npy")}}))
    with pytest.raises(UserError, match="1 rows with NaN"):
        moments_of(parse_spec({"objective": "spectral", "data": {"samples": str(tmp_path / "nan.npy")}}))


def test_yaml_and_malformed_files(tmp_path) -> None:
    (tmp_path / "s.yaml").write_text("objective: spectral\ndata:\n  cov: [1, 2]\n")
    assert load_spec(tmp_path / "s.yaml").objective == "spectral"
    (tmp_path / "bad.json").write_text("{objective: ")
    with pytest.raises(SpecError, match="not valid JSON"):
        load_spec(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(SpecError, match="object"):
        load_spec(tmp_path / "list.json")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=6))
def test_any_nonnegative_vector_is_a_valid_covariance(values: list[float]) -> None:
    m = moments_of(parse_spec({"objective": "spectral", "data": {"cov": values}}))
    assert m.cov.shape == (len(values), len(values))


def test_with_updates_revalidates() -> None:
    spec = parse_spec(BASE)
    assert spec.with_updates(**{"augmentation.noise_scale": 2.0}).augmentation.noise_scale == 2.0
    with pytest.raises(SpecError, match="temperature"):
        spec.with_updates(temperature=0.0)


def test_yaml_syntax_error_is_one_line(tmp_path) -> None:
    (tmp_path / "bad.yaml").write_text("objective: spectral\ndata:\n  cov: [1, 2\n  mean: 3\n")
    with pytest.raises(SpecError, match="not valid YAML") as err:
        load_spec(tmp_path / "bad.yaml")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("raw, suggestion", [
    ({**BASE, "weight_deacy": 0.1}, "did you mean 'weight_decay'"),
    ({**BASE, "augmentation": {"noise_scal": 1.0}}, "did you mean 'augmentation.noise_scale'"),
    ({**BASE, "temprature": 0.5}, "did you mean 'temperature'"),
])
def test_typos_suggest_the_nearest_key_and_the_docs(raw: dict, suggestion: str) -> None:
    with pytest.raises(SpecError, match=suggestion) as err:
        parse_spec(raw)
    assert "docs/spec.md" in str(err.value)


@pytest.mark.parametrize("objective", ["simsiam", "byol"])
@pytest.mark.parametrize("extra, field", [({"depth": 2}, "depth"), ({"bias": True}, "bias"),
                                          ({"normalization": "l2"}, "normalization")])
def test_spec_accepts_what_training_trains_and_names_the_theory_gaps(objective: str, extra: dict, field: str) -> None:
    """A deep / biased / normalised SimSiam or BYOL is a valid problem (training runs it): the Spec accepts it and
    `theory_gaps` names the field and the fix; a spec the theory covers has no gaps."""
    spec = parse_spec({"objective": objective, "similarity": "cosine", "data": {"cov": [3.0, 2.0, 1.0]}, **extra})
    gaps = spec.theory_gaps()
    assert len(gaps) == 1 and gaps[0].startswith(field) and "set " in gaps[0] and "\n" not in gaps[0]
    assert parse_spec({"objective": objective, "data": {"cov": [3.0, 2.0, 1.0]}}).theory_gaps() == []
    assert parse_spec({**BASE, "depth": 3, "bias": True, "normalization": "batch"}).theory_gaps() == []


def test_contradictions_stay_in_validation() -> None:
    """A similarity the objective cannot use is a contradiction of the spec itself, not a theory gap."""
    with pytest.raises(SpecError, match="similarity"):
        parse_spec({"objective": "spectral", "similarity": "cosine", "data": {"cov": [1.0]}})
    with pytest.raises(SpecError, match="symmetric"):
        parse_spec({"objective": "byol", "symmetric": True, "data": {"cov": [1.0]}})
