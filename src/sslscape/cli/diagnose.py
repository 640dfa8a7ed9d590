"""`sslscape diagnose` (a thin layer over sslscape.diagnostics; the comparison with theory is sslscape.compare).

    sslscape diagnose z.npy                      # rich table: ranks, RankMe, α, verdict
    sslscape diagnose z.npy --json               # one JSON object on stdout
    sslscape diagnose z.npy --views v.npy --n-views 4 --labels y.npy --plot spectrum.png --spec spec.json

Bad input (missing/empty/unreadable file, ambiguous arrays, wrong shape, NaN/Inf rows) raises UserError: one
line, exit 2. N ≤ d is answered, with min(N − 1, d) measurable directions stated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UserError


def _fmt(x: float | None, digits: int = 4) -> str:
    return "n/a" if x is None else f"{x:.{digits}g}"


def diagnose_command(
    embeddings: Annotated[Path, typer.Argument(metavar="FILE", help="(N, d) embeddings: .npy/.npz/.pt/.csv/.tsv")],
    key: Annotated[
        str | None, typer.Option("--key", help="the array (.npz/.pt key, CSV column) holding the embeddings")
    ] = None,
    views: Annotated[
        Path | None,
        typer.Option(
            "--views", help="views for LiDAR: (N, q, d), or (N·q, d) grouped by sample with --n-views"
        ),
    ] = None,
    n_views: Annotated[
        int | None, typer.Option("--n-views", help="q, views per sample in a 2-D views file")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="(N,) labels: adds kNN and linear-probe accuracy")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", metavar="FILE", help="write the spectrum figure (.png, .pdf or .svg)")
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="problem spec: compare with the theory's predicted rank and spectrum"),
    ] = None,
    order: Annotated[str, typer.Option(help="theory order for --spec: quartic or exact")] = "quartic",
    seed: Annotated[int, typer.Option(help="seed of the probes' train/test split")] = 0,
) -> None:
    """Spectrum, numerical/effective rank, RankMe, LiDAR, α-ReQ and a collapse verdict for any embeddings."""
    from ..diagnostics.diagnosis import diagnose
    from ..io import load_embeddings, load_labels, load_views

    if order not in ("quartic", "exact"):
        raise UserError(f"--order must be 'quartic' or 'exact', got {order!r}")
    if n_views is not None and views is None:
        raise UserError("--n-views needs --views FILE (the views to group); add --views or drop --n-views")
    if plot is not None:  # refuse an unknown figure format before any work (png, pdf or svg from the extension)
        from ..report.figures import check_format

        check_format(plot)
    z = load_embeddings(embeddings, key=key)
    v = load_views(views, n_views, z.shape[0]) if views is not None else None
    if v is not None and v.shape[2] != z.shape[1]:
        raise UserError(
            f"views have d = {v.shape[2]} but embeddings have d = {z.shape[1]}; use the same encoder"
        )
    y = load_labels(labels, z.shape[0]) if labels is not None else None
    result = diagnose(z, views=v)

    out: dict[str, Any] = result.to_dict()
    probes = None
    if y is not None:
        from ..diagnostics.probe import probe_accuracies

        probes = probe_accuracies(z, y, seed=seed)
        out["probe"] = probes.to_dict()
    comparison = None
    if spec is not None:
        from ..compare import compare_embeddings
        from ..spec import load_spec
        from ..theory import predict

        prediction = predict(load_spec(spec), order)  # type: ignore[arg-type]
        comparison = compare_embeddings(result, prediction)
        out["theory"] = {**comparison.to_dict(), "predicted_eigenvalues": [float(x) for x in prediction.spectrum]}
    if plot is not None:
        from ..report.spectrum_plot import plot_spectrum

        out["plot"] = str(plot_spectrum(result, plot, comparison))

    if as_json:
        typer.echo(json.dumps(out))
        return

    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"sslscape diagnose — {embeddings.name} ({result.n} × {result.dim})", show_header=False
    )
    table.add_row("verdict", f"[bold]{result.verdict}[/bold]")
    table.add_row("why", result.reason)
    table.add_row("collapse rank", f"{result.rank} of {result.max_rank} measurable (cut at λ/λ_1 = "
                  f"{result.rank_rtol:.1e}; rule: docs/metrics.md)")
    table.add_row("numerical rank", f"{result.numerical_rank} (λ > {result.numerical_rank_floor:.2e}: rounding noise "
                  f"of {result.storage} values × 16)")
    table.add_row("variance in surviving directions", f"{result.surviving_variance_share:.2%}")
    table.add_row("effective rank", _fmt(result.effective_rank))
    table.add_row("RankMe", _fmt(result.rankme))
    table.add_row("α-ReQ", _fmt(result.alpha, 3))
    table.add_row(
        "std of L2-normalised z", f"{result.normalized_std:.4g} (healthy ≈ 1/√d = {result.dim**-0.5:.4g})"
    )
    if result.mean_cosine is not None:
        table.add_row("mean pairwise cosine", f"{result.mean_cosine:.6f}")
    if result.lidar is not None:
        table.add_row("LiDAR", _fmt(result.lidar))
    table.add_row("top eigenvalues", ", ".join(f"{x:.3g}" for x in result.eigenvalues[:6]) + " …")
    if probes is not None:
        table.add_row(
            f"kNN accuracy (k={probes.k}, cosine)", f"{probes.knn_accuracy:.4f} on {probes.n_test} held out"
        )
        table.add_row("linear-probe accuracy", f"{probes.linear_accuracy:.4f}")
    if comparison is not None:
        table.add_row(
            "theory rank",
            f"{comparison.predicted_rank} by the collapse rule, {comparison.order} order (measured "
            f"{comparison.measured_rank}) — "
            + ("[green]agree[/green]" if comparison.agree else "[red]disagree[/red]"),
        )
        table.add_row("theory phase", f"{comparison.predicted_phase} (measured {comparison.measured_phase})")
        table.add_row(
            "spectrum shape distance", f"{comparison.spectrum_distance:.3g} (max |λ_k/λ_1 difference|)"
        )
    if plot is not None:
        table.add_row("figure", str(plot))
    Console(soft_wrap=True).print(table)


def register(app: typer.Typer) -> None:
    app.command("diagnose")(diagnose_command)
