"""The HTML report is self-contained: figures inlined as base64, claim, agreement and command shown, the paper
cited, cached results marked with their date, and the explorer linked when it sits beside the report."""

from __future__ import annotations

from sslscape.report.html import build_report, status

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def result(name="demo", cached=False, figures=("demo.png",)):
    return {"name": name, "paper_result": "straightness of lines", "claim": "lines are straight",
            "expected": "they are", "command": f"sslscape reproduce {name} --quick", "seeds": [0], "points": [{}],
            "n_agree": 1, "n_scored": 1, "wall_s": 1.0, "summary": "ok", "figures": list(figures),
            "unsupported": [{"claim": "c", "reason": "r"}], "size": "quick",
            "cache": {"jobs": 4, "from_cache": 4 if cached else 0, "cached": cached,
                      "computed": "2026-01-02 03:04:05 UTC", "compute_s": 3.0},
            "provenance": {"sslscape": "9.9", "git_commit": "a" * 40, "git_dirty": False, "python": "3.11",
                           "numpy": "2", "torch": "2.13", "platform": "Linux", "machine": "x86_64", "cores": 2,
                           "date": "2026-01-02 03:04:05 UTC", "size": "quick", "seeds": [0]}}


def test_report_embeds_figures_from_each_experiment_folder(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "demo.png").write_bytes(PNG)
    text = build_report([result()], tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in text and "lines are straight" in text and "straightness of lines" in text
    assert "sslscape reproduce demo --quick" in text and "1 of 1" in text and 'src="demo.png"' not in text
    assert "figure missing" not in text and "aaaaaaaaaaaa" in text  # the commit, shortened


def test_missing_figure_is_said(tmp_path):
    text = build_report([result(figures=("gone.png",))], tmp_path / "report.html").read_text()
    assert "figure missing" in text


def test_cached_result_is_marked_with_its_date(tmp_path):
    assert status(result(cached=True)) == "cached, computed 2026-01-02 03:04:05 UTC"
    assert status(result()).startswith("computed 2026-01-02 03:04:05 UTC in 1.0 s")
    text = build_report([result(cached=True), result("fresh")], tmp_path / "r.html").read_text()
    assert text.count("cached, computed 2026-01-02 03:04:05 UTC") == 2  # table row and section of the cached one
    assert "class=cached" in text


def test_paper_cited_and_explorer_linked_or_explained(tmp_path):
    paper = {"title": "What shapes the loss landscape of self-supervised learning?", "authors": "A, B",
             "venue": "ICLR 2023", "arxiv": "2210.00638", "url": "https://arxiv.org/abs/2210.00638"}
    text = build_report([result()], tmp_path / "r.html", paper=paper, explorer="explorer.html").read_text()
    assert "arXiv:2210.00638" in text and "ICLR 2023" in text and paper["title"] in text
    assert "href='explorer.html'" in text
    text = build_report([result()], tmp_path / "r.html", paper=paper).read_text()
    assert "sslscape explore --out" in text and "href='explorer.html'" not in text
