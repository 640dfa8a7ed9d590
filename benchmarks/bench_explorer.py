"""The explorer page (sslscape.report.explorer): build time, page size and what it is made of, and — where Debian's
Chromium and playwright are installed — load time and slider-update time in headless Chromium.

    python benchmarks/bench_explorer.py [SPEC] [--loads 3] [--moves 24] [--json out.json] [--no-compare]

Targets (issue 14, measured, never asserted): page < 5 MB for the default grid, load < 2 s, a slider move < 100 ms;
(issue 22) the static page of examples/default.json built in about 10 s or less on a 2-core machine.
Wall times depend on the machine's load (printed with the numbers); CPU times beside them are the load-insensitive
figures (main-thread CPU time in the browser: Chrome DevTools Performance.getMetrics ThreadTime).

Build before/after, in one run: each build in a fresh process (imports and the solvers' per-process tables included,
as for `sslscape explore`): `line_stops=None` (every loss precomputed at every stop of each slider, as before
issue 22's fix) against the default (`explorer.LINE_STOPS` stops per slider for the losses other than the spec's own).
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
import subprocess
import sys
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
             "losses_along_sliders": len(data.lines),
             "advise_answers": len(data.advice), "stops_s": t1 - t0, "grids_s": t2 - t1,
             "grids_and_advise_s": t3 - t2, "render_s": t4 - t3}
    return page, stats


def child_build(spec_path: Path, line_stops: int | None) -> None:
    """In a fresh process (`--child`): build the page's data as `sslscape explore` does and print its timings as JSON
    (CPU time since the process started: imports included)."""
    spec = load_spec(spec_path)
    t0 = time.perf_counter()
    data = E.explorer_data(spec, line_stops=line_stops)
    points = sum(q is not None for line in data.lines.values() for name in E.SLIDERS for q in line[name])
    print(json.dumps({"build_wall_s": time.perf_counter() - t0, "process_cpu_s": time.process_time(),
                      "lines_points": points, "losses_lines": len(data.lines), "losses_grid": len(data.grids),
                      "torch_imported": "torch" in sys.modules}))


def fresh_build(spec_path: Path, line_stops: int | None) -> dict:
    """`child_build` in a new interpreter; adds the process's wall time."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, str(spec_path), "--child", str(line_stops)], check=True,
                         capture_output=True, text=True)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "process_wall_s": time.perf_counter() - t0}


def compare_builds(spec_path: Path) -> dict:
    """The build before (every stop for every loss) and now (the default), each in a fresh process, and the ratio."""
    before, after = fresh_build(spec_path, None), fresh_build(spec_path, E.LINE_STOPS)
    print(f"build, fresh process each (imports included; load average {os.getloadavg()[0]:.1f}):")
    for name, b in (("every stop for every loss (line_stops=None, before)", before),
                    (f"default (line_stops={E.LINE_STOPS} for the other losses)", after)):
        print(f"  {name}: {b['process_wall_s']:.1f} s wall, {b['process_cpu_s']:.1f} s CPU; {b['losses_grid']} losses "
              f"on grids, {b['losses_lines']} along the sliders ({b['lines_points']:,} slider points); torch "
              f"{'imported' if b['torch_imported'] else 'not imported'}")
    ratio = {"wall": before["process_wall_s"] / after["process_wall_s"],
             "cpu": before["process_cpu_s"] / after["process_cpu_s"]}
    print(f"  before / default: {ratio['wall']:.1f}× wall, {ratio['cpu']:.1f}× CPU")
    return {"before": before, "default": after, "ratio": ratio}


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
    parser.add_argument("--no-compare", action="store_true", help="skip the before/after builds (two fresh processes)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # line_stops of a fresh-process build
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.child is not None:
        child_build(Path(args.spec), None if args.child == "None" else int(args.child))
        return
    when = datetime.datetime.now().astimezone().isoformat(timespec="minutes")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}; {when}; "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    page, stats = build(Path(args.spec))
    print(f"page: {stats['page_bytes'] / 1e6:.2f} MB (target < 5 MB); "
          + "; ".join(f"{k} {v / 1e6:.2f} MB" for k, v in stats["sections"].items()))
    print(f"  {stats['losses_precomputed']} losses × {stats['settings_per_loss']:,} slider settings, "
          f"{stats['losses_along_sliders']} along each slider, {stats['advise_answers']} advise answers")
    print(f"build in this process: stops {stats['stops_s']:.1f} s, values without advise {stats['grids_s']:.1f} s, "
          f"again with advise (the solvers' tables now warm) {stats['grids_and_advise_s']:.1f} s, render "
          f"{stats['render_s']:.2f} s")
    result = {"date": when, "load_average": os.getloadavg(), "cpus": os.cpu_count(), **stats}
    if not args.no_compare:
        result["before_after"] = compare_builds(Path(args.spec))
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
