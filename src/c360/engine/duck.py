"""The DuckDB adapter: the embedded default (laptop, tests, demo)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from deltalake import DeltaTable
from duckdb.func import PythonUDFType
from duckdb.sqltypes import BIGINT, BOOLEAN, DOUBLE, VARCHAR
from sqlglot import exp

from c360.engine.base import (
    ArrowData,
    Capabilities,
    CsvOptions,
    CsvReject,
    Engine,
    EngineSettings,
    FileFormat,
    Params,
    SqlType,
    used_params,
)
from c360.engine.sql import ident, literal, table
from c360.errors import C360Error

_SQL_TYPES = {"VARCHAR": VARCHAR, "BOOLEAN": BOOLEAN, "DOUBLE": DOUBLE, "BIGINT": BIGINT}

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
        asof_join=True,
        qualify=True,
        python_udf=True,
        in_process=True,
        splink_api="DuckDBAPI",
        macros=True,
        table_update=True,
        list_functions=True,
    )

    def __init__(
        self, settings: EngineSettings, *, con: duckdb.DuckDBPyConnection | None = None
    ) -> None:
        super().__init__(settings)
        self._backing: dict[str, list[str]] = {}  # a view -> tables dropped with it (SQL names)
        # Materialised rows live in the database's main schema under this engine's own
        # prefix, so a cursor (:meth:`streams`) can read them; each name is a temporary view
        # over its table. ``_defs`` keeps every view's definition, in order (what
        # :meth:`views` lists, and what a cursor replays: temporary views and registered
        # Arrow data are per connection).
        self._prefix = f"c360_{uuid.uuid4().hex[:12]}_"
        self._defs: dict[str, tuple[str, Any]] = {}  # name -> ("sql", text) | ("arrow", data)
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        if con is not None:  # a fork: a cursor on the parent's database (settings are shared
            self.con = con  # except the session's time zone)
            self._set("TimeZone", settings.time_zone)
            return
        self.con = duckdb.connect()
        # The database is in memory and holds working tables only. DuckDB checkpoints an
        # in-memory database too, compressing every table, each time 16 MB of changes
        # have piled up: a statement that happens to cross the threshold waited 2–3 s in
        # an identity run at 1M records, and a run crossed it again and again (ADR 0074).
        self._set("checkpoint_threshold", "1TB")
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

    def register_function(
        self, name: str, fn: Callable[..., pa.Array], args: Sequence[SqlType], returns: SqlType
    ) -> None:
        # functions live on the database, so a fork sees its parent's (and the reverse)
        known = self.con.execute(
            "SELECT count(*) FROM duckdb_functions() WHERE function_name = $name", {"name": name}
        ).fetchall()[0][0]
        if known:
            return
        self.con.create_function(
            name,
            fn,
            [_SQL_TYPES[a] for a in args],
            _SQL_TYPES[returns],
            type=PythonUDFType.ARROW,
            side_effects=False,
        )

    def splink_api(self) -> Any:
        from splink import DuckDBAPI

        return DuckDBAPI(connection=self.con)

    @contextmanager
    def _memory(self) -> Iterator[None]:
        """DuckDB's out-of-memory error as the product's: what ran out and which setting
        to raise, instead of an engine traceback."""
        try:
            yield
        except duckdb.OutOfMemoryException as exc:
            raise C360Error(
                "engine.out_of_memory",
                f"the engine ran out of memory (engine.memory_limit = "
                f"{self.settings.memory_limit}): raise engine.memory_limit in c360.yaml "
                f"(or C360_ENGINE__MEMORY_LIMIT); DuckDB said: {str(exc).splitlines()[0]}",
            ) from exc

    def execute(self, sql: str | exp.Expr, params: Params = None) -> None:
        with self._memory():
            self.con.execute(self.render(sql), params)

    def query(self, sql: str | exp.Expr, params: Params = None) -> pa.Table:
        with self._memory():
            return self.con.sql(self.render(sql), params=params).to_arrow_table()

    def stream(self, sql: str | exp.Expr, params: Params = None) -> pa.RecordBatchReader:
        return self.con.sql(self.render(sql), params=params).to_arrow_reader()

    def streams(
        self, sqls: list[str | exp.Expr], params: Params = None
    ) -> list[pa.RecordBatchReader]:
        """Each query on its own cursor of this database (the views replayed on it), so
        the readers can be consumed side by side; the cursors close with the engine."""
        self._close_cursors()
        readers = []
        for sql in sqls:
            cur = self.con.cursor()
            self._cursors.append(cur)
            cur.execute(f"SET TimeZone = {literal(self.settings.time_zone).sql(self.dialect)}")
            for name, (kind, value) in self._defs.items():
                if kind == "arrow":
                    cur.register(name, value)
                    continue
                try:
                    cur.execute(f"CREATE TEMP VIEW {table(name).sql(self.dialect)} AS {value}")
                except duckdb.Error:
                    continue  # a view over rows since dropped: no query here can read it
            rendered = self.render(sql)
            readers.append(
                cur.sql(rendered, params=used_params(rendered, params)).to_arrow_reader()
            )
        return readers

    def _close_cursors(self) -> None:
        for cur in self._cursors:
            cur.close()
        self._cursors.clear()

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (duckdb.Error,)

    def fork(self) -> DuckDBEngine:
        return DuckDBEngine(self.settings, con=self.con.cursor())

    def register(self, name: str, data: ArrowData) -> None:
        if self._kind(name) == "sql":
            self.unregister(name)
        self.con.register(name, data)
        self._defs.pop(name, None)
        self._defs[name] = ("arrow", data)

    def materialise(
        self,
        name: str,
        sql: str | exp.Expr,
        params: Params = None,
        *,
        row_number: str | None = None,
    ) -> None:
        self.unregister(name)
        stored = f"main.{ident(self._prefix + name).sql(self.dialect)}"
        with self._memory(), self._order_kept(row_number is not None):
            self.con.execute(f"CREATE OR REPLACE TABLE {stored} AS {self.render(sql)}", params)
        self._backing[name] = [stored]
        if row_number is None:
            self._view(name, f"SELECT * FROM {stored}")
            return
        # the rowid of a freshly written table is its insertion order, which DuckDB keeps
        # equal to the query's output order (a parallel CSV scan included) as long as the
        # plan holds no join (see _order_kept)
        rn = ident(row_number).sql(self.dialect)
        self._view(name, f"SELECT *, rowid + 1 AS {rn} FROM {stored}")

    @contextmanager
    def _order_kept(self, keep: bool) -> Iterator[None]:
        """With ``keep``: DuckDB's rewrite of ``x IN ('a', 'b', …)`` into a join against the
        list's values is off for the statement. A join does not keep its input's order, so
        an ingest staging query with a boolean column (``lower(v) IN ('y', 'yes', …)``)
        numbered the rows of a 40 MB file out of file order (two scan threads' ranges
        swapped). Row numbers are the file's lines (lineage, quarantine, a CDC key's last
        operation), so a numbered materialise needs its query's order."""
        if not keep:
            yield
            return
        before = str(
            self.con.execute("SELECT current_setting('disabled_optimizers')").fetchall()[0][0]
        )
        off = ",".join(x for x in (before, "in_clause") if x)
        self._set("disabled_optimizers", off)
        try:
            yield
        finally:
            self._set("disabled_optimizers", before)

    def create_view(self, name: str, sql: str | exp.Expr) -> None:
        if self._kind(name) != "sql":
            self.unregister(name)
        self._view(name, self.render(sql))

    def _view(self, name: str, rendered: str) -> None:
        target = table(name).sql(self.dialect)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {target} AS {rendered}")
        self._defs.pop(name, None)  # a redefinition moves to the end: it may read later views
        self._defs[name] = ("sql", rendered)

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

    def register_csv(self, name: str, path: Path, options: CsvOptions) -> None:
        rej, scan = f"{name}__rej", f"{name}__rej_scan"
        for old in (rej, scan):
            self.con.execute(f"DROP TABLE IF EXISTS {table(old).sql(self.dialect)}")

        def lit(value: Any) -> str:
            return literal(value).sql(self.dialect)

        columns = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in options.columns) + "}"
        reader = (
            f"read_csv({lit(str(path))}, columns={columns}, header=true, auto_detect=false, "
            f"delim={lit(options.delimiter)}, quote={lit(options.quote)}, "
            f"escape={lit(options.quote)}, strict_mode=true, store_rejects=true, "
            f"rejects_table={lit(rej)}, rejects_scan={lit(scan)}, "
            f"encoding={lit(options.encoding)}, null_padding=false, parallel=true, "
            f"max_line_size={int(options.max_line_bytes)})"
        )
        self.create_view(name, f"SELECT * FROM {reader}")
        self._backing[name] = [table(t).sql(self.dialect) for t in (rej, scan)]

    def csv_rejects(self, name: str) -> list[CsvReject]:
        rej = table(f"{name}__rej").sql(self.dialect)
        rows = self.con.execute(
            # errors without a column (an over-long line) sort first
            f"""SELECT line, arg_min(error_type, coalesce(column_idx, -1)),
                       arg_min(error_message, coalesce(column_idx, -1)), min(line_byte_position)
                FROM {rej} GROUP BY line ORDER BY line"""
        ).fetchall()
        return [
            CsvReject(
                None if line is None else int(line),
                None if etype is None else str(etype),
                str(msg),
                None if pos is None else int(pos),
            )
            for line, etype, msg, pos in rows
        ]

    def register_delta(self, name: str, path: Path) -> None:
        self.register(name, DeltaTable(str(path)).to_pyarrow_dataset())

    def _kind(self, name: str) -> str | None:
        """``"sql"`` for a view made by SQL, ``"arrow"`` for registered data, else None."""
        return self._defs[name][0] if name in self._defs else None

    def unregister(self, name: str) -> None:
        kind = self._kind(name)
        if kind == "arrow":
            self.con.unregister(name)
        elif kind == "sql":
            self.con.execute(f"DROP VIEW IF EXISTS {table(name).sql(self.dialect)}")
        self._defs.pop(name, None)
        for backing in self._backing.pop(name, []):
            self.con.execute(f"DROP TABLE IF EXISTS {backing}")

    def views(self) -> set[str]:
        return set(self._defs)

    def close(self) -> None:
        self._close_cursors()
        try:
            for name in list(self._backing):  # a fork's tables live on in the shared database
                self.unregister(name)
        except duckdb.Error:
            pass  # closed already
        self.con.close()
