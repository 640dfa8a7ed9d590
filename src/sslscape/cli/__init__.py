"""`sslscape` command line: typer and rich live only in this package; each command is a thin layer over the
Python API (`sslscape.theory`, `sslscape.training`, `sslscape.diagnostics`, `sslscape.compare`,
`sslscape.experiments`), which reports progress through callbacks that `progress.py` draws.

Every command module imports only typer at the top; the library is imported inside the command, so
`sslscape --help` does not pay for torch. User errors print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import sys

import typer
from typer.exceptions import TyperException

from ..errors import UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="sslscape: when and why self-supervised representations collapse — theory of SSL loss "
                       "landscapes (Ziyin, Lubana, Ueda & Tanaka, ICLR 2023), training and diagnostics.")


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"sslscape {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """sslscape: when and why self-supervised representations collapse."""


def _register() -> None:
    from . import diagnose, estimate, predict, reproduce, train

    for module in (predict, train, diagnose, estimate, reproduce):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line on stderr and exit 2 for bad input, never a bare traceback."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="sslscape")
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(130)
    except TyperException as exc:  # usage errors: unknown option, missing argument, bad value
        print(f"error: {' '.join(exc.format_message().split())}", file=sys.stderr)
        sys.exit(2)
    except UserError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
