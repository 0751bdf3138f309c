"""The dependency rules of DESIGN.md §3, checked on the source tree with ``ast``.

Every way a module can reach another counts: ``import a, b`` (each name),
``from c360 import x`` (the package root is the top layer, unless ``x`` is a
module), ``from c360.a.b import x``, relative imports, imports inside functions
and in either branch of ``if TYPE_CHECKING`` except its type-only body, and
module paths in string literals (``importlib.import_module("c360.x")``,
``"c360.x.y:Name"`` hooks). Three rules:

1. **layers**: an import points to the module's own layer or below;
2. **interfaces**: one capability reaches another only through the names its
   package declares in ``__all__`` (``from c360.consent import Gate``), never its
   internal modules (``from c360.consent.gate import Gate``);
3. **engine**: only ``c360/engine/`` imports duckdb or pyspark (today's
   offenders are an explicit allow-list in the test).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# DESIGN.md §3, top to bottom; a module may import its own layer or lower ones.
LAYERS: list[set[str]] = [
    {"cli", "api", "console", "demo", "deploy", "__main__", "__init__"},
    {
        "decisioning",
        "activation",
        "experiments",
        "kpi",
        "workspace",
        "pipeline",
        "freshness",
        "scaffold",
        "stream",
    },
    {"models", "features"},
    {"identity", "consent", "governance", "ingest"},
    {"engine", "lakehouse", "store", "tokens"},
    {"config", "settings", "errors"},
]
# Packages that are capabilities: they reach each other only through declared interfaces.
CAPABILITIES = {
    "identity",
    "consent",
    "governance",
    "ingest",
    "models",
    "features",
    "decisioning",
    "activation",
    "experiments",
    "kpi",
    "synth",
}
# synth depends on nothing but config (and errors).
SYNTH_ALLOWED = {"synth", "config", "settings", "errors"}
# The façade and entry points may use synth (demo data, `c360 synth`, `c360 replay`).
SYNTH_USERS = {"cli", "demo", "scaffold", "synth", "stream"}
ENGINE_MODULES = ("duckdb", "pyspark")
_HOOK_STRING = re.compile(r"^c360(?:\.[a-z_][a-z0-9_]*)+:[A-Za-z_]\w*$")  # "c360.x.y:Name"
_IMPORTERS = {"import_module", "find_spec", "__import__", "require"}


@dataclass(frozen=True)
class Import:
    module: str  # importing module, dotted (c360.identity.pipeline)
    target: str  # imported module or package, dotted
    names: tuple[str, ...]  # names taken from it (empty for `import x`)
    line: int


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(nodes: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node executed at run time: skips only the body of ``if TYPE_CHECKING:``."""
    for node in nodes:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield node.test
            yield from _runtime_nodes(node.orelse)  # the else branch runs
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                stmts = [c for c in children if isinstance(c, ast.stmt)]
                handlers = [c for c in children if isinstance(c, ast.excepthandler)]
                yield from _runtime_nodes(stmts)
                for h in handlers:
                    yield h
                    yield from _runtime_nodes(h.body)
        if isinstance(node, ast.Match):
            for case in node.cases:
                yield from _runtime_nodes(case.body)
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.stmt | ast.excepthandler | ast.match_case):
                yield from ast.walk(child)


def _module_name(root: Path, py: Path) -> str:
    rel = py.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = [*parts[:-1], "__init__"]
    return ".".join(parts)


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")[: -node.level]
    return ".".join([*package, *([node.module] if node.module else [])])


def imports(root: Path) -> Iterator[Import]:
    """Every runtime import of a ``c360`` module (and of duckdb/pyspark) under ``root``."""
    for py in sorted(root.rglob("*.py")):
        module = _module_name(root, py)
        tree = ast.parse(py.read_text(encoding="utf-8"), filename=str(py))
        for node in _runtime_nodes(tree.body):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(module, alias.name, (), node.lineno)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, node)
                yield Import(module, target, tuple(a.name for a in node.names), node.lineno)
            elif isinstance(node, ast.Call) and node.args:
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                arg = node.args[0]
                if (
                    name in _IMPORTERS
                    and isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and arg.value.split(".")[0] in ("c360", *ENGINE_MODULES)
                ):
                    yield Import(module, arg.value, (), node.lineno)
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _HOOK_STRING.match(node.value)
            ):
                yield Import(module, node.value.partition(":")[0], (), node.lineno)


def _top(dotted: str) -> str:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(top: str) -> int:
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise LookupError(f"c360.{top} is not placed in a layer (add it to LAYERS)")


def _declared(root: Path, package: str) -> set[str]:
    """Names ``c360/<package>/__init__.py`` lists in ``__all__``."""
    init = root / package / "__init__.py"
    if not init.exists():
        return set()
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            return {str(v) for v in value}
    return set()


def _is_module(root: Path, dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (root / rel).is_dir() or (root / rel.with_suffix(".py")).exists()


def violations(root: Path, engine_allowed: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Every broken rule under the package folder ``root`` (``…/c360``), one line each."""
    bad: list[str] = []
    for imp in imports(root):
        where = f"{imp.module}:{imp.line}"
        head = imp.target.split(".")[0]
        if head in ENGINE_MODULES:
            if _top(imp.module) != "engine" and imp.module not in engine_allowed:
                bad.append(f"{where} imports {head} outside c360.engine")
            continue
        if head != "c360":
            continue
        targets = [imp.target]
        if imp.target == "c360":  # `from c360 import x`: a module, or the package root itself
            modules = [n for n in imp.names if _is_module(root, f"c360.{n}")]
            targets = [f"c360.{n}" for n in modules]
            if len(modules) < len(imp.names):
                targets.append("c360")
        src = _top(imp.module)
        for target in targets:
            dst = _top(target)
            if dst == src:
                continue
            if src == "synth" or dst == "synth":
                if (src == "synth" and dst not in SYNTH_ALLOWED) or (
                    dst == "synth" and src not in SYNTH_USERS
                ):
                    bad.append(f"{where} imports {target} (synth depends only on config)")
                continue
            if _layer(dst) < _layer(src):
                bad.append(f"{where} imports {target} (upwards)")
                continue
            if src in CAPABILITIES and dst in CAPABILITIES:
                declared = _declared(root, dst)
                if target != f"c360.{dst}":
                    bad.append(f"{where} imports {target}, an internal module of c360.{dst}")
                elif any(n not in declared for n in imp.names):
                    hidden = [n for n in imp.names if n not in declared]
                    bad.append(
                        f"{where} imports {', '.join(hidden)} from c360.{dst}, not in its __all__"
                    )
    return bad


def engine_importers(root: Path) -> set[str]:
    """Modules outside ``c360.engine`` that import duckdb or pyspark."""
    return {
        imp.module
        for imp in imports(root)
        if imp.target.split(".")[0] in ENGINE_MODULES and _top(imp.module) != "engine"
    }
