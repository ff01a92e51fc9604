"""The dependency rule: core <- service <- (api, cli); storage implements service ports.

Walks the imports of every module (statically, with ast) and fails on a forbidden edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "cofre"

# layer -> packages it must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "core": ("cofre.service", "cofre.storage", "cofre.api", "cofre.cli", "cofre.config"),
    "service": ("cofre.storage", "cofre.api", "cofre.cli"),
    "storage": ("cofre.api", "cofre.cli"),
    "api": ("cofre.cli", "cofre.storage"),
}
# Modules of the pure core must not reach the outside world directly.
CORE_FORBIDDEN_STDLIB = ("os", "sqlite3", "psycopg", "socket", "asyncio", "time", "random")
# The composition root wires storage backends into the service layer.
COMPOSITION_ROOT = "cofre.container"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        out.append((".".join(rel.parts), path))
    return out


@pytest.mark.parametrize(("module", "path"), _modules(), ids=lambda v: str(v))
def test_layer_rule(module: str, path: Path) -> None:
    layer = module.split(".")[1] if module.count(".") >= 1 else ""
    banned = FORBIDDEN.get(layer, ())
    if module == COMPOSITION_ROOT:
        banned = ("cofre.api", "cofre.cli")
    imports = _imports(path)
    bad = sorted(i for i in imports if i.startswith(banned))
    assert not bad, f"{module} (layer {layer}) imports {bad}"
    if layer == "core":
        io = sorted(i for i in imports if i.split(".")[0] in CORE_FORBIDDEN_STDLIB)
        assert not io, f"pure core module {module} imports {io}"
