"""The one module of ``features``/``models`` that talks to DuckDB.

Every query of these packages goes through :class:`Sql`: one connection with the
lakehouse tables registered as ``<zone>__<table>`` views, Arrow out. Parameters
(``$as_of``) are rendered into the SQL as typed literals by sqlglot
(:func:`bind`), so the same text runs on any engine; when the shared engine seam
lands this class becomes a thin adapter over it and nothing else here changes.

Delta tables are read with DuckDB's own Parquet reader over the table's active
files (Delta snapshot semantics; c360 writes no deletion vectors and no column
mapping). Registering the pyarrow dataset instead fails as soon as DuckDB pushes a
string filter into it (pyarrow compares ``string`` with ``string_view``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from c360.errors import C360Error

if TYPE_CHECKING:
    from c360.lakehouse import Lakehouse


def literal(value: Any) -> exp.Expression:
    """A typed SQL literal for a Python value (timestamps and dates keep their type)."""
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMPTZ")
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def bind(sql: str | exp.Expression, params: dict[str, Any] | None) -> str:
    """Replace ``$name`` parameters by literals; DuckDB SQL text out."""
    tree = sqlglot.parse_one(sql, read="duckdb") if isinstance(sql, str) else sql
    if params:

        def sub(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Placeholder | exp.Parameter):
                name = node.name
                if name not in params:
                    raise C360Error("features.sql_error", f"no value for parameter ${name}")
                return literal(params[name])
            return node

        tree = tree.transform(sub)
    return tree.sql(dialect="duckdb")


class Sql:
    """A DuckDB session over the lakehouse (one per stage or command)."""

    def __init__(self, lakehouse: Lakehouse | None = None, *, threads: int | None = None) -> None:
        self.con = duckdb.connect()
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute("SET TimeZone = 'UTC'")
        self.lakehouse = lakehouse
        if lakehouse is not None:
            for info in lakehouse.tables(count_rows=False):
                self.register_delta(info.zone, info.name)

    def register_delta(self, zone: str, name: str) -> None:
        """(Re-)register ``zone.name`` at its latest version as view ``zone__name``."""
        assert self.lakehouse is not None
        dt = self.lakehouse.table(zone, name)
        files = dt.file_uris()
        view = f"{zone}__{name}"
        if not files or dt.metadata().partition_columns:
            self.register(view, dt.to_pyarrow_dataset())
            return
        read = exp.func(
            "read_parquet",
            exp.Array(expressions=[exp.Literal.string(f) for f in files]),
            exp.EQ(this=exp.column("union_by_name"), expression=exp.true()),
        )
        q = exp.select("*").from_(read)
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {exp.to_identifier(view).sql('duckdb')} AS {q.sql('duckdb')}"
        )

    def register(self, name: str, data: pa.Table | Any) -> None:
        """Make Arrow data queryable as ``name`` for this session."""
        self.con.execute(f"DROP VIEW IF EXISTS {exp.to_identifier(name).sql('duckdb')}")
        self.con.register(name, data)

    def has(self, name: str) -> bool:
        n = exp.Literal.string(name).sql("duckdb")
        row = self.con.execute(
            f"SELECT count(*) FROM duckdb_views() WHERE view_name = {n}"
        ).fetchone()
        return bool(row and row[0])

    def table(self, sql: str | exp.Expression, params: dict[str, Any] | None = None) -> pa.Table:
        """Run ``sql`` (parameters bound as literals) and return the result as Arrow."""
        text = bind(sql, params)
        try:
            return self.con.sql(text).to_arrow_table()
        except duckdb.Error as exc:
            raise C360Error("features.sql_error", str(exc).splitlines()[0]) from exc

    def rows(
        self, sql: str | exp.Expression, params: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        text = bind(sql, params)
        try:
            return self.con.execute(text).fetchall()
        except duckdb.Error as exc:
            raise C360Error("features.sql_error", str(exc).splitlines()[0]) from exc

    def scalar(self, sql: str | exp.Expression, params: dict[str, Any] | None = None) -> Any:
        r = self.rows(sql, params)
        return r[0][0] if r else None

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Sql:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
