"""The engine an identity run computes on, and what identity needs of it.

One place builds it from the workspace's engine settings (``engine:`` in c360.yaml)
with identity's memory limit; every identity step takes that engine, never a
connection of its own. Identity's SQL is authored in DuckDB's dialect and leans on
engine features listed in :data:`REQUIRED`; an engine lacking one is refused up front
(``identity.engine_unsupported``) rather than half-way through a run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from c360.engine import Engine, EngineSettings, create_engine
from c360.errors import C360Error

if TYPE_CHECKING:
    from c360.workspace import Workspace

#: capability flags identity's SQL needs (see :class:`c360.engine.Capabilities`); it also
#: calls Python functions from SQL (``Engine.register_function``, on every engine; cheap
#: only where ``python_udf`` holds)
REQUIRED = ("macros", "table_update", "list_functions")


def settings(ws: Workspace) -> EngineSettings:
    """The workspace's engine settings with identity's memory limit (in-process engines)."""
    base = ws.engine.settings
    if not ws.engine.capabilities.in_process:  # a cluster session keeps its own memory
        return base
    return replace(base, memory_limit=ws.config.identity.memory_limit, time_zone="UTC")


def open_engine(ws: Workspace) -> Engine:
    """A fresh engine for one identity run (on DuckDB a private in-memory database, so
    a run's working tables never meet another's); close it when the run ends."""
    engine = create_engine(settings(ws))
    check(engine)
    return engine


def check(engine: Engine) -> None:
    """Refuse an engine identity cannot run on, naming what it lacks."""
    missing = engine.capabilities.missing(*REQUIRED)
    if missing:
        engine.close()
        raise C360Error(
            "identity.engine_unsupported",
            f"identity cannot run on the {engine.name} engine yet: it lacks "
            f"{', '.join(missing)} (run identity on duckdb)",
            {"engine": engine.name, "missing": missing},
        )


def tuples(table: pa.Table) -> list[tuple[Any, ...]]:
    """A (small) query result's rows as tuples, in order."""
    return list(zip(*(c.to_pylist() for c in table.columns), strict=True))
