"""`objective: ntxent` through the entry points (issue 20): `predict`, `phase` and `advise` answer NT-Xent specs
with NT-Xent's own solver rows, in the CLI (in-process) and the API."""

from __future__ import annotations

import json

import pytest

from sslscape.spec import parse_spec
from sslscape.theory import predict
from tests.cli.test_predict import run  # noqa: F401  (the in-process CLI fixture)

DOT = {"objective": "ntxent", "similarity": "dot", "data": {"cov": [4, 2, 1, 0.5, 0.25]},
       "augmentation": {"noise_cov": [1, 1, 1, 1, 1]}, "weight_decay": 0.3, "temperature": 0.5, "batch_size": 64}
COSINE = {"objective": "ntxent", "data": {"cov": [4, 3, 2, 1.5, 1, 0.5, 0.25, 0.1]},
          "augmentation": {"noise_cov": [0.5] * 8}, "weight_decay": 0.01, "temperature": 0.5, "batch_size": 64}


@pytest.fixture
def spec_file(tmp_path):
    def write(raw: dict) -> str:
        path = tmp_path / "spec.json"
        path.write_text(json.dumps(raw))
        return str(path)

    return write


def test_predict_answers_ntxent_with_its_own_rows(run, spec_file):  # noqa: F811
    res = run("predict", spec_file(DOT), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["solver"] == "learned_point_ntxent" and out["order"] == "learned_point"
    clip = predict(parse_spec({**DOT, "objective": "infonce"}))
    assert clip.solver == "learned_point_dot" and out["positive_weight"] < clip.positive_weight  # 2N − 1 candidates
    res = run("predict", spec_file(COSINE), "--json")  # no similarity given: NT-Xent's default is cosine
    out = json.loads(res.stdout)
    assert res.returncode == 0 and out["solver"] == "learned_point_ntxent_cosine"
    large = predict(parse_spec({**DOT, "batch_size": None}))  # N → ∞: the quartic closed form, as the CLIP form's
    assert large.order == "quartic" and large.rank == predict(parse_spec({**DOT, "objective": "infonce",
                                                                          "batch_size": None})).rank


def test_phase_and_advise_take_ntxent(run, spec_file, tmp_path):  # noqa: F811
    res = run("phase", spec_file(DOT), "--x", "weight_decay:0.05:2:4", "--y", "temperature:0.3:1:3", "--out",
              str(tmp_path / "phase"))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["solver"] == "learned_point_ntxent"
    res = run("advise", spec_file(COSINE), "--keep", "6", "--knob", "weight_decay", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["solver"] == "learned_point_ntxent_cosine" and out["interval"][0] == 0.0  # γ never acts


def test_ntxent_fields_are_refused_in_one_line(run, spec_file):  # noqa: F811
    res = run("predict", spec_file({**DOT, "protocol": "clean_negatives"}))
    assert res.returncode == 2 and "clean_negatives" in res.stderr and len(res.stderr.strip().splitlines()) == 1
