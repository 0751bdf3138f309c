"""The session through which ``features`` and ``models`` run SQL on the engine seam.

Every query of these packages goes through :class:`Sql`, a thin layer over the
workspace's :class:`~c360.engine.Engine`: lakehouse tables registered as
``<zone>__<table>`` views, Arrow out. Parameters (``$as_of``) are rendered into the
SQL as typed literals by sqlglot (:func:`bind`), so the same text runs on any engine.

On DuckDB, Delta tables are read with DuckDB's own Parquet reader over the table's
active files (Delta snapshot semantics; c360 writes no deletion vectors and no
column mapping). Registering the pyarrow dataset instead fails as soon as DuckDB
pushes a string filter into it (pyarrow compares ``string`` with ``string_view``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from c360.errors import C360Error

if TYPE_CHECKING:
    from c360.engine import Engine
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
    """A session of feature/model queries over the lakehouse on the workspace's engine."""

    def __init__(self, lakehouse: Lakehouse | None = None, engine: Engine | None = None) -> None:
        from c360.engine import EngineSettings, create_engine

        self._own = engine is None
        self.engine: Engine = engine or create_engine(EngineSettings())
        self.lakehouse = lakehouse
        self._names: set[str] = set()
        if lakehouse is not None:
            for info in lakehouse.tables(count_rows=False):
                self.register_delta(info.zone, info.name)

    def register_delta(self, zone: str, name: str) -> None:
        """(Re-)register ``zone.name`` at its latest version as view ``zone__name``."""
        assert self.lakehouse is not None
        view = f"{zone}__{name}"
        self._names.add(view)
        if self.engine.name != "duckdb":
            self.engine.register_delta(view, self.lakehouse.path(zone, name))
            return
        dt = self.lakehouse.table(zone, name)
        files = dt.file_uris()
        if not files or dt.metadata().partition_columns:
            self.engine.register(view, dt.to_pyarrow_dataset())
            return
        read = exp.func(
            "read_parquet",
            exp.Array(expressions=[exp.Literal.string(f) for f in files]),
            exp.EQ(this=exp.column("union_by_name"), expression=exp.true()),
        )
        self.engine.unregister(view)
        self.engine.execute(
            exp.Create(
                this=exp.to_table(view),
                kind="VIEW",
                replace=True,
                properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
                expression=exp.select("*").from_(read),
            )
        )

    def register(self, name: str, data: pa.Table | Any) -> None:
        """Make Arrow data queryable as ``name`` for this session."""
        self.engine.execute(f"DROP VIEW IF EXISTS {exp.to_identifier(name).sql('duckdb')}")
        self.engine.register(name, data)
        self._names.add(name)

    def has(self, name: str) -> bool:
        return name in self._names

    def table(self, sql: str | exp.Expression, params: dict[str, Any] | None = None) -> pa.Table:
        """Run ``sql`` (parameters bound as literals) and return the result as Arrow."""
        text = bind(sql, params)
        try:
            return self.engine.query(text)
        except Exception as exc:  # the engine's own error types differ per adapter
            if isinstance(exc, C360Error):
                raise
            raise C360Error("features.sql_error", str(exc).splitlines()[0]) from exc

    def rows(
        self, sql: str | exp.Expression, params: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        t = self.table(sql, params)
        cols = [c.to_pylist() for c in t.columns]
        return list(zip(*cols, strict=True)) if cols else []

    def scalar(self, sql: str | exp.Expression, params: dict[str, Any] | None = None) -> Any:
        r = self.rows(sql, params)
        return r[0][0] if r else None

    def close(self) -> None:
        if self._own:
            self.engine.close()

    def __enter__(self) -> Sql:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
