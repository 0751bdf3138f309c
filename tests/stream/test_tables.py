"""The frozen migration 0900_stream builds exactly the declared stream tables; the stream
tables and the events zone are declared like every other table."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import inspect

from c360.lakehouse.declarations import registered
from c360.stream.tables import ALL_TABLES
from c360.workspace import Workspace
from tests.decisioning.test_migration import _declared, _migrated

MIGRATION = (
    Path(__file__).parents[2] / "src/c360/store/migrations/versions/0900_stream.py"
).resolve()


def test_migrated_schema_equals_table_definitions(workspace: Workspace) -> None:
    engine = workspace.store.engine
    insp = inspect(engine)
    for table in ALL_TABLES:
        assert table.name in insp.get_table_names(), f"{table.name} missing after migrate()"
        want = _declared(table, engine.dialect)
        got = _migrated(insp, table.name, engine.dialect)
        assert got == want, table.name


def test_migration_does_not_import_product_code() -> None:
    tree = ast.parse(MIGRATION.read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert imported and not [m for m in imported if m.startswith("c360")]


def test_the_events_zone_and_stream_store_tables_are_declared_and_personal() -> None:
    decls = {d.name: d for d in registered()}
    for name in ("bronze.stream_events", "silver.stream_events", "quarantine.stream_events"):
        assert decls[name].owner == "stream" and decls[name].personal, name
    for table in ALL_TABLES:
        decl = decls[f"store:{table.name}"]
        assert set(decl.classes) == {c.name for c in table.columns}, table.name
    assert decls["silver.stream_events"].finds["golden_id"] == "golden_id"
    assert decls["store:stream_inbox"].classes["body"] == "pii"
