import json

import pytest

from sslscape.moments import moments_of
from sslscape.spec import SpecError
from sslscape.training.config import ConfigError, load_config, parse_config

from ._helpers import small_config


def test_unknown_key_is_one_clear_line():
    with pytest.raises(ConfigError, match=r"unknown key 'schedule.stepz'") as err:
        parse_config({"spec": {"objective": "spectral", "data": {"cov": [1.0]}}, "schedule": {"stepz": 3}})
    assert "\n" not in str(err.value)


def test_wrong_type_and_bad_spec_are_rejected():
    with pytest.raises(ConfigError, match="schedule.steps"):
        parse_config({"spec": {"objective": "spectral", "data": {"cov": [1.0]}}, "schedule": {"steps": "10"}})
    with pytest.raises(SpecError, match="unknown key 'colour'"):
        parse_config({"spec": {"objective": "spectral", "data": {"cov": [1.0]}, "colour": 1}})
    with pytest.raises(ConfigError, match="mapping"):
        parse_config([1, 2])


def test_dataset_runs_may_omit_the_spec_data():
    cfg = parse_config({"spec": {"objective": "vicreg"}, "data": {"source": "digits"}})
    assert cfg.data.source == "digits"
    with pytest.raises(SpecError):
        parse_config({"spec": {"objective": "vicreg"}})  # the spec's Gaussian needs its covariance


def test_spec_file_relative_to_config(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"objective": "spectral", "data": {"cov": [1.0, 2.0]}}))
    (tmp_path / "c.yaml").write_text("# a comment\nspec: s.json\nschedule: {steps: 5}\n")
    cfg = load_config(tmp_path / "c.yaml")  # the spec file is read relative to the config, once
    assert moments_of(cfg.resolved_spec()).dim == 2 and cfg.schedule.steps == 5


def test_trajectory_hash_ignores_cadence_but_not_steps():
    a = small_config()
    assert a.trajectory_hash() == small_config(**{"schedule.log_every": 7, "device": "auto"}).trajectory_hash()
    assert a.trajectory_hash() != small_config(**{"schedule.steps": 41}).trajectory_hash()
    assert a.trajectory_hash() != small_config(**{"spec.weight_decay": 0.31}).trajectory_hash()
