"""Per-window counters the stream triggers read (``stream_windows``).

An event counts in the window of its own time (``stream.trigger_window_seconds``, aligned
to the epoch), so a replayed day lands in the same windows as the live one and events
arriving late still count where they belong. Counted per golden record: events,
successful and failed digital logins, SMS STOPs (any event whose consent facts revoke or
deny the ``sms`` channel, as the intake derived them) and identifiers the stream attached.
Folded in the batch's transaction for new events only, like :mod:`.features`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, select, tuple_, update

from c360.consent.vocab import to_us
from c360.settings.consent import CaptureSource
from c360.stream import consent
from c360.stream.events import Event
from c360.stream.features import _TRUE, LOGIN_SOURCE
from c360.stream.tables import stream_windows

COUNTERS = ("events", "logins", "failed_logins", "sms_stops", "new_identifiers")
Key = tuple[str, int]  # (golden_id, window_start_us)


def window_of(at_us: int, seconds: int) -> int:
    size = seconds * 1_000_000
    return at_us - at_us % size


def _is_stop(ev: Event, mappings: list[CaptureSource]) -> bool:
    return any(
        r["channel"] == "sms" and r["status"] in ("revoked", "denied")
        for r in consent.rows_for(ev, mappings, {}, 0)
    )


def fold(
    conn: Connection,
    rows: Iterable[tuple[int, Event, str | None]],
    attached: set[str],
    mappings: list[CaptureSource],
    seconds: int,
    now_us: int,
    counters: dict[Key, dict[str, int]] | None = None,
) -> dict[Key, int]:
    """Count ``rows`` (received_at_us, event, golden_id) into their windows.

    ``attached`` holds the ids of events that attached an identifier. Returns the
    windows touched, each with the latest receipt time of its new events; ``counters``,
    when given, receives each touched window's new counters as :func:`read` gives them.
    """
    delta: dict[Key, dict[str, int]] = {}
    for received, ev, golden in rows:
        if golden is None:
            continue
        key = (golden, window_of(to_us(ev.at), seconds))
        d = delta.setdefault(key, dict.fromkeys((*COUNTERS, "last_received_at_us"), 0))
        d["events"] += 1
        d["last_received_at_us"] = max(d["last_received_at_us"], received)
        if ev.type == "track" and ev.source == LOGIN_SOURCE:
            ok = ev.payload.get("success")
            ok = ok is True or str(ok).strip().lower() in _TRUE
            d["logins" if ok else "failed_logins"] += 1
        if _is_stop(ev, mappings):
            d["sms_stops"] += 1
        if ev.event_id in attached:
            d["new_identifiers"] += 1
    if not delta:
        return {}
    t = stream_windows
    keys = sorted(delta)
    current: dict[Key, Any] = {}
    for i in range(0, len(keys), 400):
        q = select(t).where(tuple_(t.c.golden_id, t.c.window_start_us).in_(keys[i : i + 400]))
        for r in conn.execute(q):
            current[(r.golden_id, int(r.window_start_us))] = r
    inserts, updates = [], []
    for key, d in delta.items():
        old = current.get(key)
        row: dict[str, int] = {c: d[c] + (getattr(old, c) if old else 0) for c in COUNTERS}
        row["last_received_at_us"] = max(
            d["last_received_at_us"], old.last_received_at_us if old else 0
        )
        row["updated_at_us"] = now_us
        if counters is not None:
            counters[key] = {f"window_{c}": row[c] for c in COUNTERS}
        if old is None:
            inserts.append({"golden_id": key[0], "window_start_us": key[1], **row})
        else:
            updates.append({"g": key[0], "w": key[1], **row})
    if inserts:
        conn.execute(t.insert(), inserts)
    if updates:
        conn.execute(
            update(t)
            .where(t.c.golden_id == bindparam("g"), t.c.window_start_us == bindparam("w"))
            .values({k: bindparam(k) for k in updates[0] if k not in ("g", "w")}),
            updates,
        )
    return {k: d["last_received_at_us"] for k, d in delta.items()}


def read(conn: Connection, keys: list[Key]) -> dict[Key, dict[str, int]]:
    """The counters of ``keys`` as ``window_<counter>`` columns."""
    t = stream_windows
    out: dict[Key, dict[str, int]] = {}
    for i in range(0, len(keys), 400):
        q = select(t).where(tuple_(t.c.golden_id, t.c.window_start_us).in_(keys[i : i + 400]))
        for r in conn.execute(q):
            out[(r.golden_id, int(r.window_start_us))] = {
                f"window_{c}": int(getattr(r, c)) for c in COUNTERS
            }
    return out
