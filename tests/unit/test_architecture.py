"""The layering rules (STYLE.md), read from the code's import graph: parsed with `ast`, every
import counted, the ones inside functions too (a lazy import hides a cycle, it does not
remove it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
# SQLAlchemy's statement builders and raw SQL: only repositories (and the models) write SQL
SQL_BUILDERS = {"select", "insert", "update", "delete", "text", "func", "union", "union_all", "literal_column"}
SQL_TEXT = re.compile(r"\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|WITH\s+\w+\s+AS\b)")
SQL_HOMES = ("app.repositories", "app.models", "app.migrations")


def _module(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in APP.rglob("*.py")}


def _imports(name: str, path: Path) -> tuple[set[str], list[str]]:
    """The app modules `name` imports, and where it builds SQL (module:line what)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found, sql = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from app.services import auth` imports the module app.services.auth
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names}
            if base.startswith("sqlalchemy") and not name.startswith(SQL_HOMES):
                built = sorted({a.name for a in node.names} & SQL_BUILDERS)
                if built:
                    sql.append(f"{name}:{node.lineno} imports {', '.join(built)} from {base}")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.match(node.value)
              and not name.startswith(SQL_HOMES)):
            sql.append(f"{name}:{node.lineno} SQL text {node.value.strip()[:40]!r}")
    return {m for m in found if m in MODULES and m != name}, sql


GRAPH, SQL = {}, []
for _name, _path in MODULES.items():
    GRAPH[_name], _sql = _imports(_name, _path)
    SQL += _sql


def _edges(source_prefixes: tuple[str, ...], target_prefixes: tuple[str, ...]) -> list[str]:
    return sorted(f"{m} -> {t}" for m, targets in GRAPH.items() if m.startswith(source_prefixes)
                  for t in targets if t.startswith(target_prefixes))


def test_the_graph_is_read():
    # a guard against a scanner that finds nothing: these edges exist and must be seen
    assert "app.services.projects" in GRAPH["app.web.routes.home"]
    assert "app.repositories.projects" in GRAPH["app.services.projects"]
    assert len(GRAPH) > 100


def test_routes_and_the_api_reach_data_through_services():
    assert _edges(("app.web", "app.api"), ("app.repositories",)) == []


def test_the_worker_imports_neither_the_web_nor_the_cli():
    assert _edges(("app.worker",), ("app.web", "app.api", "app.cli", "app.main")) == []


def test_sql_is_written_only_in_repositories():
    assert SQL == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles() == []


@pytest.mark.parametrize("source, expected", [
    ("from sqlalchemy import select\n", ["x.y:1 imports select from sqlalchemy"]),
    ("Q = 'SELECT id FROM t'\n", ["x.y:1 SQL text 'SELECT id FROM t'"]),
    ("from app.repositories import projects\n", []),
])
def test_the_scanner_sees_sql(tmp_path, source, expected):
    path = tmp_path / "y.py"
    path.write_text(source)
    assert _imports("x.y", path)[1] == expected


def _long_functions(limit: int = 60) -> list[str]:
    """Functions over `limit` lines with no comment just above them saying why they must be."""
    out = []
    for name, path in MODULES.items():
        if name.startswith("app.migrations"):
            continue  # frozen history: a migration is never edited once released, only followed by another
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= limit:
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                above = lines[max(0, first - 4):first - 1]
                if not any(line.strip().startswith("# Long because") for line in above):
                    out.append(f"{name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)")
    return out


def test_no_function_over_60_lines_without_a_reason():
    assert _long_functions() == []
