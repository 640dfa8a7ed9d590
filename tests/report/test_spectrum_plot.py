"""sslscape.report.spectrum_plot: written atomically in the format its extension names (png, pdf, svg)."""

from __future__ import annotations

import numpy as np
import pytest

from sslscape.compare import compare_embeddings
from sslscape.diagnostics.diagnosis import diagnose
from sslscape.errors import UserError
from sslscape.report.spectrum_plot import plot_spectrum
from sslscape.theory.predict import Prediction, Thresholds


def test_png_written_and_replaced_without_leftovers(tmp_path):
    rng = np.random.default_rng(0)
    d = diagnose(rng.standard_normal((300, 8)) * np.arange(8, 0, -1) * (np.arange(8) < 5))
    target = tmp_path / "fig" / "spectrum.png"
    plot_spectrum(d, target)
    first = target.read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    prediction = Prediction(rank=5, rank_range=(5, 5), alive=5, alive_max=5, capacity=8, phase="dimensional",
                            spectrum=tuple(2.0 * d.eigenvalues), thresholds=Thresholds(), order="quartic",
                            solver="test", method="test", loss=0.0, embed_dim=8)
    comparison = compare_embeddings(d, prediction)
    assert comparison.agree
    plot_spectrum(d, target, comparison)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in target.parent.iterdir()] == ["spectrum.png"]


def test_complete_collapse_plots_without_error(tmp_path):
    plot_spectrum(diagnose(np.ones((20, 4))), tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 0


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_format_follows_the_extension(tmp_path, suffix, magic):
    path = plot_spectrum(diagnose(np.random.default_rng(1).standard_normal((100, 4))), tmp_path / f"s{suffix}")
    assert path.read_bytes()[: len(magic)] == magic


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(UserError, match=r"\.png, \.pdf or \.svg"):
        plot_spectrum(diagnose(np.random.default_rng(1).standard_normal((100, 4))), tmp_path / "s.jpg")


def test_diagnose_refuses_a_jpg_plot_in_one_line_and_writes_nothing(tmp_path, capsys):
    """`sslscape diagnose z.npy --plot x.jpg` (the issue's case): exit 2, one line, no file — never PNG bytes in a
    .jpg."""
    from sslscape.cli import main

    np.save(tmp_path / "z.npy", np.random.default_rng(2).standard_normal((50, 4)))
    with pytest.raises(SystemExit) as exc:
        main(["diagnose", str(tmp_path / "z.npy"), "--plot", str(tmp_path / "x.jpg")])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and ".png, .pdf or .svg" in err and "\n" not in err
    assert not (tmp_path / "x.jpg").exists()
