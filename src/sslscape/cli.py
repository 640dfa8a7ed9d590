"""`sslscape` command line: a thin typer layer over the Python API (DESIGN.md §2).

Each sub-package owns its commands in a `command.py` with `register(app)`; this file only assembles them and
turns user errors into one line on stderr with exit code 2 (never a bare traceback).
"""

from __future__ import annotations

import sys

import typer
from typer.exceptions import TyperException

from .errors import UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="sslscape: when and why self-supervised representations collapse.")


def _register_all() -> None:
    from .diagnose.command import register as register_diagnose
    from .experiments.command import register as register_experiments
    from .theory.command import register as register_theory
    from .train.command import register as register_train

    for register in (register_theory, register_train, register_diagnose, register_experiments):
        register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    try:
        result = app(args=argv, standalone_mode=False, prog_name="sslscape")
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(130)
    except TyperException as exc:  # usage errors: unknown option, missing argument, bad value
        print(f"error: {exc.format_message()}", file=sys.stderr)
        sys.exit(2)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
