"""Layers point one way: doors over flows over core, no cycle between packages.

The import graph is read from the source (ast, imports inside functions included), so a lazy
import cannot hide an upward dependency. The layering is DESIGN.md's; the directions allowed
between flows are data below, and adding one is a decision to make here, in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "unleak"

DOORS = {"cli", "serve", "app", "cluster", "demo", "__main__"}
# `cases` is a top-level module but a flow: opening a case writes its first evidence log record.
FLOWS = {"monitor", "evidence", "takedown", "watermark", "spread", "cases"}
# Everything else is core: match, registration, index, signals, media, net, store, and the
# top-level modules (bank, config, errors, text, console, timing, samples, ...).

# Flow -> flow imports that are allowed; evidence is the flow the others write through. A scan
# captures and logs what it finds, take-down logs its actions and records removals, a new case
# logs its creation. Evidence imports no other flow: the evidence bundle's take-down section is
# passed in by the caller (export_bundle(takedown=...)), so take-down and evidence form no cycle.
FLOW_TO_FLOW = {
    ("monitor", "evidence"),
    ("takedown", "evidence"),
    ("cases", "evidence"),
    ("spread", "evidence"),  # the spread reads each copy's media from its capture
}


def layer(unit: str) -> int:
    if unit in DOORS:
        return 2
    if unit in FLOWS:
        return 1
    return 0


def unit_of(module: str) -> str | None:
    """`unleak.net.fetch` -> `net`; `unleak.bank` -> `bank`; `unleak` -> None (the package root)."""
    parts = module.split(".")
    if parts[0] != "unleak" or len(parts) < 2:
        return None
    return parts[1]


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, is_package: bool = False) -> set[str]:
    """Absolute names of the unleak modules that `module`'s source imports, anywhere in it."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            # `from unleak import cli` imports the module unleak.cli
            found.update(f"{prefix}.{a.name}" for a in node.names)
    return {m for m in found if m == "unleak" or m.startswith("unleak.")}


def file_imports(path: Path) -> set[str]:
    return imports(path.read_text(), module_name(path), path.name == "__init__.py")


def is_unit(name: str) -> bool:
    return (SRC / name).is_dir() or (SRC / f"{name}.py").is_file()


def graph() -> dict[str, set[str]]:
    """unit -> units it imports (itself excluded)."""
    edges: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        src_unit = unit_of(module_name(path))
        if src_unit is None:
            continue
        for target in file_imports(path):
            dst = unit_of(target)
            if dst is not None and dst != src_unit and is_unit(dst):
                edges.setdefault(src_unit, set()).add(dst)
    return edges


def module_edges() -> list[tuple[str, str]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        out += [(module_name(path), target) for target in sorted(file_imports(path))]
    return out


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_cycle_between_packages():
    assert cycles(graph()) == []


def test_imports_point_down():
    upward = []
    for src_unit, targets in sorted(graph().items()):
        for dst in sorted(targets):
            if layer(dst) > layer(src_unit):
                upward.append(f"{src_unit} -> {dst}")
            elif layer(dst) == layer(src_unit) == 1 and (src_unit, dst) not in FLOW_TO_FLOW:
                upward.append(f"{src_unit} -> {dst} (flow to flow: allow it in FLOW_TO_FLOW or move the code)")
    assert upward == []


def test_nothing_imports_the_cli_and_only_doors_import_the_demo():
    bad = []
    for module, target in module_edges():
        me = unit_of(module)
        if target.startswith("unleak.cli") and me not in ("cli", "__main__"):  # python -m unleak
            bad.append(f"{module} imports {target}")
        if target.startswith("unleak.demo") and me not in DOORS:
            bad.append(f"{module} imports {target}")
    assert bad == []


def test_the_checker_sees_lazy_and_relative_imports():
    """A test that cannot fail is a defect: the parser must see an import inside a function."""
    code = "def f():\n    from unleak.cli import app\n    from . import fetch\n"
    assert imports(code, "unleak.net.probe") == {"unleak.cli", "unleak.cli.app", "unleak.net", "unleak.net.fetch"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
