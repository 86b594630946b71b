"""The package's imports flow one way and never in a circle (docs/architecture.md).

Every ``import`` statement of every module under esr1calls/ is read with ``ast``: those at the top
of a module, those inside functions (lazy imports, which keep start-up fast) and those under
``TYPE_CHECKING``. Two rules hold over all of them:

* no cycle between modules;
* each part of the package imports only the parts below it in ``MAY_IMPORT``: ``cli`` at the
  top, then ``batch``, then the callers (``pcr``, ``ngs``, ``dpcr``), ``reports`` and what reads
  calls.json documents (``audit``, ``monitor``, ``validate``), then ``plates``, and the shared
  modules at the bottom, which import only shared modules listed before them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from esr1calls.testing import REPO

PACKAGE = REPO / "esr1calls"

# the shared modules, bottom first: each may import only those before it
SHARED = ("_user_cache", "_dataclass_cache", "_lazy", "_package_data", "_version", "defaults",
          "text", "errors", "model", "patients", "stats", "transcript", "hotspots", "provenance",
          "knowledge", "interpretation")  # fmt: skip
# every other part of the package, and the parts it may import (besides itself and SHARED)
CALLERS = frozenset({"pcr", "ngs", "dpcr"})
TOP_READERS = frozenset({"audit", "monitor_report", "validate", "report_validation"})
MAY_IMPORT: Mapping[str, frozenset[str]] = {
    "plates": frozenset(),
    "pcr": frozenset({"plates"}),
    "dpcr": frozenset({"plates", "pcr"}),  # the plate readers' cells, the plate map's names
    "ngs": frozenset(),
    "reports": frozenset(),
    # what reads calls.json documents (never the callers): the review record, serial monitoring,
    # assay validation (which reads a kit to propose one) and their pages
    "audit": frozenset({"reports"}),
    "monitor": frozenset(),
    "monitor_html": frozenset({"monitor", "reports"}),
    "monitor_report": frozenset({"monitor", "monitor_html", "reports"}),
    "validate": frozenset({"reports", "pcr"}),
    "report_validation": frozenset({"validate", "reports"}),
    # batch runs monitor over its jobs (lazily: monitor_report, and monitor_html's page names)
    "batch": CALLERS | {"plates", "reports", "monitor_report", "monitor_html"},
    "cli": CALLERS | TOP_READERS | {"batch", "plates", "reports"},
    "__main__": frozenset({"cli"}),
    # the public API (esr1calls/__init__.py) re-exports the library, never the CLI
    "": CALLERS | {"plates", "reports"},
    # internal helpers of the tests, scripts and benchmarks: may use anything, used by nothing
    "testing": CALLERS | {"plates", "reports", "batch", "cli"},
}


def module_name(path: Path, root: Path) -> str:
    """``esr1calls/ngs/callers.py`` -> ``esr1calls.ngs.callers``; a package is its ``__init__``."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, anywhere in its code."""
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for target in _targets(node, name, is_package):
                # `from pkg import module` names the module; `from pkg import name` the package
                if target in paths:
                    found.add(target)
                elif target.rpartition(".")[0] in paths:
                    found.add(target.rpartition(".")[0])
        found.discard(name)
        graph[name] = found
    return graph


def _targets(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            origin = ".".join([*base, *([node.module] if node.module else [])])
        else:
            origin = node.module or ""
        yield from (f"{origin}.{alias.name}" for alias in node.names)


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def part(module: str) -> str:
    """The part of the package a module belongs to: ``esr1calls.ngs.callers`` -> ``ngs``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_violations(graph: Mapping[str, set[str]]) -> list[str]:
    """Each import that goes against the direction above, as ``importer -> imported``."""
    wrong = []
    for module, imported in sorted(graph.items()):
        source = part(module)
        for target in sorted(imported):
            destination = part(target)
            if destination == source and source not in SHARED:
                continue
            if source in SHARED:
                allowed = destination in SHARED[: SHARED.index(source)]
            else:
                allowed = destination in SHARED or destination in MAY_IMPORT[source]
            if not allowed:
                wrong.append(f"{module} -> {target}")
    return wrong


GRAPH = import_graph(PACKAGE)


def test_the_graph_sees_every_module_and_the_lazy_imports():
    """Guards the tests below: the parser finds the modules and the imports inside functions."""
    assert {"esr1calls.cli", "esr1calls.ngs.callers", "esr1calls.plates.format"} <= set(GRAPH)
    assert "esr1calls.pcr.run" in GRAPH["esr1calls.cli"]  # imported inside the pcr command
    assert "esr1calls.plates.dispatch" in GRAPH["esr1calls.plates"]  # under TYPE_CHECKING
    assert "esr1calls.ngs.reads" in GRAPH["esr1calls.ngs.inputs"]  # a relative import


def test_no_module_imports_itself_back():
    assert cycles(GRAPH) == []


def test_imports_go_down_the_layers():
    assert layer_violations(GRAPH) == []


def test_every_part_of_the_package_has_its_place_in_the_table():
    assert {part(m) for m in GRAPH} <= set(MAY_IMPORT) | set(SHARED)


def test_nothing_in_the_package_imports_its_testing_helpers():
    users = sorted(m for m, imported in GRAPH.items() if part(m) != "testing"
                   and any(part(t) == "testing" for t in imported))  # fmt: skip
    assert users == []


@pytest.fixture
def fake_package(tmp_path: Path) -> Path:
    root = tmp_path / "esr1calls"
    for name, text in {
        "__init__.py": "",
        "model.py": "def f():\n    from .plates import READERS\n",  # the old cycle, lazily
        "plates/__init__.py": "from ..model import Dropped\n",
        "reports/__init__.py": "from .write import write_reports\n",
        "reports/write.py": "from ..ngs.callers import x\n",  # a report importing a caller
        "ngs/__init__.py": "",
        "ngs/callers.py": "from esr1calls import model\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_checks_catch_a_lazy_cycle_and_an_upward_import(fake_package):
    """The two rules are only worth something if they fail on the mistakes they guard against."""
    graph = import_graph(fake_package)
    assert cycles(graph) == [["esr1calls.model", "esr1calls.plates"]]
    assert layer_violations(graph) == [
        "esr1calls.model -> esr1calls.plates",
        "esr1calls.reports.write -> esr1calls.ngs.callers",
    ]


MAX_LINES = 800


def test_a_module_over_800_lines_says_why_at_its_top():
    """One concept per module; a long one gives its reason on line 1 (``# Size: ...``)."""
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > MAX_LINES and not lines[0].startswith("# Size: "):
            unexplained.append(f"{path.relative_to(REPO)} ({len(lines)} lines)")
    assert unexplained == []


PURE_RULES = ("esr1calls.pcr.rules",)
READING = ("pandas", "pysam", "pathlib", "io", "os", "subprocess", "zipfile", "tomllib")


def test_the_pcr_rules_read_nothing():
    """The PCR rules are pure (docs/architecture.md): a Ct table, the map's entries and the kit
    in, run QC and calls out. They import no plate reader and no module that reads files."""
    for module in PURE_RULES:
        path = PACKAGE.parent / (module.replace(".", "/") + ".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        outside = {
            name.split(".")[0]
            for node in ast.walk(tree)
            for name in (
                [a.name for a in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
        }  # fmt: skip
        assert not outside & set(READING), (module, outside & set(READING))
        assert not any(part(t) == "plates" for t in GRAPH[module]), module
        assert not any(isinstance(n, ast.Name) and n.id == "open" for n in ast.walk(tree)), module
