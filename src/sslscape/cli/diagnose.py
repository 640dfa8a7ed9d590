"""`sslscape diagnose` (a thin layer over sslscape.diagnostics; the comparison with theory is sslscape.compare).

    sslscape diagnose z.npy                      # rich table: ranks, RankMe, α, verdict
    sslscape diagnose z.npy --json               # one JSON object on stdout
    sslscape diagnose z.npy --views v.npy --n-views 4 --labels y.npy --plot spectrum.png --spec spec.json
    sslscape diagnose runs/simclr/                # a run folder: its embeddings.npy (and labels.npy), said so
    sslscape diagnose ckpt_*.npy [--json]        # several files, a quoted glob or a folder of them: ranked

Several inputs are ranked in one process (the imports and set-up are paid once): one row each — verdict, collapse
rank, effective rank, RankMe, LiDAR (from views stored in the same .npz/.pt) — and the best, by RankMe, marked.
Bad input (missing/empty/unreadable file, ambiguous arrays, wrong shape, NaN/Inf rows) raises UserError: one
line, exit 2. N ≤ d is answered, with min(N − 1, d) measurable directions stated.
"""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UserError
from ..orders import ORDER_HELP, Order


def _fmt(x: float | None, digits: int = 4) -> str:
    return "n/a" if x is None else f"{x:.{digits}g}"


RUN_EMBEDDINGS, RUN_LABELS = "embeddings.npy", "labels.npy"  # what `sslscape train` writes into its run folder
OTHER_ROLES = ("labels", "label", "y", "targets", "views", "view")  # file stems that are not embeddings


def _expand(args: list[Path]) -> list[Path]:
    """The paths given, a quoted glob expanded (sorted); a glob that matches nothing is refused."""
    out: list[Path] = []
    for a in args:
        text = str(a)
        if not a.exists() and any(c in text for c in "*?["):
            hits = sorted(glob.glob(text))
            if not hits:
                raise UserError(f"no file matches {text!r}; check the pattern")
            out += [Path(h) for h in hits]
        else:
            out.append(a)
    return out


def resolve_inputs(args: list[Path]) -> tuple[list[Path], Path | None, list[str]]:
    """(embedding files, labels file found beside them, notes) for the FILE arguments: a run folder gives its
    embeddings.npy (and labels.npy); another folder, or several paths, give every array file of them (files named
    for labels or views left out, said so)."""
    from ..io import array_files, formats

    paths, notes = _expand(args), []
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        if (folder / RUN_EMBEDDINGS).is_file():
            labels = folder / RUN_LABELS if (folder / RUN_LABELS).is_file() else None
            notes.append(f"run folder {str(folder)!r}: read {RUN_EMBEDDINGS}"
                         + (f" and {RUN_LABELS} (kNN / linear probe)" if labels else ""))
            return [folder / RUN_EMBEDDINGS], labels, notes
        paths = array_files(folder)
        if not paths:
            raise UserError(f"folder {str(folder)!r} holds no {RUN_EMBEDDINGS} and no {formats()} file to diagnose")
    elif len(paths) > 1:
        for p in paths:
            if p.is_dir():
                raise UserError(f"{str(p)!r} is a folder; give files (or one folder on its own)")
    files = [p for p in paths if p.stem.lower() not in OTHER_ROLES]
    skipped = [p.name for p in paths if p not in files]
    if skipped and len(files) >= 1:
        notes.append(f"left out {', '.join(skipped)} (named for labels or views)")
    return files or paths, None, notes


def labels_beside(path: Path, key: str | None) -> Path | None:
    """`path` itself when it holds labels beside the embeddings — a .npz/.pt/.pth key or a CSV/TSV column named
    for labels — else None (never a guess: only a name says so)."""
    from ..io import ROLE_KEYS, array_names

    if key is not None or not path.is_file():
        return None
    named = [k for k in array_names(path) if k.lower().strip() in ROLE_KEYS["labels"]]
    return path if len(named) == 1 else None


def _views_beside(path: Path, n_views: int | None, n: int) -> Any:
    """Views stored in the same .npz/.pt file under a views key (LiDAR in a ranking), else None."""
    from ..io import ROLE_KEYS, array_names, load_views

    if path.suffix.lower() in (".csv", ".tsv") or not any(k.lower() in ROLE_KEYS["views"] for k in array_names(path)):
        return None
    return load_views(path, n_views, n)


def rank_files(files: list[Path], key: str | None = None, n_views: int | None = None) -> dict[str, Any]:
    """Diagnose several embedding files in one process and rank them: {"files": [one row each], "best": the file
    with the highest RankMe (Garrido et al. 2023: RankMe tracks downstream accuracy across checkpoints)}."""
    from ..diagnostics.diagnosis import diagnose
    from ..io import load_embeddings

    rows = []
    for path in files:
        notes: list[str] = []
        try:
            z = load_embeddings(path, key=key, notes=notes)
            v = _views_beside(path, n_views, z.shape[0])
            d = diagnose(z, views=v)
        except UserError as exc:
            raise UserError(f"{path.name}: {exc}") from exc
        rows.append({"file": str(path), "n": d.n, "dim": d.dim, "verdict": d.verdict, "rank": d.rank,
                     "max_rank": d.max_rank, "effective_rank": d.effective_rank, "rankme": d.rankme,
                     "lidar": d.lidar, "n_views": None if v is None else int(v.shape[1]), "alpha": d.alpha,
                     "knee_decades": d.knee_decades, "duplicate_rows": d.duplicate_rows, "notes": notes})
    best = max(range(len(rows)), key=lambda i: rows[i]["rankme"])
    for i, r in enumerate(rows):
        r["best"] = i == best
    return {"files": rows, "best": rows[best]["file"], "best_by": "rankme",
            "rule": "best: the highest RankMe (Garrido et al. 2023); LiDAR (Thilak et al. 2023) where views are "
                    "stored in the file"}


def _alpha_text(result: Any) -> str:
    """α-ReQ with the fit's window and quality; not reported for a spectrum that is no power law."""
    fit, authors = result.alpha_fit, result.alpha_fit_authors
    if fit is None or fit.alpha != fit.alpha:  # NaN: too few directions
        return "n/a"
    words = (f"{fit.alpha:.3g} (k = {fit.k_min}…{fit.k_max}, fit rms {fit.rms_decades:.2f} decade)" if fit.power_law
             else f"not reported: no power law (the line over k = {fit.k_min}…{fit.k_max} misses by "
                  f"{fit.rms_decades:.2f} decade rms)")
    if authors is not None and authors.alpha == authors.alpha:
        words += (f"; authors' window k = {authors.k_min}…{authors.k_max}: "
                  + (f"{authors.alpha:.3g}" if authors.power_law else f"no power law ({authors.rms_decades:.2f} rms)"))
    return words


def _print_ranking(result: dict[str, Any], notes: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"sslscape diagnose — {len(result['files'])} files, best by RankMe marked ★")
    for col in ("", "file", "N × d", "verdict", "collapse rank", "effective rank", "RankMe", "LiDAR"):
        table.add_column(col, justify="left" if col in ("file", "verdict") else "right")
    for r in result["files"]:
        lidar = "n/a (no views)" if r["lidar"] is None else f"{r['lidar']:.4g} ({r['n_views']} views)"
        table.add_row("★" if r["best"] else "", Path(r["file"]).name, f"{r['n']} × {r['dim']}", r["verdict"],
                      f"{r['rank']} of {r['max_rank']}", f"{r['effective_rank']:.4g}", f"{r['rankme']:.4g}", lidar)
    console = Console(soft_wrap=True, width=None if Console().is_terminal else 132)
    console.print(table)
    for note in notes + [n for r in result["files"] for n in r["notes"]]:
        console.print(f"note: {note}", markup=False, highlight=False)


def diagnose_command(
    embeddings: Annotated[list[Path], typer.Argument(
        metavar="FILE...", help="(N, d) embeddings (.npy/.npz/.pt/.pth/.csv/.tsv), a run folder, or several files / a "
                                "glob / a folder of them to rank")],
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
    order: Annotated[Order, typer.Option("--order", help="theory order for --spec: " + ORDER_HELP)] = Order.AUTO,
    max_seconds: Annotated[float | None, typer.Option("--max-seconds", help="--spec with a numerical solve: stop "
                                                      "after this many seconds with the best answer so far")] = None,
    seed: Annotated[int, typer.Option(help="seed of the probes' train/test split")] = 0,
) -> None:
    """Spectrum, numerical/effective rank, RankMe, LiDAR, α-ReQ and a collapse verdict for any embeddings."""
    from ..diagnostics.diagnosis import diagnose
    from ..io import load_embeddings, load_labels, load_views

    files, folder_labels, notes = resolve_inputs(embeddings)
    if len(files) > 1:
        extra = [name for name, v in (("--views", views), ("--labels", labels), ("--plot", plot), ("--spec", spec))
                 if v is not None]
        if extra:
            raise UserError(f"{', '.join(extra)} apply to one embeddings file; with {len(files)} files to rank "
                            "give one file, or drop them")
        ranking = rank_files(files, key=key, n_views=n_views)
        if notes:
            ranking["notes"] = notes
        if as_json:
            typer.echo(json.dumps(ranking))
        else:
            _print_ranking(ranking, notes)
        return
    embeddings = files[0]
    if labels is None:
        labels = folder_labels or labels_beside(embeddings, key)
        if labels is not None and labels == embeddings:
            notes.append(f"labels read from the same file ({embeddings.name}): kNN / linear probe")
    if n_views is not None and views is None:
        raise UserError("--n-views needs --views FILE (the views to group); add --views or drop --n-views")
    if plot is not None:  # refuse an unknown figure format before any work (png, pdf or svg from the extension)
        from ..report.figures import check_format

        check_format(plot)
    z = load_embeddings(embeddings, key=key, notes=notes)
    v = load_views(views, n_views, z.shape[0]) if views is not None else None
    if v is not None and v.shape[2] != z.shape[1]:
        raise UserError(
            f"views have d = {v.shape[2]} but embeddings have d = {z.shape[1]}; use the same encoder"
        )
    y = load_labels(labels, z.shape[0]) if labels is not None else None
    result = diagnose(z, views=v)

    out: dict[str, Any] = result.to_dict()
    if notes:
        out["notes"] = notes
    probes = None
    if y is not None:
        from ..diagnostics.probe import probe_accuracies

        probes = probe_accuracies(z, y, seed=seed)
        out["probe"] = probes.to_dict()
    comparison = None
    if spec is not None:
        from ..compare import compare_embeddings
        from ..spec import load_spec
        from .progress import solve_with_feedback

        prediction = solve_with_feedback(load_spec(spec), order, max_seconds)
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
    from rich.text import Text

    table = Table(
        title=f"sslscape diagnose — {embeddings.name} ({result.n} × {result.dim})", show_header=False
    )
    table.add_row("verdict", f"[bold]{result.verdict}[/bold]")
    table.add_row("why", Text(result.reason))
    table.add_row("collapse rank", f"{result.rank} of {result.max_rank} measurable (cut at λ/λ_1 = "
                  f"{result.rank_rtol:.1e}; rule: docs/metrics.md)")
    table.add_row("numerical rank", f"{result.numerical_rank} (λ > {result.numerical_rank_floor:.2e}: rounding noise "
                  f"of {result.storage} values × 16)")
    table.add_row("variance in surviving directions", f"{result.surviving_variance_share:.2%}")
    table.add_row("effective rank", _fmt(result.effective_rank))
    table.add_row("RankMe", _fmt(result.rankme))
    table.add_row("α-ReQ", _alpha_text(result))
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
    for note in notes:
        table.add_row("note", Text(note))
    Console(soft_wrap=True).print(table)


def register(app: typer.Typer) -> None:
    app.command("diagnose")(diagnose_command)
