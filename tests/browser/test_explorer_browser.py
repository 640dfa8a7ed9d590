"""The explorer page in a real browser: Debian's Chromium, headless, driven by Playwright (Python).

The page for examples/default.json (the default grid) is built once; the tests check that it loads without a
console error, that the weight-decay slider shows exactly the rank `sslscape.predict` returns at the slider's value,
that the copied spec parses, and they write screenshots of a healthy and a collapsed setting for a person to look
at, plus the page's size, load time and slider-update time (measured, not asserted: machine, load and date are
written with them) to out/browser/explorer_measurements.json. Screenshots go to out/browser/ too, or to
$SSLSCAPE_SCREENSHOTS (SSLSCAPE_SCREENSHOTS=docs refreshes the README's docs/explorer_*.png).

Needs /usr/bin/chromium (`apt-get install -y chromium`) and the playwright package (never `playwright install`:
the browser is Debian's); without them the tests skip and say which is missing.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from sslscape.report import explorer as E
from sslscape.spec import load_spec, parse_spec
from sslscape.theory.predict import predict

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "default.json"

if not Path(CHROMIUM).exists():
    pytest.skip("no /usr/bin/chromium: apt-get install -y chromium (Debian's build; the tests never download one)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright "
                               "(the browser is Debian's /usr/bin/chromium; never run `playwright install`)")


# one xdist worker runs the whole module (`pytest -n 2 --dist loadgroup`): the page is built once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


def out_dir(screenshots: bool = True) -> Path:
    """Screenshots: $SSLSCAPE_SCREENSHOTS (e.g. docs) or out/browser; measurements: always out/browser."""
    folder = Path(os.environ.get("SSLSCAPE_SCREENSHOTS") or "") if screenshots else Path()
    folder = folder if str(folder) not in ("", ".") else ROOT / "out" / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The default spec's page, as `sslscape explore` writes it (every loss the static page can hold: ~8 s)."""
    spec = load_spec(SPEC)
    start = time.perf_counter()
    data = E.explorer_data(spec)
    build_s = time.perf_counter() - start
    path = tmp_path_factory.mktemp("explorer") / "explorer.html"
    path.write_text(E.render_page(data), encoding="utf-8")
    return {"spec": E.home_spec(spec, E.Stops(**{k: tuple(v) for k, v in data.stops.items()})), "data": data,
            "path": path, "build_s": build_s}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=ARGS, headless=True,
                                                        viewport={"width": 1400, "height": 1000})
        yield context
        context.close()


class Page:
    """One loaded page, with its console messages and a CDP session for main-thread CPU time."""

    def __init__(self, context, path: Path):
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type in (
            "error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.cdp = context.new_cdp_session(self.page)
        self.cdp.send("Performance.enable")
        before = self.metrics()
        start = time.perf_counter()
        self.page.goto(path.as_uri())
        self.page.wait_for_function("window.explorerReady === true", timeout=120_000)
        self.load_s = time.perf_counter() - start
        self.load_cpu_s = self.metrics()["ThreadTime"] - before["ThreadTime"]

    def metrics(self) -> dict[str, float]:
        return {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}

    def text(self, selector: str) -> str:
        return self.page.locator(selector).inner_text()

    def move(self, slider: str, index: int) -> None:
        """Move a slider to stop `index` with the keyboard (real input events), waiting for the page's update."""
        el = self.page.locator(f"#slider-{slider}")
        el.focus()
        now = int(el.input_value())
        for _ in range(abs(index - now)):
            n = self.page.evaluate("window.sslscapeTiming.updates.length")
            self.page.keyboard.press("ArrowRight" if index > now else "ArrowLeft")
            self.page.wait_for_function(f"window.sslscapeTiming.updates.length > {n}")
        assert int(el.input_value()) == index

    def close(self) -> None:
        self.page.close()


@pytest.fixture()
def page(browser, built):
    p = Page(browser, built["path"])
    yield p
    p.close()


def stop_value(built, slider: str, index: int):
    return built["data"].stops[slider][index]


def test_loads_without_console_errors_and_shows_the_spec(page, built):
    assert page.errors == []
    pred = predict(built["spec"])
    assert page.text("#rank") == str(pred.rank) and page.text("#max-rank") == str(pred.capacity)
    assert pred.phase in page.text("#phase")  # "dimensional collapse"
    assert page.page.locator("#phase-plot .main-svg").count() > 0  # plotly drew the phase diagram
    assert page.page.locator("#spectrum-plot .main-svg").count() > 0


def test_weight_decay_slider_shows_the_rank_predict_returns(page, built):
    stops = built["data"].stops["weight_decay"]
    seen = set()
    for index in (0, 1, 2, 3, 4, 6, 8, 14, 20, len(stops) - 1):  # γ across every rank the default spec has
        page.move("weight_decay", index)
        gamma = stop_value(built, "weight_decay", index)
        pred = predict(built["spec"].with_updates(weight_decay=gamma))
        assert page.text("#rank") == str(pred.rank), f"γ = {gamma}"
        assert pred.phase in page.text("#phase")
        # the variance column: the spectrum decoded in the page (16-bit log codes, delta-packed) is predict's
        shown = [float(t) for t in page.page.locator("#critical tbody tr td:nth-child(2)").all_inner_texts()]
        assert len(shown) == pred.capacity
        np.testing.assert_allclose(shown, pred.spectrum[: len(shown)], rtol=6e-3, atol=0, err_msg=f"γ = {gamma}")
        seen.add(pred.rank)
    assert len(seen) >= 4
    assert page.errors == []


def test_other_sliders_and_choices_match_predict(page, built):
    page.move("embed_dim", 2)
    page.move("noise_scale", 2)
    page.move("weight_decay", 3)
    page.page.select_option("#choice-objective", "spectral")  # similarity becomes dot: spectral has no other
    # another loss's grids are decoded the first time it is picked: wait for the page to show it
    page.page.wait_for_function("document.getElementById('spec-json').textContent.indexOf('\"spectral\"') >= 0",
                                timeout=60_000)
    spec = parse_spec(json.loads(page.text("#spec-json")))
    assert spec.objective == "spectral" and spec.similarity == "dot" and spec.embed_dim == 3
    pred = predict(spec)  # a closed form: every setting precomputed (the count the theory keeps)
    assert page.text("#rank") == str(pred.alive) and page.text("#max-rank") == str(pred.capacity)
    page.page.select_option("#choice-objective", "vicreg")  # answered along each slider: three moved here
    assert "--serve" in page.text("#choice-status") and page.text("#rank") == "·"
    assert page.errors == []


def test_a_loss_precomputed_at_fewer_stops_moves_over_them(page, built):
    """Another loss than the spec's own is precomputed at some stops of each slider: a key press moves to the next
    of them, and the rank shown there is predict's."""
    page.page.select_option("#choice-similarity", "cosine")  # cosine InfoNCE: the reduced learned-point solver
    key = "infonce|cosine|clean_negatives|none"
    page.page.wait_for_function("document.getElementById('spec-json').textContent.indexOf('\"cosine\"') >= 0")
    line = built["data"].lines[key]["weight_decay"]
    held = [i for i, q in enumerate(line) if q is not None]
    assert len(held) < len(line) and "stops precomputed for this loss" in page.text("#why-weight_decay")
    el = page.page.locator("#slider-weight_decay")
    el.focus()
    page.page.keyboard.press("Home")
    for index in held[1:4]:  # each ArrowRight lands on the next precomputed stop
        n = page.page.evaluate("window.sslscapeTiming.updates.length")
        page.page.keyboard.press("ArrowRight")
        page.page.wait_for_function(f"window.sslscapeTiming.updates.length > {n}")
        assert int(el.input_value()) == index
        spec = parse_spec(json.loads(page.text("#spec-json")))
        assert spec.similarity == "cosine" and spec.weight_decay == stop_value(built, "weight_decay", index)
        assert page.text("#rank") == str(predict(spec).rank), f"γ = {spec.weight_decay}"
    assert page.errors == []


def test_copied_spec_parses_and_predicts_what_the_page_shows(page, built, browser):
    browser.grant_permissions(["clipboard-read", "clipboard-write"])
    page.move("batch_size", 1)  # one slider: the default loss is precomputed along each slider
    page.page.click("#copy-spec")
    page.page.wait_for_function("window.sslscapeCopied !== undefined")
    copied = page.page.evaluate("window.sslscapeCopied")
    try:  # the real clipboard where the browser grants it, else what the button put there
        clip = page.page.evaluate("navigator.clipboard.readText()")
        assert clip == copied
    except sync_api.Error:
        pass
    spec = parse_spec(json.loads(copied))
    assert spec.weight_decay == built["spec"].weight_decay
    assert spec.batch_size == stop_value(built, "batch_size", 1)
    assert page.text("#rank") == str(predict(spec).rank)
    assert "copied" in page.text("#copy-status") or "select" in page.text("#copy-status")


def test_screenshot_and_measurements(page, built, browser):
    """A screenshot of the default spec (dimensional collapse: 4 of 8 directions survive); page size, load time and
    slider-update time written to out/browser/ (measured, not asserted)."""
    folder = out_dir()
    sizes = {"page_bytes": built["path"].stat().st_size}
    moves, cpu = [], []
    page.move("weight_decay", 0)
    for index in range(1, 13):  # twelve moves along weight decay, each a real key press
        before = page.metrics()["ThreadTime"]
        page.move("weight_decay", index)
        cpu.append(1000 * (page.metrics()["ThreadTime"] - before))
        moves.append(page.page.evaluate("window.sslscapeTiming.updates.at(-1)"))
    page.page.locator("#reset").click()
    page.page.wait_for_timeout(300)
    collapse = predict(built["spec"])
    assert collapse.phase == "dimensional" and page.text("#rank") == str(collapse.rank)
    assert "keeps exactly 4" in page.text("#advise-answer")  # advise at the spec's own setting, precomputed
    page.page.screenshot(path=str(folder / "explorer_collapse.png"), full_page=True)
    marks = page.page.evaluate("window.sslscapeTiming.marks")
    fresh = Page(browser, built["path"])  # a second, cold load of the same file
    result = {
        **sizes,
        "page_mb": round(sizes["page_bytes"] / 1e6, 3),
        "build_s": round(built["build_s"], 2),
        "load_s": round(page.load_s, 3), "load_main_thread_cpu_s": round(page.load_cpu_s, 3),
        "load2_s": round(fresh.load_s, 3), "load2_main_thread_cpu_s": round(fresh.load_cpu_s, 3),
        "values_shown_ms": round(marks.get("values_shown", float("nan"))),
        "plots_drawn_ms": round(marks.get("first_render", float("nan"))),
        "slider_update_ms": {"median": round(statistics.median(moves), 1), "max": round(max(moves), 1),
                             "all": [round(m, 1) for m in moves]},
        "slider_update_main_thread_cpu_ms": {"median": round(statistics.median(cpu), 1), "max": round(max(cpu), 1)},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "load_average": list(os.getloadavg()),
        "browser": _chromium_version(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    fresh.close()
    (out_dir(screenshots=False) / "explorer_measurements.json").write_text(json.dumps(result, indent=2))
    print("\nexplorer measurements:", json.dumps(result))
    assert (folder / "explorer_collapse.png").stat().st_size > 10_000
    assert page.errors == []


def _chromium_version() -> str:
    try:
        return subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def test_served_page_answers_advise_and_losses_outside_the_grid(browser, built):
    """`--serve`: the same page from localhost asks the server for `advise` at any setting (screenshot of a healthy
    setting: an embedding of 4, where every direction survives) and for a loss without a closed form."""
    import threading

    server = E.make_server(E.render_page(built["data"], live=True), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        page.wait_for_function("window.explorerReady === true", timeout=120_000)
        page.locator("#slider-embed_dim").focus()
        for _ in range(4):  # embedding size 8 → 4
            page.keyboard.press("ArrowLeft")
        healthy = predict(built["spec"].with_updates(embed_dim=4))
        assert healthy.phase == "none"
        page.wait_for_function(f"document.getElementById('rank').textContent === '{healthy.rank}'")
        page.locator("#advise-k").fill("4")
        page.wait_for_function("document.getElementById('advise-note').textContent.indexOf('computed now') >= 0")
        page.wait_for_function("document.getElementById('live-thresholds').textContent.indexOf('critical') >= 0")
        assert "keeps exactly 4" in page.locator("#advise-answer").inner_text()
        page.screenshot(path=str(out_dir() / "explorer_healthy.png"), full_page=True)
        page.select_option("#choice-objective", "spectral")
        page.select_option("#choice-normalization", "l2")  # no closed form: the server runs the exact solver
        page.wait_for_function("document.getElementById('rank').textContent.match(/^[0-9]+$/) !== null",
                               timeout=300_000)
        spec = parse_spec(json.loads(page.locator("#spec-json").inner_text()))
        assert spec.normalization == "l2"
        assert page.locator("#rank").inner_text() == str(predict(spec).rank)
        page.wait_for_function("document.getElementById('advise-answer').textContent.indexOf('asking') < 0")
        assert "computed now" in page.locator("#advise-note").inner_text()
        assert errors == []
    finally:
        page.close()
        server.shutdown()
        server.server_close()

