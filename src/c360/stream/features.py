"""Online features the stream keeps current per golden record (``stream_features``).

Counts of events, successful and failed digital logins, the last login and the
last event time — what a same-day churn signal needs (logins falling off) without
waiting for the nightly feature run. Updated in the batch's transaction, for new
events only, so a redelivered event never counts twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update

from c360.consent.vocab import to_us
from c360.features.online import STREAM_PREFIX, STREAM_VIEW
from c360.features.tables import online_features
from c360.stream.events import Event
from c360.stream.tables import stream_features

LOGIN_SOURCE = "digital_logins"
_TRUE = {"true", "t", "y", "yes", "1"}


def _delta(rows: list[tuple[Event, str | None]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for ev, golden in rows:
        if golden is None:
            continue
        d = out.setdefault(
            golden,
            {"events": 0, "logins": 0, "failed_logins": 0, "last_login": None, "last_event": 0},
        )
        at = to_us(ev.at)
        d["events"] += 1
        d["last_event"] = max(d["last_event"], at)
        if ev.type == "track" and ev.source == LOGIN_SOURCE:
            ok = ev.payload.get("success")
            if ok is True or str(ok).strip().lower() in _TRUE:
                d["logins"] += 1
                d["last_login"] = max(d["last_login"] or 0, at)
            else:
                d["failed_logins"] += 1
    return out


def fold(
    conn: Connection,
    rows: list[tuple[Event, str | None]],
    now_us: int,
    version: str = "stream",
    totals: dict[str, dict[str, Any]] | None = None,
) -> int:
    """Fold a batch's new events into the features, and into the online projection
    (``online_features``, view ``stream``); returns golden records touched. ``totals``,
    when given, receives each touched golden record's new row (``stream_features``
    columns but the golden id)."""
    delta = _delta(rows)
    if not delta:
        return 0
    t = stream_features
    current = _current(conn, t, list(t.c), sorted(delta))
    inserts, updates = [], []
    totals = {} if totals is None else totals
    for g, d in delta.items():
        old = current.get(g)
        last_login = max(
            [x for x in (d["last_login"], old.last_login_at_us if old else None) if x], default=None
        )
        row = {
            "events": d["events"] + (old.events if old else 0),
            "logins": d["logins"] + (old.logins if old else 0),
            "failed_logins": d["failed_logins"] + (old.failed_logins if old else 0),
            "last_login_at_us": last_login,
            "last_event_at_us": max(d["last_event"], old.last_event_at_us if old else 0),
            "updated_at_us": now_us,
        }
        totals[g] = row
        if old is None:
            inserts.append({"golden_id": g, **row})
        else:
            updates.append({"g": g, **row})
    _upsert(conn, t, inserts, updates)
    project(conn, totals, now_us, version)
    return len(delta)


def _current(conn: Connection, t: Table, columns: list[Any], keys: list[str]) -> dict[str, Any]:
    """``t``'s rows (``columns``) of the golden ids ``keys``, by golden id."""
    current: dict[str, Any] = {}
    for i in range(0, len(keys), 500):
        for r in conn.execute(select(*columns).where(t.c.golden_id.in_(keys[i : i + 500]))):
            current[r.golden_id] = r
    return current


def _upsert(
    conn: Connection, t: Table, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]
) -> None:
    """Insert the new rows; update the others by golden id (``g``), every other key set."""
    if inserts:
        conn.execute(t.insert(), inserts)
    if updates:
        conn.execute(
            update(t)
            .where(t.c.golden_id == bindparam("g"))
            .values({k: bindparam(k) for k in updates[0] if k != "g"}),
            updates,
        )


def _iso(us: int | None) -> str | None:
    return None if us is None else datetime.fromtimestamp(us / 1e6, UTC).isoformat()


def online_values(row: dict[str, Any]) -> dict[str, Any]:
    """The stream's values as the online projection holds them (``stream_…`` features)."""
    return {
        f"{STREAM_PREFIX}events": int(row["events"]),
        f"{STREAM_PREFIX}logins": int(row["logins"]),
        f"{STREAM_PREFIX}failed_logins": int(row["failed_logins"]),
        f"{STREAM_PREFIX}last_login_at": _iso(row["last_login_at_us"]),
        f"{STREAM_PREFIX}last_event_at": _iso(row["last_event_at_us"]),
    }


def project(conn: Connection, totals: dict[str, dict[str, Any]], now_us: int, version: str) -> None:
    """Upsert the stream's values into ``online_features`` (the batch views' values of a
    customer are kept; a customer the batch projection lacks gets a row of its own)."""
    if not totals:
        return
    t = online_features
    now = datetime.fromtimestamp(now_us / 1e6, UTC)
    keys = sorted(totals)
    current = _current(conn, t, [t.c.golden_id, t.c.features, t.c.versions], keys)
    inserts, updates = [], []
    for g in keys:
        values = online_values(totals[g])
        old = current.get(g)
        if old is None:
            inserts.append(
                {
                    "golden_id": g,
                    "as_of": now,
                    "features": values,
                    "versions": {STREAM_VIEW: version},
                    "updated_at": now,
                }
            )
        else:
            updates.append(
                {
                    "g": g,
                    "features": {**dict(old.features), **values},
                    "versions": {**dict(old.versions), STREAM_VIEW: version},
                    "updated_at": now,
                }
            )
    _upsert(conn, t, inserts, updates)


def read(conn: Connection, golden_id: str) -> dict[str, Any] | None:
    r = conn.execute(
        select(stream_features).where(stream_features.c.golden_id == golden_id)
    ).first()
    return dict(r._mapping) if r else None
