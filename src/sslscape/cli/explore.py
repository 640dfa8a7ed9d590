"""`sslscape explore`: the interactive landscape explorer (sslscape.report.explorer) as one HTML page, or served
live from localhost."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UserError

PROGRESS_EVERY = 3.0  # seconds between progress lines on stderr when it is not a terminal (a bar on a terminal)


def explore_command(
    spec_path: Annotated[Path | None, typer.Argument(metavar="SPEC", help="problem spec (.json / .yaml): "
                                                     "docs/spec.md (default: the packaged default spec, a "
                                                     "copy of which is examples/default.json)")] = None,
    out: Annotated[Path, typer.Option("--out", help="the page to write (.html)")] = Path("explorer.html"),
    serve: Annotated[bool, typer.Option("--serve", help="serve the page on localhost and compute what is not "
                                                        "precomputed (no closed form, advise anywhere) live")] = False,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="port for --serve (0: any free one)")] = 8765,
    advise_for: Annotated[str, typer.Option("--advise-for", help="precompute advise answers for 'own' (the spec's "
                                                                 "loss), 'all' (every precomputed loss) or "
                                                                 "'none'")] = "own",
) -> None:
    """Write the explorer page: pick the loss, move the sliders, see rank, phase, spectrum, critical values, the phase
    diagram and `advise`, and copy the spec of any setting. Values come from the theory, precomputed."""
    from ..report.explorer import explorer_data, make_server, render_page, write_explorer
    from ..spec import DEFAULT_SPEC, load_spec
    from .progress import bar, say

    path = spec_path or DEFAULT_SPEC  # package data: found from any working directory
    spec = load_spec(path)
    if serve:
        with bar("explorer: computing the theory's values", 1, lines_every=PROGRESS_EVERY) as update:
            data = explorer_data(spec, advise_choices="none", progress=update)  # the server answers advise
        page = render_page(data, live=True, title=f"sslscape explorer — {path.name}")
        try:
            server = make_server(page, port=port)
        except OSError as err:
            raise UserError(f"--port {port}: cannot listen on 127.0.0.1 ({err.strerror}); try --port 0") from err
        host, bound = server.server_address[:2]
        say(f"serving the explorer at http://{host}:{bound}/ (Ctrl-C stops it)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            say("stopped")
        finally:
            server.server_close()
        return
    with bar("explorer: computing the theory's values", 1, lines_every=PROGRESS_EVERY) as update:
        written = write_explorer(spec, out, advise_choices=advise_for, progress=update,
                                 title=f"sslscape explorer — {path.name}")
    size = written.stat().st_size
    typer.echo(f"wrote {written} ({size / 1e6:.1f} MB): open it in a browser (no network needed)")


def register(app: typer.Typer) -> None:
    app.command("explore")(explore_command)
