"""The shape of the code, checked: the surfaces go through the library, and modules stay a size one can read.

Imports are checked by import-linter (`lint-imports`, contracts in pyproject.toml); what an import check cannot see,
reaching the store through an attribute (`lib.store...`), is checked here on the syntax tree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

SRC = Path(__file__).resolve().parents[1] / "src" / "podscope"
SURFACES = ("cli", "web", "mcp")


def _modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (SRC / folder).rglob("*.py"))


def test_the_surfaces_never_touch_the_store() -> None:
    offences = []
    for path in _modules(*SURFACES):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in ("store", "_store"):
                offences.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert _modules(*SURFACES), "no CLI or web modules found"
    assert not offences, f"the CLI and the web app must use the library, not its store: {offences}"


# One algorithm may be longer than a module should be; each such module is named here with the reason.
ONE_ALGORITHM = {
    "voices/diarize.py": "diarization: windows, local speakers, constrained clustering and turn reconstruction",
}
MAX_LINES = 650


def test_modules_stay_a_size_one_can_read() -> None:
    sizes = {str(p.relative_to(SRC)): len(p.read_text().splitlines()) for p in SRC.rglob("*.py")}
    assert set(ONE_ALGORITHM) <= set(sizes), "a module named in ONE_ALGORITHM no longer exists"
    too_long = {name: n for name, n in sizes.items() if n > MAX_LINES and name not in ONE_ALGORITHM}
    assert not too_long, f"split these modules (over {MAX_LINES} lines): {too_long}"


def test_no_module_imports_itself_back() -> None:
    """No import cycle among podscope's modules, TYPE_CHECKING imports included (Tarjan's strongly connected
    components over grimp's import graph; the layers contract covers the packages, this covers every module)."""
    graph = grimp.build_graph("podscope", exclude_type_checking_imports=False)
    edges = {m: {d for d in graph.find_modules_directly_imported_by(m) if d in graph.modules} for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in edges[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = [stack.pop()]
            while component[-1] != module:
                component.append(stack.pop())
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert len(edges) > 100, "the import graph looks empty"
    assert not cycles, f"import cycles: {cycles}"
