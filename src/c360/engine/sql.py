"""SQL built and quoted by sqlglot, rendered per dialect.

Stage SQL is authored once in :data:`AUTHORING_DIALECT` (DuckDB's) or built as
sqlglot expressions, then rendered for the engine that runs it. Identifiers and
literals always go through these helpers, so no module quotes SQL by hand.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp

from c360.errors import C360Error

AUTHORING_DIALECT = "duckdb"


def ident(name: str) -> exp.Identifier:
    """A quoted identifier (a column, view or table name), whatever characters it holds."""
    return exp.to_identifier(name, quoted=True)


def column(name: str, table_alias: str | None = None) -> exp.Column:
    """A quoted, optionally qualified column reference."""
    return exp.column(ident(name), table=ident(table_alias) if table_alias else None)


def table(name: str, *, schema: str | None = None) -> exp.Table:
    """A quoted table or view reference (``schema.name`` when a schema is given)."""
    return exp.Table(this=ident(name), db=ident(schema) if schema else None)


def literal(value: Any) -> exp.Expression:
    """A SQL literal for a Python value (strings escaped by sqlglot)."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def render(
    sql: str | exp.Expression, dialect: str = AUTHORING_DIALECT, *, pretty: bool = False
) -> str:
    """Render ``sql`` (an expression, or text in the authoring dialect) for ``dialect``."""
    if isinstance(sql, exp.Expression):
        return sql.sql(dialect=dialect, pretty=pretty)
    if dialect == AUTHORING_DIALECT and not pretty:
        return sql
    return _transpile(sql, dialect, pretty)


@lru_cache(maxsize=512)
def _transpile(sql: str, dialect: str, pretty: bool) -> str:
    try:
        out = sqlglot.transpile(
            sql,
            read=AUTHORING_DIALECT,
            write=dialect,
            pretty=pretty,
            unsupported_level=sqlglot.ErrorLevel.RAISE,
        )
    except sqlglot.errors.SqlglotError as exc:
        raise C360Error(
            "engine.sql_unsupported",
            f"SQL cannot be rendered for {dialect}: {str(exc).splitlines()[0]}",
            {"dialect": dialect},
        ) from exc
    return ";\n".join(out)
