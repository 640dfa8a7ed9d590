"""One self-contained HTML report of reproduced experiments: the paper cited, every experiment mapped to the result
it reproduces, figures embedded as base64 images, agreement counts, cached results marked with the date they were
computed, provenance, the rerun command and what was not supported — and a link to the interactive explorer when
one sits beside the report."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..io import atomic_write_text

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}code{background:#f4f4f4;padding:.1em .3em}
img{max-width:100%;border:1px solid #eee}.claim{background:#f6f8fa;padding:.6em;border-left:4px solid #0969da}
.paper{background:#fff8e5;padding:.6em;border-left:4px solid #d4a72c}.prov{color:#666;font-size:.85em}
.cached{background:#eef2ff;color:#3730a3;padding:.05em .4em;border-radius:.3em;font-size:.9em}
li{margin:.2em 0}"""
MIME = {".png": "image/png", ".svg": "image/svg+xml", ".pdf": "application/pdf"}


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _img(path: Path) -> str:
    if not path.is_file():
        return f"<p class=bad>figure missing: {_esc(path)}</p>"
    mime = MIME.get(path.suffix.lower(), "image/png")
    data = base64.b64encode(path.read_bytes()).decode()
    if mime == "application/pdf":
        return f'<p><a download="{_esc(path.name)}" href="data:{mime};base64,{data}">{_esc(path.name)}</a></p>'
    return f'<img alt="{_esc(path.name)}" src="data:{mime};base64,{data}">'


def _figure_path(folder: Path, result: Mapping[str, Any], name: str) -> Path:
    p = Path(name)
    return p if p.is_absolute() else folder / str(result["name"]) / p


def status(result: Mapping[str, Any]) -> str:
    """'cached, computed DATE' for a result whose every job came from an earlier run; else 'computed DATE in N s'
    (with how many jobs a resumed run took from the earlier one)."""
    cache = result.get("cache") or {}
    when = cache.get("computed") or (result.get("provenance") or {}).get("date", "")
    if cache.get("cached"):
        return f"cached, computed {when}".strip(", ")
    resumed = f" ({cache['from_cache']} of {cache['jobs']} jobs from an earlier run)" if cache.get("from_cache") else ""
    return f"computed {when} in {result['wall_s']:.1f} s{resumed}"


def _provenance(prov: Mapping[str, Any]) -> str:
    if not prov:
        return ""
    commit = str(prov.get("git_commit", "unknown"))
    commit = commit[:12] + (" (modified)" if prov.get("git_dirty") else "") if commit != "unknown" else commit
    return (f"<p class=prov>sslscape {_esc(prov.get('sslscape'))}, commit {_esc(commit)}; python "
            f"{_esc(prov.get('python'))}, numpy {_esc(prov.get('numpy'))}, torch {_esc(prov.get('torch'))}; "
            f"{_esc(prov.get('platform'))} ({_esc(prov.get('machine'))}, {_esc(prov.get('cores'))} cores); "
            f"{_esc(prov.get('size'))} size, seeds {_esc(prov.get('seeds'))}; {_esc(prov.get('date'))}.</p>")


def _section(r: Mapping[str, Any], folder: Path) -> str:
    cls = "ok" if r["n_agree"] == r["n_scored"] else "bad"
    cached = bool((r.get("cache") or {}).get("cached"))
    badge = f" <span class=cached>{_esc(status(r))}</span>" if cached else f" ({_esc(status(r))})"
    unsup = "".join(f"<li>{_esc(u['claim'])} — <i>{_esc(u['reason'])}</i></li>" for u in r["unsupported"])
    figs = "".join(_img(_figure_path(folder, r, f)) for f in r["figures"])
    expected = f"<p><b>Expected.</b> {_esc(r['expected'])}</p>" if r.get("expected") else ""
    return (f"<h2 id='{_esc(r['name'])}'>{_esc(r['name'])}</h2>"
            + (f"<p><b>Reproduces:</b> {_esc(r['paper_result'])}.</p>" if r.get("paper_result") else "")
            + f"<p class=claim><b>Claim.</b> {_esc(r['claim'])}</p>{expected}"
            f"<p><b>Agreement:</b> <span class={cls}>{r['n_agree']} of {r['n_scored']}</span> scored points "
            f"(theory vs training, one agreement rule; seeds {list(r['seeds'])}); {len(r['points'])} points in "
            f"all{badge}.</p><p><b>Result.</b> {_esc(r['summary'])}</p>{figs}"
            "<p>Figures: theory as lines (ranks as steps), training as markers (a red edge where training ≠ "
            f"theory).</p><p><b>Rerun:</b> <code>{_esc(r['command'])}</code> (add <code>--force</code> to "
            "recompute instead of reading the cached records)</p>"
            + (f"<p><b>Not supported / not scored:</b></p><ul>{unsup}</ul>" if unsup else
               "<p><b>Not supported:</b> nothing.</p>")
            + _provenance(r.get("provenance") or {}))


def _paper(paper: Mapping[str, Any] | None) -> str:
    if not paper:
        return ""
    return (f"<p class=paper>These experiments reproduce the results of {_esc(paper['authors'])}, "
            f"<i>{_esc(paper['title'])}</i>, {_esc(paper['venue'])} "
            f"(<a href='{_esc(paper['url'])}'>arXiv:{_esc(paper['arxiv'])}</a>): theory (linear encoders, the loss "
            "expanded around W = 0) against trained encoders, one experiment per result.</p>")


def _explorer(explorer: str | None, folder: Path) -> str:
    if explorer:
        return (f"<p><b>Interactive explorer:</b> <a href='{_esc(explorer)}'>{_esc(explorer)}</a> — move weight "
                "decay, augmentation, temperature and batch size and watch the predicted spectrum and phase.</p>")
    return ("<p><b>Interactive explorer:</b> none in this folder; make one with "
            f"<code>sslscape explore --out {_esc(folder / 'explorer.html')}</code> and it is linked here the next "
            "time a reproduce run writes this report.</p>")


def build_report(results: Sequence[Mapping[str, Any]], path: str | Path,
                 title: str = "sslscape — reproduced results", header: str = "",
                 paper: Mapping[str, Any] | None = None, explorer: str | None = None,
                 problems: Sequence[str] = ()) -> Path:
    """Write the report for experiment results (`ExperimentResult.to_dict()` dicts, e.g. read back from each
    experiment's result.json) to `path` and return it. Figure names are resolved in `path`'s folder / NAME /
    (absolute paths as given). `paper`: {title, authors, venue, arxiv, url} to cite; `explorer`: the file name of
    an explorer page beside the report (else the report says how to make one); `problems`: result files left
    out, one line each."""
    path = Path(path)
    folder = path.parent
    rows = []
    for r in results:
        cls = "ok" if r["n_agree"] == r["n_scored"] else "bad"
        rows.append(f"<tr><td><a href='#{_esc(r['name'])}'>{_esc(r['name'])}</a></td>"
                    f"<td>{_esc(r.get('paper_result', ''))}</td>"
                    f"<td class={cls}>{r['n_agree']} / {r['n_scored']}</td><td>{len(r['unsupported'])}</td>"
                    f"<td>{_esc(r.get('size', 'quick' if r.get('quick') else 'full'))}</td>"
                    f"<td>{_esc(status(r))}</td></tr>")
    total_a = sum(r["n_agree"] for r in results)
    total_s = sum(r["n_scored"] for r in results)
    trouble = ("<p class=bad>Left out:</p><ul>" + "".join(f"<li>{_esc(p)}</li>" for p in problems) + "</ul>"
               if problems else "")
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(title)}</title><style>{CSS}</style>"
           f"</head><body><h1>{_esc(title)}</h1>{_paper(paper)}<p>{_esc(header)}</p>{_explorer(explorer, folder)}"
           f"<p><b>Overall:</b> {total_a} of {total_s} scored points agree, {len(results)} experiment(s).</p>"
           "<table><tr><th>experiment</th><th>the paper's result it reproduces</th><th>agree / scored</th>"
           "<th>unsupported</th><th>size</th><th>status</th></tr>" + "".join(rows) + "</table>" + trouble
           + "".join(_section(r, folder) for r in results) + "</body></html>\n")
    return atomic_write_text(path, doc)
