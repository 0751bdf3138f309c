"""The DuckDB adapter: the embedded default (laptop, tests, demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from deltalake import DeltaTable
from sqlglot import exp

from c360.engine.base import ArrowData, Capabilities, Engine, EngineSettings
from c360.engine.sql import literal


class DuckDBEngine(Engine):
    """One DuckDB connection configured from :class:`EngineSettings`."""

    name = "duckdb"
    dialect = "duckdb"
    capabilities = Capabilities(
        asof_join=True, qualify=True, python_udf=True, in_process=True, splink_api="DuckDBAPI"
    )

    def __init__(self, settings: EngineSettings) -> None:
        super().__init__(settings)
        self.con = duckdb.connect()
        self._views: set[str] = set()
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

    def register(self, name: str, data: ArrowData) -> None:
        self.con.register(name, data)
        self._views.add(name)

    def register_delta(self, name: str, path: Path) -> None:
        self.register(name, DeltaTable(str(path)).to_pyarrow_dataset())

    def unregister(self, name: str) -> None:
        if name in self._views:
            self.con.unregister(name)
            self._views.discard(name)

    def views(self) -> set[str]:
        return set(self._views)

    def close(self) -> None:
        self.con.close()
