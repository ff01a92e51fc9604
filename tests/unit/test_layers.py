"""The dependency rule: core <- service <- (api, cli); storage implements service ports;
the composition roots (``cofre.container``, ``cofre.stores``) wire storage into the service
layer; the Encryption SDK stands alone. And no import cycle anywhere.

Walks the imports of every module (statically, with ast: ``TYPE_CHECKING`` imports and
imports inside functions count too) and fails on a forbidden edge or a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "cofre"

# layer -> packages it must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "core": (
        "cofre.service", "cofre.storage", "cofre.api", "cofre.cli", "cofre.config",
        "cofre.container", "cofre.esdk",
    ),
    "service": ("cofre.storage", "cofre.api", "cofre.cli", "cofre.container", "cofre.esdk"),
    "storage": ("cofre.api", "cofre.cli", "cofre.container", "cofre.esdk"),
    "api": ("cofre.cli", "cofre.storage", "cofre.stores", "cofre.esdk"),
    "esdk": (
        "cofre.core", "cofre.service", "cofre.storage", "cofre.api", "cofre.cli",
        "cofre.config", "cofre.container", "cofre.errors",
    ),
}  # fmt: skip
# Modules of the pure core must not reach the outside world: no files, sockets, processes,
# threads, clocks or randomness of their own (they are injected).
CORE_FORBIDDEN_STDLIB = (
    "os", "io", "sys", "pathlib", "shutil", "tempfile", "mmap", "fcntl", "sqlite3",
    "psycopg", "socket", "ssl", "http", "urllib.request", "asyncio", "threading",
    "multiprocessing", "concurrent", "subprocess", "signal", "time", "random", "secrets",
    "logging",
)  # fmt: skip
COMPOSITION_ROOTS = ("cofre.container", "cofre.stores")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # ``from cofre.api.handlers import kms``: the module imported may be a name
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out.append((".".join(parts), path))
    return out


MODULES = dict(_modules())


@pytest.mark.parametrize(("module", "path"), sorted(MODULES.items()), ids=lambda v: str(v))
def test_layer_rule(module: str, path: Path) -> None:
    layer = module.split(".")[1] if module.count(".") >= 1 else ""
    banned = FORBIDDEN.get(layer, ())
    if module in COMPOSITION_ROOTS:
        banned = ("cofre.api", "cofre.cli")
    imports = _imports(path)
    bad = sorted(i for i in imports if i.startswith(banned))
    assert not bad, f"{module} (layer {layer}) imports {bad}"
    if layer == "core":
        io = sorted(
            i for i in imports
            if any(i == name or i.startswith(name + ".") for name in CORE_FORBIDDEN_STDLIB)
        )  # fmt: skip
        assert not io, f"pure core module {module} imports {io}"


def _graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports (packages count as their __init__)."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        graph[module] = {name for name in _imports(path) if name in MODULES and name != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
