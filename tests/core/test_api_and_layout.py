"""The public API is small and importable; imports only point down the layer list."""

from __future__ import annotations

import ast
from pathlib import Path

import c360

SRC = Path(c360.__file__).parent

# DESIGN.md §3, top to bottom; a module may import its own layer or lower ones.
LAYERS = [
    {"cli", "api", "console", "demo", "deploy", "__main__", "__init__"},
    {"decisioning", "activation", "experiments", "kpi", "workspace", "pipeline", "scaffold"},
    {"models", "features"},
    {"identity", "consent", "governance", "ingest"},
    {"engine", "lakehouse", "store", "tokens"},
    {"config", "settings", "errors"},
]
SYNTH_ALLOWED = {"synth", "config", "errors"}


def _layer(part: str) -> int:
    for i, names in enumerate(LAYERS):
        if part in names:
            return i
    raise AssertionError(f"c360.{part} is not placed in a layer")


def test_public_api_imports():
    for name in c360.__all__:
        assert getattr(c360, name) is not None


def test_imports_point_down():
    bad = []
    for py in SRC.rglob("*.py"):
        rel = py.relative_to(SRC)
        top = rel.parts[0].removesuffix(".py")
        tree = ast.parse(py.read_text())
        type_only = {
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for n in ast.walk(block)
        }
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("c360."):
                target = node.module.split(".")[1]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("c360.")]
                if not names:
                    continue
                target = names[0].split(".")[1]
            else:
                continue
            if top == "synth":
                if target not in SYNTH_ALLOWED:
                    bad.append(f"{rel} imports c360.{target}")
                continue
            if target == top or (target == "synth" and top in {"cli", "demo"}):
                continue
            # lazy imports inside functions of the façade layers may reach any capability
            if _layer(target) < _layer(top):
                bad.append(f"{rel} imports c360.{target} (upwards)")
    assert bad == []
