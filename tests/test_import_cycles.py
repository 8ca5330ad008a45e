"""The product's modules import each other without cycles (crm_data, pages and app.py): a cycle
makes the import order matter and hides which layer depends on which. Imports only for type
annotations (under `if TYPE_CHECKING:`) are not dependencies at run time, and a script's entry
(under `if __name__ == "__main__":`) runs as `__main__`, not as the module: both are left out."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import REPO


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    files = [REPO / "app.py", *(REPO / "crm_data").rglob("*.py"), *(REPO / "pages").rglob("*.py")]
    return {module_name(p): p for p in files}


def not_an_import_time_dependency(node: ast.If) -> bool:
    """`if TYPE_CHECKING:` or `if __name__ == "__main__":`."""
    test = node.test
    if isinstance(test, ast.Name | ast.Attribute):
        return getattr(test, "id", getattr(test, "attr", None)) == "TYPE_CHECKING"
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """The product modules `path` (module `name`) imports anywhere, but for TYPE_CHECKING blocks."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and not_an_import_time_dependency(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in known and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return groups


def test_the_finder_sees_a_cycle_when_there_is_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_finder_reads_imports_but_not_those_for_annotations_only(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nfrom crm_data import db\nif TYPE_CHECKING:\n"
        "    from crm_data import users\ndef f():\n    from crm_data.reports import money\n"
        "if __name__ == '__main__':\n    from crm_data import console\n",
        encoding="utf-8",
    )
    known = {
        "crm_data",
        "crm_data.db",
        "crm_data.users",
        "crm_data.reports",
        "crm_data.reports.money",
        "crm_data.console",
    }
    assert imported(source, "crm_data.mod", known) == {
        "crm_data",
        "crm_data.db",
        "crm_data.reports.money",
        "crm_data.reports",
    }


def test_the_product_has_no_import_cycles() -> None:
    modules = product_modules()
    assert "crm_data.db" in modules
    assert "pages._ui.chrome" in modules
    graph = {name: imported(path, name, set(modules)) for name, path in modules.items()}
    assert sum(len(v) for v in graph.values()) > 100  # the graph was read, not empty
    # a package's __init__ importing its own submodules is how a package is made, not a cycle
    for name, found in graph.items():
        graph[name] = {m for m in found if not (m.startswith(name + ".") and modules[name].name == "__init__.py")}
    assert cycles(graph) == []
