"""Spec errors from checks across fields name the real field, and the public entry points take a Spec, a dict or a
spec file path through one coercion, `sslscape.spec.as_spec` (new-user trial, minor 13)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sslscape
from sslscape.errors import UserError
from sslscape.moments import moments_of
from sslscape.spec import SpecError, as_spec, parse_spec
from sslscape.theory.advise import advise
from sslscape.theory.phase import Axis, phase_diagram

RAW = {"objective": "spectral", "data": {"cov": [4.0, 2.0, 1.0]}, "augmentation": {"noise_cov": [0.5] * 3},
       "weight_decay": 1.5}


@pytest.mark.parametrize("update, field", [
    ({"augmentation": {"noise_cov": [0.5, 0.5]}}, "augmentation.noise_cov"),   # the trial's size mismatch
    ({"data": {"cov": [4.0, 2.0, 1.0], "mean": [0.0]}}, "data.mean"),
    ({"symmetric": True}, "symmetric"),
    ({"similarity": "cosine"}, "similarity"),
])
def test_checks_across_fields_name_the_field(update, field):
    with pytest.raises(SpecError) as err:
        parse_spec({**RAW, **update})
    text = str(err.value)
    assert f"spec field {field!r}:" in text and "field 'spec'" not in text and "\n" not in text


def test_the_size_mismatch_names_both_covariances():
    with pytest.raises(SpecError, match=r"augmentation\.noise_cov.*2-dimensional.*data\.cov is 3-dimensional"):
        parse_spec({**RAW, "augmentation": {"noise_cov": [0.5, 0.5]}})


def test_predict_takes_a_spec_a_dict_or_a_path(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(RAW))
    want = sslscape.predict(parse_spec(RAW))
    for given in (RAW, path, str(path)):
        got = sslscape.predict(given)
        assert (got.rank, got.solver) == (want.rank, want.solver)
        np.testing.assert_array_equal(got.spectrum, want.spectrum)
    assert as_spec(want_spec := parse_spec(RAW)) is want_spec


def test_landscape_phase_and_advise_take_a_dict():
    spec = parse_spec(RAW)
    np.testing.assert_array_equal(sslscape.landscape(RAW, moments_of(RAW)).quadratic,
                                  sslscape.landscape(spec, moments_of(spec)).quadratic)
    x, y = Axis("weight_decay", 0.0, 6.0, 5), Axis("noise_scale", 0.0, 2.0, 4)
    np.testing.assert_array_equal(phase_diagram(RAW, x, y).alive, phase_diagram(spec, x, y).alive)
    assert advise(RAW, keep=1).interval == advise(spec, keep=1).interval


@pytest.mark.parametrize("bad", [3, ["objective"], {"objective": "spectral"}, {**RAW, "temprature": 1.0}])
def test_anything_else_is_one_line_user_error(bad):
    with pytest.raises(UserError) as err:
        sslscape.predict(bad)
    assert "\n" not in str(err.value)
