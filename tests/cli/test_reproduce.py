"""CLI contract of `reproduce`: bad input exits 2 with one line; reproduce cites the paper, results accumulate in one
folder, cached reruns say so and --force recomputes (`estimate`: tests/cli/test_estimate.py)."""

from __future__ import annotations

import json
import re

import pytest

from sslscape.cli import main
from sslscape.experiments import EXPERIMENTS, PAPER_RESULTS


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


def test_reproduce_help_cites_the_paper_and_maps_every_experiment(capsys):
    code, out, _ = _run(["reproduce", "--help"], capsys)
    text = " ".join(out.split())
    assert code == 0 and "arXiv:2210.00638" in text and "ICLR 2023" in text and "Ziyin" in text
    for name, result in PAPER_RESULTS.items():
        assert f"{name}: {' '.join(result.split())}" in text
    assert "--force" in text and "--quick" in text


def test_reproduce_size_and_quick_conflict(tmp_path, capsys):
    code, _, err = _run(["reproduce", "bias", "--quick", "--size", "tiny", "--out", str(tmp_path)], capsys)
    assert code == 2 and "--quick means --size quick" in err
    code, _, err = _run(["reproduce", "bias", "--size", "huge", "--out", str(tmp_path)], capsys)
    assert code == 2 and "tiny, quick, full" in err


def test_reproduce_accumulates_marks_cached_and_forces(tmp_path, capsys):
    out = tmp_path / "rq"
    base = ["--size", "tiny", "--out", str(out), "--workers", "1"]
    code, stdout, err = _run(["reproduce", "weight_decay_collapse", *base], capsys)
    assert code == 0 and stdout.strip() == str(out / "report.html") and "2/2 agree in" in err
    code, _, err = _run(["reproduce", "bias", *base], capsys)  # a second experiment into the same folder
    summary = json.loads((out / "summary.json").read_text())
    assert code == 0 and list(summary["experiments"]) == ["weight_decay_collapse", "bias"]
    html = (out / "report.html").read_text()
    assert "id='weight_decay_collapse'" in html and "id='bias'" in html and "arXiv:2210.00638" in html
    assert "sslscape explore --out" in html  # no explorer yet: the report says how to make one
    (out / "explorer.html").write_text("<html></html>")
    code, _, err = _run(["reproduce", "weight_decay_collapse", *base], capsys)  # every point cached
    assert code == 0 and re.search(r"weight_decay_collapse: cached: 2/2 agree, computed \d{4}-\d\d-\d\d", err)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["experiments"]["weight_decay_collapse"]["cached"] is True
    assert summary["experiments"]["bias"]["cached"] is False and summary["total"]["n_scored"] == 4
    html = (out / "report.html").read_text()
    assert "class=cached" in html and "href='explorer.html'" in html and "id='bias'" in html
    code, _, err = _run(["reproduce", "weight_decay_collapse", *base, "--force"], capsys)
    assert code == 0 and "weight_decay_collapse: 2/2 agree in" in err and "cached" not in err
    assert json.loads((out / "summary.json").read_text())["experiments"]["weight_decay_collapse"]["cached"] is False
