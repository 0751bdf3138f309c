"""The DuckDB adapter: the embedded default (laptop, tests, demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from deltalake import DeltaTable
from sqlglot import exp

from c360.engine.base import ArrowData, Capabilities, Engine, EngineSettings, FileFormat
from c360.engine.sql import literal, table

#: named arguments of DuckDB's ``read_<format>`` table functions, per file format
_FILE_OPTIONS: dict[str, dict[str, Any]] = {
    "parquet": {},
    "csv": {"all_varchar": True, "header": True},
    "json": {"format": "newline_delimited"},
}


class DuckDBEngine(Engine):
    """One DuckDB connection configured from :class:`EngineSettings`."""

    name = "duckdb"
    dialect = "duckdb"
    capabilities = Capabilities(
        asof_join=True, qualify=True, python_udf=True, in_process=True, splink_api="DuckDBAPI"
    )

    def __init__(
        self, settings: EngineSettings, *, con: duckdb.DuckDBPyConnection | None = None
    ) -> None:
        super().__init__(settings)
        self._views: set[str] = set()
        self._tables: dict[str, str] = {}  # made by SQL: name -> TABLE or VIEW
        if con is not None:  # a fork: a cursor on the parent's database (settings are shared
            self.con = con  # except the session's time zone)
            self._set("TimeZone", settings.time_zone)
            return
        self.con = duckdb.connect()
        self._set("TimeZone", settings.time_zone)
        self._set("memory_limit", settings.memory_limit)
        if settings.threads:
            self._set("threads", settings.threads)
        if settings.temp_directory is not None:
            Path(settings.temp_directory).mkdir(parents=True, exist_ok=True)
            self._set("temp_directory", str(settings.temp_directory))

    def _set(self, key: str, value: Any) -> None:
        self.con.execute(f"SET {key} = {literal(value).sql('duckdb')}")

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The raw connection, for DuckDB-only APIs (Splink's ``DuckDBAPI``)."""
        return self.con

    def execute(self, sql: str | exp.Expression) -> None:
        self.con.execute(self.render(sql))

    def query(self, sql: str | exp.Expression) -> pa.Table:
        return self.con.sql(self.render(sql)).to_arrow_table()

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (duckdb.Error,)

    def fork(self) -> DuckDBEngine:
        return DuckDBEngine(self.settings, con=self.con.cursor())

    def register(self, name: str, data: ArrowData) -> None:
        if name in self._tables:
            self.unregister(name)
        self.con.register(name, data)
        self._views.add(name)

    def materialise(self, name: str, sql: str | exp.Expression) -> None:
        self.unregister(name)
        target = table(name).sql(self.dialect)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS {self.render(sql)}")
        self._tables[name] = "TABLE"

    def create_view(self, name: str, sql: str | exp.Expression) -> None:
        if self._tables.get(name) != "VIEW":
            self.unregister(name)
        target = table(name).sql(self.dialect)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {target} AS {self.render(sql)}")
        self._tables[name] = "VIEW"

    def register_file(self, name: str, path: Path, file_format: FileFormat) -> None:
        options = _FILE_OPTIONS[file_format]
        reader = exp.Anonymous(
            this=f"read_{file_format}",
            expressions=[
                literal(str(path)),
                *(exp.EQ(this=exp.column(k), expression=literal(v)) for k, v in options.items()),
            ],
        )
        self.create_view(name, exp.select("*").from_(exp.Table(this=reader)))

    def register_delta(self, name: str, path: Path) -> None:
        self.register(name, DeltaTable(str(path)).to_pyarrow_dataset())

    def unregister(self, name: str) -> None:
        if name in self._views:
            self.con.unregister(name)
            self._views.discard(name)
        if name in self._tables:
            kind = self._tables.pop(name)
            self.con.execute(f"DROP {kind} IF EXISTS {table(name).sql(self.dialect)}")

    def views(self) -> set[str]:
        return self._views | set(self._tables)

    def close(self) -> None:
        self.con.close()
