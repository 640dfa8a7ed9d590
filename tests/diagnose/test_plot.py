"""sslscape.diagnose.plot: a PNG is written atomically (no temp files left, old file replaced whole)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sslscape.diagnose.compare import compare_to_theory
from sslscape.diagnose.diagnosis import diagnose
from sslscape.diagnose.plot import plot_spectrum


def test_png_written_and_replaced_without_leftovers(tmp_path):
    rng = np.random.default_rng(0)
    d = diagnose(rng.standard_normal((300, 8)) * np.arange(8, 0, -1) * (np.arange(8) < 5))
    target = tmp_path / "fig" / "spectrum.png"
    plot_spectrum(d, target)
    first = target.read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    prediction = SimpleNamespace(rank=5, phase="dimensional", spectrum=tuple(2.0 * d.eigenvalues))
    comparison = compare_to_theory(d, prediction)
    assert comparison.agree
    plot_spectrum(d, target, comparison)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in target.parent.iterdir()] == ["spectrum.png"]


def test_complete_collapse_plots_without_error(tmp_path):
    plot_spectrum(diagnose(np.ones((20, 4))), tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 0
