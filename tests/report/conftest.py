"""Fixtures of the report tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def saved_figures(monkeypatch):
    """Every Figure passed to `sslscape.report.figures.save` while the test runs (still saved), in order: what a
    test inspects after drawing through a function that only returns the path."""
    from sslscape.report import figures

    saved = []
    original = figures.save

    def keep(fig, path, **kw):
        saved.append(fig)
        return original(fig, path, **kw)

    monkeypatch.setattr(figures, "save", keep)
    return saved
