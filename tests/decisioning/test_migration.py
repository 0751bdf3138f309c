"""The frozen migration 0800_decisioning builds exactly the tables the packages declare."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import inspect

from c360.activation.tables import ALL_TABLES as ACTIVATION
from c360.decisioning.tables import ALL_TABLES as DECISIONING
from c360.experiments.tables import ALL_TABLES as EXPERIMENTS
from c360.kpi.tables import ALL_TABLES as KPI
from c360.workspace import Workspace

MIGRATION = (
    Path(__file__).parents[2] / "src/c360/store/migrations/versions/0800_decisioning.py"
).resolve()


def _declared(table, dialect):  # type: ignore[no-untyped-def]
    cols = {
        c.name: (c.type.compile(dialect=dialect), c.nullable, c.primary_key) for c in table.columns
    }
    indexes = {(ix.name, tuple(c.name for c in ix.columns)) for ix in table.indexes}
    uniques = {(c.name,) for c in table.columns if c.unique}
    return cols, indexes, uniques


def _migrated(insp, name, dialect):  # type: ignore[no-untyped-def]
    pk = set(insp.get_pk_constraint(name)["constrained_columns"])
    cols = {
        c["name"]: (c["type"].compile(dialect=dialect), c["nullable"], c["name"] in pk)
        for c in insp.get_columns(name)
    }
    indexes = {
        (ix["name"], tuple(ix["column_names"]))
        for ix in insp.get_indexes(name)
        if not ix.get("duplicates_constraint")
    }
    uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints(name)}
    return cols, indexes, uniques


def test_migrated_schema_equals_table_definitions(workspace: Workspace) -> None:
    engine = workspace.store.engine
    insp = inspect(engine)
    present = set(insp.get_table_names())
    for table in DECISIONING + ACTIVATION + EXPERIMENTS + KPI:
        assert table.name in present, f"{table.name} missing after migrate()"
        want = _declared(table, engine.dialect)
        got = _migrated(insp, table.name, engine.dialect)
        assert got[0] == want[0], f"{table.name}: columns differ"
        assert got[1] == want[1], f"{table.name}: indexes differ"
        assert got[2] == want[2], f"{table.name}: unique constraints differ"


def test_migration_does_not_import_product_code() -> None:
    tree = ast.parse(MIGRATION.read_text())
    imported: list[str] = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            imported += [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.module:
            imported.append(n.module)
    assert imported and not [m for m in imported if m.startswith("c360")]
