"""The architecture's arrows (docs/architecture.md), enforced on the source: an import that breaks one fails here.

    spec → moments → theory (prediction);  spec → training (measured by diagnostics) → compare → report
    never: theory ↔ training; training or diagnostics → theory; objectives → spec; any core package → cli,
    typer or rich; any library module → pyplot / matplotlib.use (figures are Figure objects, report/ only);
    monitor ↔ projector (the monitor's theory enters through expectation)
    one solver table: no module but theory/solvers.py calls a solver's covers / solve or imports a solver
    module's row functions (covers*, prediction*, thresholds*, estimate*, knob_changes*) — every entry point asks
    `plan` / `predict` (tests/test_entry_points.py checks they agree)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "sslscape"
LAYERS = ("objectives", "theory", "training", "diagnostics", "experiments", "report", "cli")
TOP = ("spec", "moments", "io", "errors", "result", "augment", "datasets", "threads", "compare", "projector", "monitor",
       "expectation", "recipe", "knobs", "orders", "_lazy")
LEAF = ("spec", "moments", "io", "result", "augment", "datasets", "threads", "compare", "projector", "monitor",
        "expectation", "theory", "training", "diagnostics", "experiments", "report", "cli")
# (module area, areas it must not import)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "objectives": ("spec", "moments", "theory", "training", "diagnostics", "compare", "experiments", "report", "cli"),
    "theory": ("training", "compare", "experiments", "report", "cli"),
    "training": ("theory", "compare", "experiments", "report", "cli"),
    "diagnostics": ("theory", "training", "compare", "experiments", "report", "cli"),
    "spec": ("moments", "theory", "training", "diagnostics", "compare", "experiments", "report", "cli"),
    "moments": ("theory", "training", "diagnostics", "compare", "experiments", "report", "cli"),
    "io": ("spec", "moments", "theory", "training", "diagnostics", "compare", "experiments", "report", "cli"),
    "errors": ("spec", "moments", "io", "theory", "training", "diagnostics", "compare", "experiments", "report", "cli"),
    "augment": ("theory", "training", "diagnostics", "compare", "experiments", "report", "cli", "moments"),
    "datasets": ("theory", "training", "diagnostics", "compare", "experiments", "report", "cli", "moments"),
    "result": ("spec", "moments", "theory", "training", "diagnostics", "compare", "experiments", "report", "cli"),
    "_lazy": ("spec", "moments", "io", "errors", "result", "augment", "theory", "training", "diagnostics", "compare",
              "experiments", "report", "cli"),
    "recipe": (*LEAF, "errors", "objectives"),  # the trainer's recipe: torch-free, imports nothing of the project
    "knobs": (*LEAF, "objectives"),  # torch-free tables: nothing of the project but errors
    "orders": (*LEAF, "objectives"),
    "threads": ("theory", "training", "diagnostics", "compare", "experiments", "report", "cli"),
    "compare": ("experiments", "cli"),
    "projector": ("experiments", "cli", "monitor", "expectation"),
    "expectation": ("experiments", "cli", "monitor", "training"),
    "monitor": ("experiments", "cli", "projector", "theory"),  # the theory reaches the monitor through expectation
    "report": ("experiments", "cli"),
    "experiments": ("cli",),
}
UI = ("typer", "rich", "click")


def area(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imports(path: Path, text: str | None = None) -> list[tuple[str, int]]:
    """(absolute dotted module, line) for every import in a file (or in `text` read as that file), relative imports
    resolved."""
    tree = ast.parse(path.read_text() if text is None else text, filename=str(path))
    pkg = ["sslscape", *path.relative_to(SRC).with_suffix("").parts[:-1]]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                names = [mod] if node.module else [f"{mod}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
            out += [(n, node.lineno) for n in names]
            if node.module == "matplotlib" and any(a.name == "pyplot" for a in node.names):
                out.append(("matplotlib.pyplot", node.lineno))
    return out


FILES = sorted(p for p in SRC.rglob("*.py"))


def violations(path: Path, text: str) -> list[str]:
    """Every broken arrow in `text`, read as the source of `path` (a file under SRC)."""
    here = area(path)
    bad = []
    for mod, line in imports(path, text):
        parts = mod.split(".")
        if parts[0] == "sslscape" and len(parts) > 1 and parts[1] in FORBIDDEN.get(here, ()):
            bad.append(f"line {line}: {here} imports {mod}")
        if here != "cli" and parts[0] in UI:
            bad.append(f"line {line}: {here} imports {mod} (typer/rich live only in sslscape.cli)")
        if mod == "matplotlib.pyplot":
            bad.append(f"line {line}: {mod} (figures are Figure objects drawn by report/)")
    if "matplotlib.use(" in text:
        bad.append("matplotlib.use changes global state")
    return bad


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(SRC)) for p in FILES])
def test_allowed_arrows(path: Path) -> None:
    bad = violations(path, path.read_text())
    assert not bad, f"{path.relative_to(SRC)}: " + "; ".join(bad)


def test_every_area_is_classified() -> None:
    areas = {area(p) for p in FILES} - {"__init__", "__main__"}
    assert areas <= set(FORBIDDEN) | {"cli"}, areas - set(FORBIDDEN)


def test_the_check_can_fail() -> None:
    """The project's own check, fed fake files that break arrows, reports each break (the test is not vacuous)."""
    theory_file = SRC / "theory" / "fake.py"
    assert violations(theory_file, "from ..training.loop import train\nimport rich\n") == [
        "line 1: theory imports sslscape.training.loop",
        "line 2: theory imports rich (typer/rich live only in sslscape.cli)"]
    assert violations(SRC / "projector.py", "from .monitor import CollapseMonitor\n")  # the old circle
    assert violations(SRC / "report" / "fake.py", "import matplotlib\nmatplotlib.use('Agg')\n")
    assert violations(theory_file, "from ..diagnostics.rank import collapse_cut\n") == []  # an allowed arrow
    assert dispatch_violations(SRC / "theory" / "phase.py", "from .finite_batch import covers\n")
    assert dispatch_violations(SRC / "cli" / "fake.py", "def f(s, spec, m):\n    return s.covers(spec, m)\n")


# ---- one solver table: dispatch happens in theory/solvers.py only -------------------------------------------------
def _row_functions() -> dict[str, set[str]]:
    """{solver module: the names of its row functions} from the table itself (`_lazy` names them 'module.func')."""
    from sslscape.theory.solvers import SOLVERS

    out: dict[str, set[str]] = {}
    for s in SOLVERS:
        for fn in (s.covers, s.solve, s.thresholds, s.estimate, s.rank_changes):
            name = getattr(fn, "__name__", "")
            if fn is not None and "." in name:
                module, func = name.split(".")
                out.setdefault(module, set()).add(func)
    return out


ROW_FUNCTIONS = _row_functions()
DISPATCH_ATTRS = ("covers", "rank_changes", "knob_changes")  # a Solver's own fields, called through the table only


def dispatch_violations(path: Path, text: str) -> list[str]:
    """Solver dispatch outside theory/solvers.py: importing a solver module's row functions from another module, or
    calling `.covers(…)` / `.rank_changes(…)` / `.knob_changes(…)` on anything."""
    if path == SRC / "theory" / "solvers.py":
        return []
    here = ".".join(path.relative_to(SRC).with_suffix("").parts)
    tree = ast.parse(text, filename=str(path))
    pkg = ["sslscape", *path.relative_to(SRC).with_suffix("").parts[:-1]]
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = pkg[: len(pkg) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else [])) if node.level else (node.module or "")
            parts = mod.split(".")
            if len(parts) == 3 and parts[:2] == ["sslscape", "theory"] and f"theory.{parts[2]}" != here:
                used = {a.name for a in node.names} & ROW_FUNCTIONS.get(parts[2], set())
                if used:
                    bad.append(f"line {node.lineno}: imports {parts[2]}'s solver row functions {sorted(used)}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in DISPATCH_ATTRS):
            bad.append(f"line {node.lineno}: calls .{node.func.attr}(…) (ask sslscape.theory.solvers instead)")
    return bad


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(SRC)) for p in FILES])
def test_solver_dispatch_lives_in_the_table(path: Path) -> None:
    bad = dispatch_violations(path, path.read_text())
    assert not bad, f"{path.relative_to(SRC)}: " + "; ".join(bad)
