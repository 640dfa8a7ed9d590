"""What a reproduce folder adds up to: every experiment's result.json gathered into summary.json and report.html.

Results accumulate: whatever experiments were ever run into the folder (each in `FOLDER/NAME/result.json`) are
read back, so running a second experiment into the same folder keeps the first in the summary and the report.
A result whose every job came from an earlier run is marked cached, with the date it was computed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..io import atomic_write_json, json_default
from . import CITATION, EXPERIMENTS, PAPER
from .runner import RESULT_FILE

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
EXPLORER_FILES = ("explorer.html", "explore.html")


def load_results(out_dir: str | Path) -> tuple[list[dict], list[str]]:
    """(results, problems): the result.json of every known experiment in `out_dir`, in the paper's order, and
    one line per result file that could not be read (it is left out, never fatal)."""
    results, problems = [], []
    for name in EXPERIMENTS:
        path = Path(out_dir) / name / RESULT_FILE
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("name") != name or "n_agree" not in data:
                raise ValueError("not an sslscape experiment result")
        except (OSError, ValueError) as exc:
            problems.append(f"{path}: unreadable ({exc}); rerun with: sslscape reproduce {name} --force")
            continue
        results.append(data)
    return results, problems


def explorer_page(out_dir: str | Path) -> str | None:
    """The interactive explorer's file name if one sits in `out_dir` (`sslscape explore --out DIR/explorer.html`)."""
    return next((n for n in EXPLORER_FILES if (Path(out_dir) / n).is_file()), None)


def summary_of(results: list[dict], out_dir: str | Path, invocation: dict[str, Any]) -> dict[str, Any]:
    """summary.json's content: the paper, this invocation's provenance, totals, and per experiment its counts,
    cache state, summary and its own provenance."""
    experiments = {
        r["name"]: {"paper_result": r.get("paper_result", ""), "n_agree": r["n_agree"], "n_scored": r["n_scored"],
                    "n_unsupported": len(r["unsupported"]), "cached": bool(r.get("cache", {}).get("cached")),
                    "computed": r.get("cache", {}).get("computed"), "wall_s": r["wall_s"], "size": r.get("size"),
                    "seeds": r["seeds"], "summary": r["summary"],
                    "result": str(Path(out_dir) / r["name"] / RESULT_FILE), "provenance": r.get("provenance", {})}
        for r in results}
    return {"paper": {**PAPER, "citation": CITATION}, "provenance": invocation,
            "total": {"n_agree": sum(r["n_agree"] for r in results), "n_scored": sum(r["n_scored"] for r in results),
                      "experiments": len(results)},
            "experiments": experiments}


def write_outputs(out_dir: str | Path, invocation: dict[str, Any]) -> tuple[Path, Path, list[str]]:
    """Write `out_dir`/summary.json and report.html from every result in the folder; returns their paths and the
    problems `load_results` found."""
    from ..report.html import build_report

    out = Path(out_dir)
    results, problems = load_results(out)
    summary = atomic_write_json(out / SUMMARY_FILE, summary_of(results, out, invocation), default=json_default)
    report = build_report(results, out / REPORT_FILE, paper={**PAPER, "citation": CITATION},
                          explorer=explorer_page(out), problems=problems,
                          header=f"Report written {invocation.get('date', '')} from the results in this folder.")
    return summary, report, problems
