"""The :class:`Engine` interface every compute adapter implements.

An engine runs SQL over Arrow data and lakehouse tables and hands results back as
Arrow. Stages depend on this interface only; which engine runs them is a setting
(``engine.name`` in c360.yaml, ``C360_ENGINE__NAME``) or ``c360 run --engine``.
Where engines differ, :class:`Capabilities` says so, and a stage branches on the
flag rather than on the engine's name.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, TypeAlias

import pyarrow as pa
import pyarrow.dataset as pads
from sqlglot import exp

from c360.engine.sql import render, table
from c360.errors import C360Error

if TYPE_CHECKING:
    from c360.lakehouse import Lakehouse

ArrowData: TypeAlias = pa.Table | pa.RecordBatchReader | pads.Dataset
FileFormat: TypeAlias = Literal["parquet", "csv", "json"]
SqlType: TypeAlias = Literal["VARCHAR", "BOOLEAN", "DOUBLE", "BIGINT"]
"""Argument and result types of a Python function registered in SQL."""
Params: TypeAlias = Mapping[str, Any] | None
"""Named query parameters (``$name`` in authoring SQL), bound by the driver, never spliced."""


def used_params(rendered: str, params: Params) -> Params:
    """The ``params`` a rendered statement refers to (drivers refuse unused ones)."""
    used = {
        k: v for k, v in (params or {}).items() if re.search(rf"[$:]{re.escape(k)}\b", rendered)
    }
    return used or None


@dataclass(frozen=True)
class CsvOptions:
    """How to read a delivered CSV file whose header is known: every column as text."""

    columns: tuple[str, ...]
    """The header's column names, in file order (the header row itself is skipped)."""
    delimiter: str = ","
    quote: str = '"'
    encoding: Literal["utf-8", "latin-1"] = "utf-8"
    max_line_bytes: int = 2_097_152


@dataclass(frozen=True)
class CsvReject:
    """One physical line the CSV reader could not turn into a record (first error of the line)."""

    line: int | None
    """1-based line number in the file, when the engine knows it."""
    error_type: str | None
    message: str
    byte_position: int | None
    """Byte offset at (or just after) the start of the line, when the engine knows it."""
    record: str | None = None
    """The record as the engine read it, when it cannot point at the line (kept out of
    ``message``, which becomes the quarantine reason: the record may hold PII)."""


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do natively; stages branch on these flags, not on names."""

    asof_join: bool
    """``ASOF JOIN`` (point-in-time joins) without a window rewrite."""
    qualify: bool
    """``QUALIFY`` filters on window functions."""
    python_udf: bool
    """Cheap scalar Python functions inside SQL (false where they cross a process boundary)."""
    in_process: bool
    """Results are produced in this process (no cluster round trip)."""
    splink_api: str
    """Name of the Splink database API class for this engine."""
    macros: bool = False
    """``CREATE MACRO`` (SQL functions defined in SQL) on the session."""
    table_update: bool = False
    """``UPDATE`` / ``DELETE`` on the engine's own working tables (not only on Delta)."""
    list_functions: bool = False
    """DuckDB's list functions and lambdas (``list_contains``, ``list_filter``, ``unnest`` in
    a select list, ``struct_pack``) as identity's SQL writes them."""

    def missing(self, *flags: str) -> list[str]:
        """The named flags this engine lacks (for a stage to refuse up front)."""
        return [f for f in flags if not getattr(self, f)]


@dataclass(frozen=True)
class EngineSettings:
    """The one place for engine settings (defaults suit a 2-core, 8 GB laptop)."""

    name: str = "duckdb"
    memory_limit: str = "4GB"
    threads: int | None = None
    temp_directory: Path | None = None
    time_zone: str = "UTC"
    spark_master: str = "local[2]"
    spark_conf: dict[str, str] = field(default_factory=dict)


class Engine(ABC):
    """A SQL engine over Arrow data and lakehouse tables."""

    name: ClassVar[str]
    dialect: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings

    # ------------------------------------------------------------------ SQL
    def render(self, sql: str | exp.Expr) -> str:
        """``sql`` (an expression or authoring-dialect text) in this engine's dialect."""
        return render(sql, self.dialect)

    @abstractmethod
    def execute(self, sql: str | exp.Expr, params: Params = None) -> None:
        """Run a statement for its effect (``CREATE VIEW``, ``SET`` …)."""

    @abstractmethod
    def query(self, sql: str | exp.Expr, params: Params = None) -> pa.Table:
        """Run a query and return its result as one Arrow table."""

    def stream(self, sql: str | exp.Expr, params: Params = None) -> pa.RecordBatchReader:
        """Run a query and return its rows as a stream of Arrow batches (consume it before
        the next statement on this engine). Engines that cannot stream collect first."""
        return self.query(sql, params).to_reader()

    def streams(
        self, sqls: list[str | exp.Expr], params: Params = None
    ) -> list[pa.RecordBatchReader]:
        """Several queries over this engine's views, streamed at once: one reader per query,
        each consumable on its own thread while the others are read (e.g. two zone writers
        fed from the same staged rows). Engines that cannot run queries side by side
        collect all but the last."""
        *first, last = sqls
        return [
            self.query(sql, used_params(self.render(sql), params)).to_reader() for sql in first
        ] + [self.stream(last, used_params(self.render(last), params))]

    def row(self, sql: str | exp.Expr, params: Params = None) -> list[Any]:
        """The values of the first row of a query, by position (empty for no rows)."""
        result = self.query(sql, params)
        if result.num_rows == 0:
            return []
        return [result.column(i)[0].as_py() for i in range(result.num_columns)]

    def scalar(self, sql: str | exp.Expr) -> Any:
        """The single value of a one-row, one-column query (``None`` for no rows)."""
        result = self.query(sql)
        if result.num_rows == 0:
            return None
        return result.column(0)[0].as_py()

    # ------------------------------------------------------------------ functions
    def register_function(
        self, name: str, fn: Callable[..., pa.Array], args: Sequence[SqlType], returns: SqlType
    ) -> None:
        """Make the vectorised Python function ``fn`` (Arrow arrays in, one Arrow array out,
        no side effects) callable in SQL as ``name``; registering a name twice is a no-op.
        A row with a NULL argument gives NULL without reaching ``fn``.

        Only engines whose :attr:`Capabilities.python_udf` is true run it cheaply."""
        raise C360Error(
            "engine.unsupported",
            f"the {self.name} engine cannot call Python functions from SQL ({name})",
            {"engine": self.name, "function": name},
        )

    def splink_api(self) -> Any:
        """Splink's database API over this engine's connection or session
        (:attr:`Capabilities.splink_api` names its class)."""
        raise C360Error(
            "engine.unsupported",
            f"the {self.name} engine has no Splink database API",
            {"engine": self.name},
        )

    # ------------------------------------------------------------------ views
    @abstractmethod
    def register(self, name: str, data: ArrowData) -> None:
        """Expose Arrow data as a temporary view ``name`` (replacing an older one)."""

    @abstractmethod
    def unregister(self, name: str) -> None:
        """Drop the temporary view ``name`` if it exists."""

    @abstractmethod
    def views(self) -> set[str]:
        """Names of the temporary views registered on this engine."""

    def register_lakehouse(
        self, lakehouse: Lakehouse, tables: Iterable[tuple[str, str]] | None = None
    ) -> list[str]:
        """Register lakehouse tables as views ``<zone>__<name>``; returns the view names."""
        chosen = (
            list(tables)
            if tables is not None
            else [(i.zone, i.name) for i in lakehouse.tables(count_rows=False)]
        )
        names = []
        for zone, name in chosen:
            view = f"{zone}__{name}"
            self.register_delta(view, lakehouse.path(zone, name))
            names.append(view)
        return names

    @abstractmethod
    def register_delta(self, name: str, path: Path) -> None:
        """Expose the current version of the Delta table at ``path`` as view ``name``."""

    @abstractmethod
    def register_file(self, name: str, path: Path, file_format: FileFormat) -> None:
        """Expose a data file as view ``name``; dropped by :meth:`unregister`.

        ``csv`` has a header row and every column is read as a string (no type guessing,
        so a value reads back as written); ``json`` is newline-delimited objects (JSON
        lines); ``parquet`` keeps its stored types. A file the engine cannot read raises
        one of :attr:`errors`, here or when the view is queried."""

    @abstractmethod
    def register_csv(self, name: str, path: Path, options: CsvOptions) -> None:
        """Expose the records of a delivered CSV file as view ``name``, every column text.

        Lines that cannot be parsed (wrong field count, bad quoting, invalid encoding, over
        ``max_line_bytes``) are left out of the view and kept: :meth:`csv_rejects` lists
        them once the view has been read. Reading is lazy: the file is parsed when the view
        is (so a single pass can parse, type and write it)."""

    @abstractmethod
    def csv_rejects(self, name: str) -> list[CsvReject]:
        """Lines of the file behind CSV view ``name`` that the last read of it rejected,
        one per line, in line order."""

    @abstractmethod
    def materialise(
        self,
        name: str,
        sql: str | exp.Expr,
        params: Params = None,
        *,
        row_number: str | None = None,
    ) -> None:
        """Compute ``sql`` once and expose its rows as view ``name`` (a temporary table).

        For a result that later steps read more than once; dropped by :meth:`unregister`.
        With ``row_number``, the rows get that column numbering them 1, 2, … in the order
        ``sql`` produced them (a file's record order when it reads one file in order) —
        without a window over the whole input, which would serialise the read."""

    @abstractmethod
    def create_view(self, name: str, sql: str | exp.Expr) -> None:
        """``CREATE OR REPLACE`` the temporary view ``name`` over ``sql``; dropped by
        :meth:`unregister`."""

    def apply_in_groups(
        self,
        name: str,
        inputs: Sequence[str],
        key: str,
        fn: Callable[..., pa.Table],
        schema: pa.Schema,
    ) -> None:
        """Materialise view ``name`` as ``fn`` applied to ``inputs`` group by group.

        ``inputs`` name one or two views, each with column ``key``; each call
        ``fn(*tables)`` gets, of every input, the rows of the same key values, and returns
        rows of ``schema``. A key value's rows are never split between calls, and a call
        may hold several key values: ``fn`` must answer for a union of groups what it
        answers for each on its own (so the key is a batch of independent groups). An
        in-process engine makes one call per key value, here; a cluster engine runs the
        calls on its workers (Spark: a cogroup of the inputs)."""
        tables = [self.query(exp.select("*").from_(table(i))) for i in inputs]
        split = [_by_key(t, key) for t in tables]
        keys = sorted({k for groups in split for k in groups}, key=repr)
        parts = [
            fn(*(g.get(k, t.slice(0, 0)) for g, t in zip(split, tables, strict=True))).cast(schema)
            for k in keys
        ]
        self.register(name, pa.concat_tables(parts) if parts else schema.empty_table())

    def columns(self, relation: str) -> list[str]:
        """Column names of a view or table, in order."""
        return self.query(exp.select("*").from_(table(relation)).limit(0)).column_names

    @property
    @abstractmethod
    def errors(self) -> tuple[type[BaseException], ...]:
        """The exception types this engine's driver raises for a failed statement."""

    @abstractmethod
    def fork(self) -> Engine:
        """An engine on the same database or session with its own views, cheap to open.

        Callers that register fixed view names take a fork so two of them never meet;
        closing a fork drops its views and leaves the parent open."""

    @contextmanager
    def temp_views(self, **views: ArrowData) -> Iterator[Self]:
        """Register views for the duration of a block, then drop them."""
        for name, data in views.items():
            self.register(name, data)
        try:
            yield self
        finally:
            for name in views:
                self.unregister(name)

    # ------------------------------------------------------------------ lifecycle
    @abstractmethod
    def close(self) -> None:
        """Release the connection or session."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _by_key(rows: pa.Table, key: str) -> dict[Any, pa.Table]:
    """``rows`` split by the value of column ``key`` (each part in the input's order)."""
    if rows.num_rows == 0:
        return {}
    rows = rows.append_column("__c360_pos", pa.array(range(rows.num_rows), pa.int64()))
    rows = rows.sort_by([(key, "ascending"), ("__c360_pos", "ascending")]).drop_columns(
        ["__c360_pos"]
    )
    values = rows[key].to_pylist()
    starts = [0] + [i for i in range(1, len(values)) if values[i] != values[i - 1]]
    ends = [*starts[1:], len(values)]
    return {values[s]: rows.slice(s, e - s) for s, e in zip(starts, ends, strict=True)}


_LOCAL: list[Engine] = []
_LOCAL_LOCK = threading.Lock()


def local_engine() -> Engine:
    """A fork of one process-wide in-process engine, for small computations on local data.

    For code that has Arrow tables from the operational store and no workspace engine
    (folding ledger rows, subject-index refresh). Opening a database costs ~10 ms, a fork
    microseconds. Close it when done."""
    with _LOCAL_LOCK:
        if not _LOCAL:
            _LOCAL.append(create_engine(EngineSettings()))
        return _LOCAL[0].fork()


def create_engine(settings: EngineSettings | None = None) -> Engine:
    """The engine named by ``settings.name`` (``duckdb`` or ``spark``)."""
    settings = settings or EngineSettings()
    if settings.name == "duckdb":
        from c360.engine.duck import DuckDBEngine

        return DuckDBEngine(settings)
    if settings.name == "spark":
        from c360.engine.spark import SparkEngine

        return SparkEngine(settings)
    raise C360Error(
        "engine.unknown",
        f"unknown engine {settings.name!r}; choose duckdb or spark",
        {"engine": settings.name},
    )
