"""The one compute seam: an :class:`Engine` interface with DuckDB and Spark adapters.

Stage SQL is written once — as sqlglot expressions or in the DuckDB dialect, the
authoring dialect — and rendered for the engine that runs it; identifiers are quoted
by sqlglot, never by hand (:mod:`c360.engine.sql`). Settings (memory limit, spill
directory, time zone, threads) live in one place, the ``engine`` block of c360.yaml.
No module outside this package imports ``duckdb`` or ``pyspark`` directly; code that
needs an engine asks the workspace (``ws.engine``) or :func:`create_engine`.
"""

from c360.engine.base import (
    ArrowData,
    Capabilities,
    CsvOptions,
    CsvReject,
    Engine,
    EngineSettings,
    FileFormat,
    create_engine,
    local_engine,
)
from c360.engine.sql import (
    AUTHORING_DIALECT,
    column,
    ident,
    literal,
    quoted,
    render,
    sql_literal,
    table,
)

__all__ = [
    "AUTHORING_DIALECT",
    "ArrowData",
    "Capabilities",
    "CsvOptions",
    "CsvReject",
    "Engine",
    "EngineSettings",
    "FileFormat",
    "column",
    "create_engine",
    "ident",
    "literal",
    "local_engine",
    "quoted",
    "render",
    "sql_literal",
    "table",
]
