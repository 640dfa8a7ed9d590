"""One self-contained HTML report of reproduced experiments: figures embedded as base64 PNG, per experiment its
claim, agreement count, the rerun command, what came out and what was not supported."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..io import atomic_write_text

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}code{background:#f4f4f4;padding:.1em .3em}
img{max-width:100%;border:1px solid #eee}.claim{background:#f6f8fa;padding:.6em;border-left:4px solid #0969da}
li{margin:.2em 0}"""


def _img(path: str | Path) -> str:
    p = Path(path)
    if not p.is_file():
        return f"<p class=bad>figure missing: {html.escape(str(p))}</p>"
    data = base64.b64encode(p.read_bytes()).decode()
    return f'<img alt="{html.escape(p.name)}" src="data:image/png;base64,{data}">'


def _esc(x: Any) -> str:
    return html.escape(str(x))


def build_report(results: Sequence[dict], path: str | Path, title: str = "sslscape — reproduced results",
                 header: str = "") -> Path:
    """Write the report for experiment results (ExperimentResult.to_dict() dicts) to `path`."""
    rows, sections = [], []
    for r in results:
        cls = "ok" if r["n_agree"] == r["n_scored"] else "bad"
        rows.append(f"<tr><td><a href='#{_esc(r['name'])}'>{_esc(r['name'])}</a></td>"
                    f"<td class={cls}>{r['n_agree']} / {r['n_scored']}</td><td>{len(r['unsupported'])}</td>"
                    f"<td>{r['wall_s']:.1f}</td></tr>")
        unsup = "".join(f"<li>{_esc(u['claim'])} — <i>{_esc(u['reason'])}</i></li>" for u in r["unsupported"])
        figs = "".join(_img(f) for f in r["figures"])
        sections.append(
            f"<h2 id='{_esc(r['name'])}'>{_esc(r['name'])}</h2>"
            f"<p class=claim><b>Claim.</b> {_esc(r['claim'])}</p>"
            f"<p><b>Agreement:</b> <span class={cls}>{r['n_agree']} of {r['n_scored']}</span> scored points "
            f"(theory vs training; seeds {list(r['seeds'])}); {len(r['points'])} points in all; "
            f"{r['wall_s']:.1f} s.</p><p><b>Result.</b> {_esc(r['summary'])}</p>{figs}"
            f"<p>Figure: theory as lines, training as markers (red edge: training ≠ theory).</p>"
            f"<p><b>Rerun:</b> <code>{_esc(r['command'])}</code></p>"
            + (f"<p><b>Not supported / not scored:</b></p><ul>{unsup}</ul>" if unsup else
               "<p><b>Not supported:</b> nothing.</p>"))
    total_a = sum(r["n_agree"] for r in results)
    total_s = sum(r["n_scored"] for r in results)
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(title)}</title><style>{CSS}</style>"
           f"</head><body><h1>{_esc(title)}</h1><p>{_esc(header)}</p>"
           f"<p><b>Overall:</b> {total_a} of {total_s} scored points agree.</p>"
           "<table><tr><th>experiment</th><th>agree / scored</th><th>unsupported</th><th>wall (s)</th></tr>"
           + "".join(rows) + "</table>" + "".join(sections) + "</body></html>\n")
    return atomic_write_text(path, doc)
