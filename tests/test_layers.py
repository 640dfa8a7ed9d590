"""The architecture's arrows (docs/architecture.md), enforced on the source: an import that breaks one fails here.

    spec → moments → theory (prediction);  spec → training (measured by diagnostics) → compare → report
    never: theory ↔ training; training or diagnostics → theory; objectives → spec; any core package → cli,
    typer or rich; any library module → pyplot / matplotlib.use (figures are Figure objects, report/ only)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "sslscape"
LAYERS = ("objectives", "theory", "training", "diagnostics", "experiments", "report", "cli")
TOP = ("spec", "moments", "io", "errors", "result", "augment", "datasets", "threads", "compare", "projector", "monitor",
       "_lazy")
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
    "threads": ("theory", "training", "diagnostics", "compare", "experiments", "report", "cli"),
    "compare": ("experiments", "cli"),
    "projector": ("experiments", "cli"),
    "monitor": ("experiments", "cli"),
    "report": ("experiments", "cli"),
    "experiments": ("cli",),
}
UI = ("typer", "rich", "click")


def area(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imports(path: Path) -> list[tuple[str, int]]:
    """(absolute dotted module, line) for every import in a file, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
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


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(SRC)) for p in FILES])
def test_allowed_arrows(path: Path) -> None:
    here = area(path)
    bad = []
    for mod, line in imports(path):
        parts = mod.split(".")
        if parts[0] == "sslscape" and len(parts) > 1 and parts[1] in FORBIDDEN.get(here, ()):
            bad.append(f"line {line}: {here} imports {mod}")
        if here != "cli" and parts[0] in UI:
            bad.append(f"line {line}: {here} imports {mod} (typer/rich live only in sslscape.cli)")
        if mod == "matplotlib.pyplot":
            bad.append(f"line {line}: {mod} (figures are Figure objects drawn by report/)")
    text = path.read_text()
    if "matplotlib.use(" in text:
        bad.append("matplotlib.use changes global state")
    assert not bad, f"{path.relative_to(SRC)}: " + "; ".join(bad)


def test_every_area_is_classified() -> None:
    areas = {area(p) for p in FILES} - {"__init__", "__main__"}
    assert areas <= set(FORBIDDEN) | {"cli"}, areas - set(FORBIDDEN)


def test_the_check_can_fail(tmp_path: Path) -> None:
    """A forbidden import written into a theory-like file is caught (the test is not vacuous)."""
    fake = SRC / "theory" / "predict.py"
    mods = [m for m, _ in imports(fake)]
    assert all(not m.startswith("sslscape.training") for m in mods)
    src = tmp_path / "x.py"
    src.write_text("from ..training.loop import train\nimport rich\n")
    tree_imports = [n.module for n in ast.walk(ast.parse(src.read_text())) if isinstance(n, ast.ImportFrom)]
    assert "training.loop" in tree_imports
