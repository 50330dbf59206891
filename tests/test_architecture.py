"""The folders draw the architecture, and the imports keep to it: dependencies point one way.

Layers, lowest first (ARCHITECTURE.md): errors/resources < core < config < decide < mail, store < app
< demo < cli. A module may import its own layer and those below, never above; there are no import
cycles, also not through imports inside functions; the pure core does no I/O; SQL lives only in store/.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "mailtriage"
RANK = {"errors": 0, "resources": 0, "core": 1, "config": 2, "decide": 3, "mail": 4, "store": 4, "app": 5,
        "demo": 6, "cli": 7}
# What only the edges may import: the pure core reads no network, file, database or clock of its own.
IO_MODULES = {"socket", "ssl", "sqlite3", "subprocess", "imapclient", "aiosmtplib", "asyncio", "jinja2", "click",
              "apscheduler", "urllib", "http"}


def _name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def _modules() -> dict[str, Path]:
    return {_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """Every module PATH imports, at the top or inside a function: `from a.b import c` names a.b.c if c is one."""
    known = _modules()
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


GRAPH = {module: {d for d in _imports(path) if d.startswith("mailtriage.")} for module, path in _modules().items()}


def test_every_module_sits_in_a_layer() -> None:
    homeless = [m for m in GRAPH if m != "mailtriage" and _layer(m) not in RANK and _layer(m) != "__main__"]
    assert homeless == [], "add the new folder to RANK here and to ARCHITECTURE.md"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _layer(m) in RANK))
def test_imports_point_down(module: str) -> None:
    upward = sorted(d for d in GRAPH[module]
                    if _layer(d) in RANK and _layer(d) != _layer(module) and RANK[_layer(d)] >= RANK[_layer(module)])
    assert upward == [], f"{module} imports a layer at or above its own"


def test_no_import_cycles() -> None:
    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in GRAPH.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    assert sorted(m for m in GRAPH if m in reachable(m)) == []


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _layer(m) == "core"))
def test_the_core_does_no_io(module: str) -> None:
    outside = {d.split(".")[0] for d in _imports(_modules()[module]) if not d.startswith("mailtriage")}
    assert outside & IO_MODULES == set()


CLOCK = re.compile(r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time|time\.monotonic)\(")


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _layer(m) in ("core", "decide", "config")))
def test_pure_logic_reads_no_clock(module: str) -> None:
    # The instant a decision is about is handed in (`now`), so every rule is tested at any moment.
    assert CLOCK.findall(_modules()[module].read_text()) == [], f"{module}: take `now` as an argument"


# SELECT needs a FROM: an IMAP SELECT of a folder is not SQL.
SQL = re.compile(r"\b(SELECT\b.*\bFROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE|PRAGMA \w+)\b")


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _layer(m) not in ("store", "")))
def test_sql_lives_only_in_the_store(module: str) -> None:
    text = _modules()[module].read_text()
    assert "import sqlite3" not in text, "catch the store's errors through mailtriage.store"
    assert SQL.findall(text) == [], f"{module}: move the query into mailtriage/store/"
