"""The explorer page (sslscape.report.explorer): build time, page size and what it is made of, and — where Debian's
Chromium and playwright are installed — load time and slider-update time in headless Chromium.

    python benchmarks/bench_explorer.py [SPEC] [--loads 3] [--moves 24] [--json out.json]

Targets (issue 14, measured, never asserted): page < 5 MB for the default grid, load < 2 s, a slider move < 100 ms.
Wall times depend on the machine's load (printed with the numbers); main-thread CPU time (Chrome DevTools
Performance.getMetrics ThreadTime) is reported beside them as a load-insensitive figure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import statistics
import tempfile
import time
from pathlib import Path

from sslscape.report import explorer as E
from sslscape.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def build(spec_path: Path) -> tuple[str, dict]:
    spec = load_spec(spec_path)
    t0 = time.perf_counter()
    stops = E.default_stops(spec)
    t1 = time.perf_counter()
    E.explorer_data(spec, stops, advise_choices="none")  # the grids alone
    t2 = time.perf_counter()
    data = E.explorer_data(spec, stops)  # the page `sslscape explore` writes: advise for the spec's own loss
    t3 = time.perf_counter()
    page = E.render_page(data)
    t4 = time.perf_counter()
    sections = {name: len(m.group(1).encode()) for name, m in (
        ("plotly.js (gzip, base64)", re.search(r'id="plotly-gz">(.*?)</script>', page, re.S)),
        ("theory data (JSON + gzip/base64 arrays)", re.search(r'id="sslscape-data">(.*?)</script>', page, re.S)))}
    grid_bytes = sum(len(a["gz"]) for g in data.grids.values() for a in g.values() if isinstance(a, dict))
    size = len(page.encode())
    stats = {"page_bytes": size, "sections": sections, "arrays_bytes": grid_bytes,
             "settings_per_loss": int(math.prod(stops.shape)), "losses_precomputed": len(data.grids),
             "advise_answers": len(data.advice), "stops_s": t1 - t0, "grids_s": t2 - t1,
             "grids_and_advise_s": t3 - t2, "render_s": t4 - t3}
    return page, stats


def browser(page_path: Path, loads: int, moves: int) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {"loads": [], "moves_ms": [], "moves_cpu_ms": []}
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        ctx = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=ARGS, headless=True,
                                                    viewport={"width": 1400, "height": 1000})
        for _ in range(loads):
            page = ctx.new_page()
            cdp = ctx.new_cdp_session(page)
            cdp.send("Performance.enable")

            def cpu(cdp=cdp) -> float:
                return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]
                            if m["name"] == "ThreadTime")

            c0, t0 = cpu(), time.perf_counter()
            page.goto(page_path.as_uri())
            page.wait_for_function("window.explorerReady === true", timeout=120_000)
            marks = page.evaluate("window.sslscapeTiming.marks")
            out["loads"].append({"wall_s": time.perf_counter() - t0, "main_thread_cpu_s": cpu() - c0,
                                 "values_shown_ms": marks["values_shown"], "plots_drawn_ms": marks["first_render"]})
            if not out["moves_ms"]:
                slider = page.locator("#slider-weight_decay")
                slider.focus()
                page.keyboard.press("Home")
                for i in range(moves):
                    n = page.evaluate("window.sslscapeTiming.updates.length")
                    c = cpu()
                    page.keyboard.press("ArrowRight" if (i // 12) % 2 == 0 else "ArrowLeft")
                    page.wait_for_function(f"window.sslscapeTiming.updates.length > {n}")
                    out["moves_cpu_ms"].append(1000 * (cpu() - c))
                    out["moves_ms"].append(page.evaluate("window.sslscapeTiming.updates.at(-1)"))
            page.close()
        ctx.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "examples" / "default.json"))
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--moves", type=int, default=24)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    when = datetime.datetime.now().astimezone().isoformat(timespec="minutes")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}; {when}; "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    page, stats = build(Path(args.spec))
    print(f"page: {stats['page_bytes'] / 1e6:.2f} MB (target < 5 MB); "
          + "; ".join(f"{k} {v / 1e6:.2f} MB" for k, v in stats["sections"].items()))
    print(f"  {stats['losses_precomputed']} losses × {stats['settings_per_loss']:,} slider settings, "
          f"{stats['advise_answers']} advise answers")
    print(f"build: stops {stats['stops_s']:.1f} s, grids {stats['grids_s']:.1f} s, grids + advise "
          f"{stats['grids_and_advise_s']:.1f} s, render {stats['render_s']:.2f} s")
    result = {"date": when, "load_average": os.getloadavg(), "cpus": os.cpu_count(), **stats}
    if Path(CHROMIUM).exists():
        try:
            import playwright  # noqa: F401
        except ImportError:
            print("browser: skipped (pip install playwright)")
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "explorer.html"
                path.write_text(page, encoding="utf-8")
                b = browser(path, args.loads, args.moves)
            loads = b["loads"]
            print("load (target < 2 s): " + "; ".join(
                f"{x['wall_s']:.2f} s wall, {x['main_thread_cpu_s']:.2f} s main-thread CPU, values shown at "
                f"{x['values_shown_ms'] / 1e3:.2f} s" for x in loads))
            print(f"slider move (target < 100 ms), {len(b['moves_ms'])} moves: median "
                  f"{statistics.median(b['moves_ms']):.0f} ms, max {max(b['moves_ms']):.0f} ms; main-thread CPU "
                  f"median {statistics.median(b['moves_cpu_ms']):.0f} ms")
            print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
            result["browser"] = b
    else:
        print("browser: skipped (no /usr/bin/chromium: apt-get install -y chromium)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
