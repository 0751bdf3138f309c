"""DESIGN.md §3 dependency direction, enforced on the real tree and shown to catch violations.

The checker lives in ``layering.py``; the planted-violation test builds a small
``c360`` tree with one violation of each kind and proves every one is reported
(and that the allowed forms are not), so the rules cannot silently stop checking.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import c360

from .layering import engine_importers, violations

SRC = Path(c360.__file__).parent

# Modules outside c360/engine/ that still import duckdb or pyspark directly. The list
# only shrinks: move a module's SQL behind the engine seam, then delete its line here
# (the test fails while a listed module no longer imports them, so the list stays true).
ENGINE_ALLOW_LIST: set[str] = set()


def test_source_tree_follows_the_layer_and_interface_rules() -> None:
    assert violations(SRC, ENGINE_ALLOW_LIST) == []


def test_only_the_engine_imports_duckdb_or_pyspark_allow_list_is_current() -> None:
    offenders = engine_importers(SRC)
    assert offenders - ENGINE_ALLOW_LIST == set(), "new duckdb/pyspark import outside c360.engine"
    stale = ENGINE_ALLOW_LIST - offenders
    assert stale == set(), f"no longer import duckdb/pyspark: remove {sorted(stale)} from the list"


PLANTED = {
    "__init__.py": '__all__ = ["Workspace"]\nfrom c360.workspace import Workspace\n',
    "workspace.py": "class Workspace: ...\n",
    "pipeline.py": "def run() -> None: ...\n",
    "errors.py": "class C360Error(Exception): ...\n",
    "config.py": "",
    "cli/__init__.py": "",
    "cli/main.py": "def main() -> None: ...\n",
    "consent/__init__.py": '__all__ = ["Gate"]\nfrom c360.consent.gate import Gate\n',
    "consent/gate.py": "class Gate: ...\nhelper = 1\n",
    "decisioning/__init__.py": "",
    "engine/__init__.py": "import duckdb\n",
    "lakehouse/__init__.py": "",
    "lakehouse/legacy.py": "import duckdb\n",
    "identity/__init__.py": "",
    "identity/ok.py": """
        from __future__ import annotations
        from typing import TYPE_CHECKING
        import typing
        import c360.consent
        from c360 import errors
        from c360.consent import Gate
        from c360.errors import C360Error
        from . import ok
        if TYPE_CHECKING:
            from c360.workspace import Workspace
        if typing.TYPE_CHECKING:
            from c360.cli.main import main
        """,
    # one violation of each kind
    "identity/v_root.py": "from c360 import Workspace\n",
    "identity/v_second_name.py": "import c360.errors, c360.cli.main\n",
    "identity/v_not_type_checking.py": """
        from typing import TYPE_CHECKING
        if not TYPE_CHECKING:
            from c360.workspace import Workspace
        """,
    "identity/v_else.py": """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            pass
        else:
            from c360.workspace import Workspace
        """,
    "identity/v_lazy.py": """
        def go() -> None:
            try:
                from c360.pipeline import run
            except ImportError:
                pass
        """,
    "identity/v_relative.py": "from ..cli import main\n",
    "identity/v_internal.py": "from c360.consent.gate import Gate\n",
    "identity/v_internal_import.py": "import c360.consent.gate\n",
    "identity/v_undeclared.py": "from c360.consent import helper\n",
    "identity/v_string.py": 'import importlib\nm = importlib.import_module("c360.cli.main")\n',
    "identity/v_hook.py": 'HOOK = "c360.decisioning.agent:Agent"\n',
    "identity/v_duckdb.py": "import duckdb\n",
    "identity/v_spark.py": "def f() -> None:\n    from pyspark.sql import SparkSession\n",
    "synth/__init__.py": "",
    "synth/v_synth.py": "from c360.consent import Gate\n",
    "errors_v.py": "",
}

EXPECTED = {
    "c360.identity.v_root": "imports c360 (upwards)",
    "c360.identity.v_second_name": "imports c360.cli.main (upwards)",
    "c360.identity.v_not_type_checking": "imports c360.workspace (upwards)",
    "c360.identity.v_else": "imports c360.workspace (upwards)",
    "c360.identity.v_lazy": "imports c360.pipeline (upwards)",
    "c360.identity.v_relative": "imports c360.cli (upwards)",
    "c360.identity.v_internal": "imports c360.consent.gate, an internal module of c360.consent",
    "c360.identity.v_internal_import": "imports c360.consent.gate, an internal module",
    "c360.identity.v_undeclared": "imports helper from c360.consent, not in its __all__",
    "c360.identity.v_string": "imports c360.cli.main (upwards)",
    "c360.identity.v_hook": "imports c360.decisioning.agent (upwards)",
    "c360.identity.v_duckdb": "imports duckdb outside c360.engine",
    "c360.identity.v_spark": "imports pyspark outside c360.engine",
    "c360.synth.v_synth": "imports c360.consent (synth depends only on config)",
}


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    root = tmp_path / "c360"
    for rel, text in PLANTED.items():
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


def test_planted_violations_of_each_kind_are_caught(planted: Path) -> None:
    found = violations(planted, engine_allowed={"c360.lakehouse.legacy"})
    by_module: dict[str, list[str]] = {}
    for line in found:
        by_module.setdefault(line.split(":")[0], []).append(line)
    assert set(by_module) == set(EXPECTED), found  # ok.py, engine/ and the allowed legacy: none
    for module, needle in EXPECTED.items():
        assert any(needle in line for line in by_module[module]), (module, by_module[module])
    assert len(by_module["c360.identity.v_second_name"]) == 1  # c360.errors is fine


def test_allow_list_is_what_lets_a_legacy_duckdb_import_pass(planted: Path) -> None:
    found = violations(planted, engine_allowed=set())
    assert any(line.startswith("c360.lakehouse.legacy:1 imports duckdb") for line in found)
