"""Governed SQL for analysts and BI tools: ad-hoc queries and a database file per role.

Both are built on the one governed read (:meth:`GovernanceService.read`): every lakehouse
view a query names (``<zone>__<table>``) is first read for the principal's role and
purpose — masked, row-filtered, consent-withheld for a consent purpose, audited — and
only that result is handed to the engine. A query can therefore never see more than a
governed read of the same table would, whatever SQL it is.

- :func:`query` runs one read-only query (``c360 sql``).
- :func:`bi_file` writes a DuckDB database file with one table per governed view the role
  may read, which notebooks and BI tools open read-only without c360 code
  (``c360 catalog bi-file``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from c360.errors import C360Error
from c360.governance._ws import audit
from c360.governance.policy import Principal, check_access
from c360.governance.readpath import vet_sql

if TYPE_CHECKING:
    from c360.workspace import Workspace

#: Zones a governed query or BI file may read (the raw ones are refused by :func:`vet_sql`
#: and left out of BI files).
QUERY_ZONES = ("silver", "gold")


def _fingerprint(sql: str) -> str:
    """The audit log keeps a hash of the query, never its text (it may hold an e-mail)."""
    return hashlib.sha256(sql.strip().encode()).hexdigest()[:16]


def query(
    ws: Workspace, principal: Principal, sql: str, purpose: str, *, limit: int | None = None
) -> pa.Table:
    """Run one read-only query over governed views for ``principal`` and ``purpose``."""
    names = vet_sql(sql)
    views: dict[str, pa.Table] = {}
    for name in names:
        zone, _, table = name.partition("__")
        if not table:
            continue  # a CTE or a name the engine will report
        if zone not in QUERY_ZONES or not ws.lakehouse.exists(zone, table):
            raise C360Error(
                "governance.unknown_view",
                f"{name} is not a governed view; list them with `c360 catalog` "
                f"(silver and gold tables, named <zone>__<table>)",
                {"view": name},
                http_status=404,
            )
        views[name] = ws.governance.read(principal, zone, table, purpose)
    from c360.engine import create_engine

    engine = create_engine()  # a private in-memory engine: nothing outlives the query
    try:
        for name, data in views.items():
            engine.register(name, data)
        try:
            out = engine.query(sql)
        except Exception as exc:  # the engine's own error: name it, keep its first line
            raise C360Error(
                "governance.bad_query",
                f"the query failed: {str(exc).splitlines()[0]}",
                {"views": sorted(views)},
                http_status=400,
            ) from exc
    finally:
        engine.close()
    truncated = limit is not None and out.num_rows > limit
    if truncated:
        out = out.slice(0, limit)
    audit(ws).append(
        principal.name,
        "sql.query",
        ",".join(sorted(views)) or "-",
        {
            "role": principal.role,
            "purpose": purpose,
            "query_sha256": _fingerprint(sql),
            "views": sorted(views),
            "rows": out.num_rows,
            "truncated": truncated,
        },
    )
    return out


def governed_views(ws: Workspace, principal: Principal, purpose: str) -> list[tuple[str, str]]:
    """(zone, table) of every lakehouse table the principal may read for ``purpose``."""
    out = []
    for info in ws.lakehouse.tables(count_rows=False):
        if info.zone not in QUERY_ZONES:  # never a raw zone
            continue
        try:
            check_access(ws.governance.settings, principal, info.zone, purpose)
        except C360Error:
            continue
        out.append((info.zone, info.name))
    return sorted(out)


def bi_file(
    ws: Workspace,
    principal: Principal,
    purpose: str,
    out: Path,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Write a DuckDB file with one table ``<zone>__<table>`` per governed view, as read for
    ``principal`` and ``purpose``, and a ``_c360_build`` table saying what and when.

    The file is written next to ``out`` and renamed over it when complete, so a tool never
    opens a half-written file; the previous one stays until then.
    """
    from c360.engine import EngineSettings, create_engine, ident, literal

    chosen = governed_views(ws, principal, purpose)
    if not chosen:
        raise C360Error(
            "governance.nothing_to_read",
            f"role {principal.role!r} may read no silver or gold table for {purpose!r}",
            {"role": principal.role, "purpose": purpose},
            http_status=403,
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.partial")
    part.unlink(missing_ok=True)
    rows: dict[str, int] = {}
    engine = create_engine(EngineSettings(name="duckdb"))
    try:
        engine.execute(f"ATTACH {literal(str(part)).sql('duckdb')} AS bi")
        for i, (zone, table) in enumerate(chosen):
            if progress:
                progress(f"bi-file {zone}.{table}", i, len(chosen))
            name = f"{zone}__{table}"
            data = ws.governance.read(principal, zone, table, purpose)
            engine.register("_governed", data)
            engine.execute(
                f"CREATE TABLE bi.{ident(name).sql('duckdb')} AS SELECT * FROM _governed"
            )
            engine.unregister("_governed")
            rows[name] = data.num_rows
        built = pa.table(
            {
                "view": list(rows),
                "rows": list(rows.values()),
                "role": [principal.role] * len(rows),
                "purpose": [purpose] * len(rows),
                "built_at": [datetime.now(UTC)] * len(rows),
            }
        )
        engine.register("_built", built)
        engine.execute("CREATE TABLE bi._c360_build AS SELECT * FROM _built")
        engine.execute("DETACH bi")
    finally:
        engine.close()
    part.replace(out)
    if progress:
        progress("bi-file", len(chosen), len(chosen))
    audit(ws).append(
        principal.name,
        "sql.bi_file",
        out.name,
        {"role": principal.role, "purpose": purpose, "views": sorted(rows)},
    )
    return {"path": str(out), "role": principal.role, "purpose": purpose, "tables": rows}
