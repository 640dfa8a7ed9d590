"""`sslscape explore` without SPEC uses the default spec shipped as package data, from any working directory, and
examples/default.json is the same spec (new-user trial, minor 14)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from sslscape.cli import main
from sslscape.spec import DEFAULT_SPEC, load_spec

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_is_a_copy_of_the_packaged_default():
    assert DEFAULT_SPEC.is_file()
    assert (ROOT / "examples" / "default.json").read_bytes() == DEFAULT_SPEC.read_bytes()


def test_the_default_spec_is_declared_package_data():
    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["sslscape"]
    package = Path(__import__("sslscape").__file__).parent
    assert any(fnmatch.fnmatch(DEFAULT_SPEC.relative_to(package).as_posix(), p) for p in patterns)


def test_explore_without_spec_works_outside_the_repository(tmp_path, monkeypatch, capsys):
    from sslscape.report import explorer

    built = []

    def write_explorer(spec, out, **kw):  # the page itself takes seconds: record the spec instead
        built.append(spec)
        Path(out).write_text("<html></html>")
        return Path(out)

    monkeypatch.setattr(explorer, "write_explorer", write_explorer)
    monkeypatch.chdir(tmp_path)  # no examples/ here
    with pytest.raises(SystemExit) as exc:
        main(["explore", "--out", "page.html"])
    assert exc.value.code == 0, capsys.readouterr().err
    assert built == [load_spec(DEFAULT_SPEC)] and (tmp_path / "page.html").is_file()
