"""The facts the set form joins, registered on an engine (:class:`~c360.engine.Engine`).

Two parts:

- :func:`register_base` — the subjects (``_cg_subjects``) and the identifier
  index (``_cg_index``). Read from the lakehouse copies
  (``gold.consent_subjects`` / ``gold.consent_subject_index``) when their
  refresh stamp equals the store's ``consent_index_meta``; otherwise from the
  store (slower, same answer). Nothing of the million-row tables is copied
  out of SQLite/PostgreSQL on the fast path.
- :func:`load_facts` — per (purpose, channel, at, known_at): the event in
  force per identifier from ``consent_current`` (see :mod:`current`), the
  active suppressions, and for activations the recent contacts; the small
  results are joined to ``_cg_index`` on the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, select
from sqlglot import exp

from c360.consent.current import FACTS_SCHEMA, FACTS_SQL
from c360.consent.subjects import INDEX_SCHEMA, LAKE_INDEX, LAKE_SUBJECTS, SUBJECT_SCHEMA
from c360.consent.tables import consent_index_meta
from c360.consent.vocab import DAY_US, HOUR_US
from c360.engine import AUTHORING_DIALECT, Engine, column, literal, table
from c360.lakehouse import Lakehouse
from c360.settings.consent_policy import Policy
from c360.store.bulk import fetch_arrow

_SUPP = """
SELECT list_name, id_hash FROM (
  SELECT list_name, id_hash, action, expires_at_us,
         ROW_NUMBER() OVER (PARTITION BY list_name, id_hash
                            ORDER BY effective_at_us DESC, recorded_at_us DESC, entry_id DESC) AS rn
  FROM suppressions WHERE effective_at_us <= :at AND recorded_at_us <= :k {lists}) s
WHERE s.rn = 1 AND s.action = 'add' AND (s.expires_at_us IS NULL OR s.expires_at_us > :at)
"""
_SUPP_SCHEMA = pa.schema([("list_name", pa.string()), ("id_hash", pa.string())])
_CONTACT_SCHEMA = pa.schema(
    [
        ("golden_id", pa.string()),
        ("channel", pa.string()),
        ("purpose", pa.string()),
        ("outcome", pa.string()),
        ("contacted_us", pa.int64()),
    ]
)
_EVENTS = """
SELECT i.golden_id, i.restrict_only, e.event_id, e.status, e.method, e.effective_us, e.expires_us,
       e.id_type, e.id_value
FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY id_type, id_value
                                   ORDER BY effective_us DESC, recorded_us DESC, event_id DESC) AS rn
      FROM _cg_cur) e
JOIN _cg_index i ON i.id_type = e.id_type AND i.id_value = e.id_value
WHERE e.rn = 1
"""


# SQLAlchemy's dialect names where sqlglot's differ
_STORE_DIALECTS = {"postgresql": "postgres"}


def lit(value: Any, dialect: str = AUTHORING_DIALECT) -> str:
    """``value`` as a SQL literal of ``dialect``, written by sqlglot."""
    return literal(value).sql(dialect=dialect)


def _fetch(conn: Connection, sql: str, params: dict[str, Any], schema: pa.Schema) -> pa.Table:
    # inline the parameters (numbers and policy names only) so PostgreSQL can use COPY
    dialect = _STORE_DIALECTS.get(conn.dialect.name, conn.dialect.name)
    for k, v in params.items():
        sql = sql.replace(f":{k}", lit(v, dialect))
    return fetch_arrow(conn, sql, {}, schema)


def _select(names: list[str], relation: str) -> exp.Select:
    return exp.select(*(column(n) for n in names)).from_(table(relation))


@dataclass
class SetFacts:
    """Per-question facts; the subjects are the ``_cg_subjects`` relation of :func:`register_base`."""

    events: pa.Table
    suppressions: pa.Table
    contacts: pa.Table | None


def register_base(engine: Engine, conn: Connection, lakehouse: Lakehouse | None) -> str:
    """Register ``_cg_subjects`` and ``_cg_index``; returns where they came from."""
    stamp = conn.execute(
        select(consent_index_meta.c.refreshed_at_us).where(consent_index_meta.c.id == 1)
    ).scalar()
    if (
        lakehouse is not None
        and stamp is not None
        and lakehouse.exists(*LAKE_SUBJECTS)
        and lakehouse.exists(*LAKE_INDEX)
    ):
        engine.register_delta("_cg_subjects_lake", lakehouse.path(*LAKE_SUBJECTS))
        engine.register_delta("_cg_index_lake", lakehouse.path(*LAKE_INDEX))
        row = engine.query(
            "SELECT (SELECT max(refreshed_at_us) FROM _cg_subjects_lake) AS s, "
            "(SELECT max(refreshed_at_us) FROM _cg_index_lake) AS i"
        ).to_pylist()[0]
        if row["s"] == stamp and (row["i"] == stamp or row["i"] is None):
            engine.create_view("_cg_subjects", _select(SUBJECT_SCHEMA.names, "_cg_subjects_lake"))
            engine.create_view("_cg_index", _select(INDEX_SCHEMA.names, "_cg_index_lake"))
            return "lakehouse"
    cols = ", ".join(SUBJECT_SCHEMA.names)
    engine.register(
        "_cg_subjects", _fetch(conn, f"SELECT {cols} FROM consent_subjects", {}, SUBJECT_SCHEMA)
    )
    icols = ", ".join(INDEX_SCHEMA.names)
    engine.register(
        "_cg_index", _fetch(conn, f"SELECT {icols} FROM consent_subject_index", {}, INDEX_SCHEMA)
    )
    return "store"


def load_facts(
    engine: Engine,
    conn: Connection,
    policy: Policy,
    purpose: str,
    channel: str,
    at_us: int,
    known_us: int,
    activation: bool,
) -> SetFacts:
    """Facts for one question (needs :func:`register_base` on ``engine`` first)."""
    p = {"p": purpose, "c": channel, "at": at_us, "k": known_us}
    engine.register("_cg_cur", _fetch(conn, FACTS_SQL, p, FACTS_SCHEMA))
    events = engine.query(_EVENTS)
    lists = policy.blocking_lists(purpose, channel)
    store = _STORE_DIALECTS.get(conn.dialect.name, conn.dialect.name)
    list_filter = (
        ("AND list_name IN (" + ", ".join(lit(n, store) for n in lists) + ")")
        if lists
        else "AND 1 = 0"
    )
    raw_supp = _fetch(
        conn, _SUPP.format(lists=list_filter), {"at": at_us, "k": known_us}, _SUPP_SCHEMA
    )
    engine.register("_cg_supp_raw", raw_supp)
    supp = engine.query(
        "SELECT DISTINCT i.golden_id, s.list_name, i.id_type, i.id_value FROM _cg_supp_raw s "
        "JOIN _cg_index i ON i.id_hash = s.id_hash"
    )
    contacts = None
    if activation and purpose not in policy.contact.exempt_purposes:
        cp = policy.contact
        days = max([c.window_days for c in cp.caps] + [cp.decline_cooldown_days, 0])
        hours = max([*cp.cooldown_hours.values(), 0])
        lo = at_us - max(days * DAY_US, hours * HOUR_US)
        contacts = _fetch(
            conn,
            "SELECT golden_id, channel, purpose, outcome, contacted_at_us FROM contact_log "
            "WHERE contacted_at_us > :lo AND contacted_at_us <= :at AND recorded_at_us <= :k "
            "AND outcome <> 'failed'",
            {"lo": lo, "at": at_us, "k": known_us},
            _CONTACT_SCHEMA,
        )
    return SetFacts(events, supp, contacts)
