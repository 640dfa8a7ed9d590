"""CLI contract of `reproduce` and `estimate`: bad input exits 2 with one line; estimate writes a spec."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sslscape.cli import main
from sslscape.experiments import EXPERIMENTS


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_reproduce_unknown_name_exits_2(capsys):
    code, _, err = _run(["reproduce", "nope"], capsys)
    assert code == 2
    assert all(n in err for n in EXPERIMENTS) and err.count("\n") == 1


def test_reproduce_out_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    code, _, err = _run(["reproduce", "bias", "--quick", "--out", str(f)], capsys)
    assert code == 2 and "is a file" in err


def test_estimate_bad_pipeline(capsys):
    code, _, err = _run(["estimate", "digits", "--augment", "rotate:3"], capsys)
    assert code == 2 and "unknown augmentation step" in err


def test_estimate_cli_writes_spec_and_predicts(tmp_path, capsys):
    out = tmp_path / "spec.json"
    code, stdout, _ = _run(["estimate", "digits", "--augment", "noise:0.1", "--samples", "300", "--json",
                            "--out", str(out)], capsys)
    assert code == 0
    res = json.loads(stdout)
    spec = json.loads(out.read_text())
    s = np.asarray(spec["augmentation"]["noise_cov"])
    np.testing.assert_allclose(np.diag(s), 0.01, atol=1e-9)  # noise: S = σ² I exactly, A = C
    assert res["method"] == "exact" and {"rank", "phase"} <= set(res["prediction"])
