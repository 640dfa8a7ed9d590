"""The HTML report is self-contained: figures inlined as base64, claim, agreement and command shown."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sslscape.report.html import build_report  # noqa: E402


def test_report_embeds_figures(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    png = tmp_path / "f.png"
    fig.savefig(png)
    plt.close(fig)
    result = {"name": "demo", "claim": "lines are straight", "command": "sslscape reproduce demo --quick",
              "seeds": [0], "points": [{}], "n_agree": 1, "n_scored": 1, "wall_s": 1.0, "summary": "ok",
              "figures": [str(png)], "unsupported": [{"claim": "c", "reason": "r"}]}
    path = build_report([result], tmp_path / "report.html")
    text = path.read_text()
    assert "data:image/png;base64," in text and "lines are straight" in text
    assert "sslscape reproduce demo --quick" in text and "1 of 1" in text and "src=\"f.png\"" not in text
