"""CLI commands of sslscape.diagnose (registered by sslscape.cli)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this package's commands to the app (none yet)."""
