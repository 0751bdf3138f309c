"""``consent_current``: the event in force per (identifier, purpose, channel).

The ledger is bitemporal and append-only; the set form must not re-rank it
(5M rows) on every audience build. So every append also upserts, *in the same
transaction*, the winning event per key — the one with the greatest
``(effective_at_us, recorded_at_us, event_id)``, the same order the gate uses.

That row answers a question "as of ``at``, known at ``k``" exactly when it is
itself in force then (``effective_at_us <= at`` and ``recorded_at_us <= k``):
being the maximum over all of the key's events, it is also the maximum over
any subset that contains it. For the other keys (a future-dated event, a
question about the past) :data:`FACTS_SQL` re-ranks that key's ledger rows, so
answers stay exact at any time; only the common case is fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
from sqlalchemy import Column, Connection, MetaData, Table, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from c360.consent.tables import consent_current, consent_events
from c360.engine import local_engine
from c360.store.bulk import bulk_insert

KEY = ("id_type", "id_value", "purpose", "channel")
VALUES = ("event_id", "status", "method", "effective_at_us", "recorded_at_us", "expires_at_us")
_ORDER = ("effective_at_us", "recorded_at_us", "event_id")

# Winning event per identifier for one (purpose, channel), as known at :k, in force at :at.
FACTS_SQL = """
SELECT id_type, id_value, event_id, status, method, effective_at_us, recorded_at_us, expires_at_us
FROM consent_current
WHERE purpose IN (:p, '*') AND channel IN (:c, '*') AND effective_at_us <= :at AND recorded_at_us <= :k
UNION ALL
SELECT id_type, id_value, event_id, status, method, effective_at_us, recorded_at_us, expires_at_us
FROM (SELECT e.id_type, e.id_value, e.event_id, e.status, e.method, e.effective_at_us,
             e.recorded_at_us, e.expires_at_us,
             ROW_NUMBER() OVER (PARTITION BY e.id_type, e.id_value, e.purpose, e.channel
                                ORDER BY e.effective_at_us DESC, e.recorded_at_us DESC,
                                         e.event_id DESC) AS rn
      FROM consent_current c
      JOIN consent_events e ON e.id_type = c.id_type AND e.id_value = c.id_value
                           AND e.purpose = c.purpose AND e.channel = c.channel
      WHERE c.purpose IN (:p, '*') AND c.channel IN (:c, '*')
        AND (c.effective_at_us > :at OR c.recorded_at_us > :k)
        AND e.effective_at_us <= :at AND e.recorded_at_us <= :k) stale
WHERE rn = 1
"""
FACTS_SCHEMA = pa.schema(
    [
        ("id_type", pa.string()),
        ("id_value", pa.string()),
        ("event_id", pa.string()),
        ("status", pa.string()),
        ("method", pa.string()),
        ("effective_us", pa.int64()),
        ("recorded_us", pa.int64()),
        ("expires_us", pa.int64()),
    ]
)


def _rank(row: dict[str, Any]) -> tuple[int, int, str]:
    return (int(row["effective_at_us"]), int(row["recorded_at_us"]), str(row["event_id"]))


def _upsert_stmt(conn: Connection) -> Any:
    mod: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = mod.insert(consent_current)
    t, ex = consent_current.c, stmt.excluded
    newer = tuple_(ex.effective_at_us, ex.recorded_at_us, ex.event_id) > tuple_(
        t.effective_at_us, t.recorded_at_us, t.event_id
    )
    return stmt.on_conflict_do_update(
        index_elements=list(KEY), set_={c: getattr(ex, c) for c in VALUES}, where=newer
    )


def upsert(conn: Connection, events: Iterable[dict[str, Any]]) -> int:
    """Fold appended ledger rows into ``consent_current`` (call in the append's transaction)."""
    best: dict[tuple[str, ...], dict[str, Any]] = {}
    for e in events:
        k = tuple(str(e[c]) for c in KEY)
        cur = best.get(k)
        if cur is None or _rank(e) > _rank(cur):
            best[k] = e
    if not best:
        return 0
    rows = [{c: e[c] for c in (*KEY, *VALUES)} for e in best.values()]
    stmt = _upsert_stmt(conn)
    for i in range(0, len(rows), 5000):
        conn.execute(stmt, rows[i : i + 5000])
    return len(rows)


_FOLD = """
INSERT INTO consent_current ({cols})
SELECT {cols} FROM (
  SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY id_type, id_value, purpose, channel
                                    ORDER BY effective_at_us DESC, recorded_at_us DESC, event_id DESC) AS rn
  FROM {source}) s
WHERE rn = 1
ON CONFLICT (id_type, id_value, purpose, channel) DO UPDATE SET {sets}
WHERE (excluded.effective_at_us, excluded.recorded_at_us, excluded.event_id)
    > (consent_current.effective_at_us, consent_current.recorded_at_us, consent_current.event_id)
"""


_WINNERS = f"""
SELECT {", ".join((*KEY, *VALUES))} FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY id_type, id_value, purpose, channel
                               ORDER BY effective_at_us DESC, recorded_at_us DESC, event_id DESC) AS rn
  FROM _ev) WHERE rn = 1
"""


def _fold_sql(source: str) -> str:
    cols = ", ".join((*KEY, *VALUES))
    sets = ", ".join(f"{c} = excluded.{c}" for c in VALUES)
    return _FOLD.format(cols=cols, sets=sets, source=source)


def bulk_append(conn: Connection, events: pa.Table) -> int:
    """Append many ledger rows (columns of ``consent_events``) and fold them into the current table.

    The winners per key are found in DuckDB from the Arrow rows; into an empty
    current table they are bulk-inserted, otherwise upserted through a
    temporary staging table. All of it runs in the caller's transaction. For
    initial loads and benchmarks: rows are not validated here (use
    :meth:`Ledger.append` for that).
    """
    if events.num_rows == 0:
        return 0
    data = events.select([c.name for c in consent_events.columns])
    bulk_insert(conn, consent_events, data)
    with local_engine() as eng:
        eng.register("_ev", data)
        winners = eng.query(_WINNERS)
    if conn.execute(select(consent_current.c.id_type).limit(1)).first() is None:
        bulk_insert(conn, consent_current, winners)
        return data.num_rows
    cols = ", ".join((*KEY, *VALUES))
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                f"CREATE TEMP TABLE _cc_stage ON COMMIT DROP AS SELECT {cols} FROM consent_current "
                "WITH NO DATA"
            )
        )
    else:
        conn.execute(text("DROP TABLE IF EXISTS temp._cc_stage"))
        conn.execute(
            text(f"CREATE TEMP TABLE _cc_stage AS SELECT {cols} FROM consent_current WHERE 0")
        )
    bulk_insert(conn, _stage_table(), winners)
    conn.execute(text(_fold_sql("_cc_stage")))
    if conn.dialect.name != "postgresql":
        conn.execute(text("DROP TABLE temp._cc_stage"))
    return data.num_rows


def rebuild(conn: Connection) -> int:
    """Recompute the whole current table from the ledger (repair; same transaction rules)."""
    conn.execute(consent_current.delete())
    conn.execute(text(_fold_sql("consent_events")))
    return int(conn.execute(text("SELECT count(*) FROM consent_current")).scalar_one())


def _stage_table() -> Table:
    cols = [consent_current.c[n] for n in (*KEY, *VALUES)]
    return Table("_cc_stage", MetaData(), *(Column(c.name, c.type) for c in cols))
