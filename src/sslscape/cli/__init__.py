"""`sslscape` command line: typer and rich live only in this package; each command is a thin layer over the
Python API (`sslscape.theory`, `sslscape.training`, `sslscape.diagnostics`, `sslscape.compare`,
`sslscape.experiments`), which reports progress through callbacks that `progress.py` draws.

Start-up is kept short (docs/reliability.md): every command module imports only typer at the top and the library
inside the command, so `sslscape --help` pays for neither torch nor numpy; help is plain text (typer's rich help
costs another half second of imports); `sslscape --version` answers before typer is imported.
`sslscape --threads N COMMAND …` (or SSLSCAPE_THREADS=N) sets the torch / BLAS threads of every command
(default: `sslscape.threads.default_threads`). User errors print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

from ..errors import UserError

if TYPE_CHECKING:
    import typer

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _root_callback() -> Any:
    """The root options (`--version`, `--threads`), built when the app is (typer is imported only then)."""
    import typer

    def version_flag(value: bool) -> None:
        if value:
            from .. import __version__

            typer.echo(f"sslscape {__version__}")
            raise typer.Exit()

    def root(
        version: bool = typer.Option(False, "--version", callback=version_flag, is_eager=True,
                                     help="print the version and exit"),
        threads: int | None = typer.Option(None, "--threads", min=0, metavar="N",
                                           help="torch/BLAS threads for this command (default: $SSLSCAPE_THREADS, "
                                                "else half the CPUs, at least 1; 0 = torch's own; "
                                                "docs/reliability.md)"),
    ) -> None:
        """sslscape: when and why self-supervised representations collapse."""
        apply_threads(threads)

    return root


def apply_threads(threads: int | None) -> int | None:
    """Resolve the thread count (`sslscape.threads.resolve_threads`) and export it before torch or numpy start
    their thread pools (they read these variables once, at import): SSLSCAPE_THREADS for the library, the OpenMP /
    MKL / OpenBLAS variables for everything else. Returns the count (None: 0 asked for, torch's own default)."""
    from ..threads import ENV, resolve_threads

    n = resolve_threads(threads)
    if n is None:
        os.environ[ENV] = "0"
        for var in THREAD_VARS:
            os.environ.pop(var, None)
        return None
    for var in (ENV, *THREAD_VARS):
        os.environ[var] = str(n)
    return n


def _register(app: typer.Typer) -> None:
    from . import advise, diagnose, estimate, explore, predict, projector, reproduce, train

    for module in (predict, advise, train, diagnose, estimate, projector, explore, reproduce):
        module.register(app)


@cache
def get_app() -> typer.Typer:
    """The typer application, built on first use."""
    import typer

    app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                      rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]},
                      help="sslscape: when and why self-supervised representations collapse — theory of SSL loss "
                           "landscapes (Ziyin, Lubana, Ueda & Tanaka, ICLR 2023), training and diagnostics.")
    app.callback()(_root_callback())
    _register(app)
    return app


@cache
def get_command() -> Any:
    """The click command behind the app, built once per process: typer rebuilds it (reading every command's
    signature) on each call of the app, which costs ~0.1 s a call where `main` runs many times in one process."""
    from typer.main import get_command as build

    return build(get_app())


def __getattr__(name: str) -> Any:
    if name == "app":
        return get_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line on stderr and exit 2 for bad input, never a bare traceback. The thread variables the
    command exported are put back afterwards (main may run inside another program, e.g. the tests)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:  # the one answer that needs nothing else
        from .. import __version__

        print(f"sslscape {__version__}")
        sys.exit(0)
    saved = {var: os.environ.get(var) for var in ("SSLSCAPE_THREADS", *THREAD_VARS)}
    try:
        code = _run(args)
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    sys.exit(code)


def _run(args: list[str]) -> int:
    import typer
    from typer.exceptions import TyperException

    try:
        result = get_command().main(args=args, standalone_mode=False, prog_name="sslscape")
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except TyperException as exc:  # usage errors: unknown option, missing argument, bad value
        print(f"error: {' '.join(exc.format_message().split())}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    main()
