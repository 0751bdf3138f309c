"""The consent ledger: append-only, bitemporal facts about identifiers.

Each event says: for this identifier, for this purpose on this channel, the
status became X *effective* at T' (valid time), and c360 *recorded* it at T
(transaction time). "What did we know at T about T'" is
``recorded_at <= T and effective_at <= T'``. Nothing is updated in place; a
correction is a later-recorded event with the same effective time, which wins
the tie.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from c360.consent import current, lineage
from c360.consent.tables import consent_events, consent_subject_index
from c360.consent.vocab import STATUSES, WILDCARD, from_us, normalise, now_us, parse_time, to_us
from c360.errors import C360Error
from c360.settings.consent_policy import Policy
from c360.store import Store


@dataclass(frozen=True)
class NewEvent:
    """A consent fact to append. ``effective_at`` defaults to the recording time."""

    id_type: str
    id_value: str
    purpose: str
    channel: str
    status: str
    legal_basis: str = "consent"
    source_system: str = "c360"
    method: str = "manual"
    notice_hash: str | None = None
    actor: str = "system"
    evidence: str | None = None
    captured_at: datetime | None = None
    effective_at: datetime | None = None
    expires_at: datetime | None = None
    capture_key: str | None = None


@dataclass(frozen=True)
class Event:
    event_id: str
    id_type: str
    id_value: str
    purpose: str
    channel: str
    status: str
    legal_basis: str
    source_system: str
    method: str
    notice_hash: str | None
    actor: str
    evidence: str | None
    captured_at: datetime
    effective_at: datetime
    recorded_at: datetime
    expires_at: datetime | None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "extra"}
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in d.items()}


def validate(ev: NewEvent, policy: Policy) -> str | None:
    """Why ``ev`` cannot be recorded, or None."""
    if ev.status not in STATUSES:
        return f"unknown status {ev.status!r}; one of {', '.join(STATUSES)}"
    if ev.purpose != WILDCARD and ev.purpose not in policy.purposes:
        return f"unknown purpose {ev.purpose!r}"
    if ev.channel != WILDCARD and ev.channel not in policy.channels:
        return f"unknown channel {ev.channel!r}"
    try:
        normalise(ev.id_type, ev.id_value)
    except C360Error as exc:
        return exc.message
    return interval_problem(ev.effective_at, ev.expires_at)


def interval_problem(effective_at: datetime | None, expires_at: datetime | None) -> str | None:
    """Why (effective_at, expires_at) is not an interval, or None (effective defaults to now)."""
    if expires_at is None:
        return None
    eff = effective_at or datetime.now(UTC)
    if to_us(expires_at) <= to_us(eff):
        return (
            f"expires_at {expires_at.isoformat()} is not after effective_at "
            f"{eff.isoformat()}: the fact would never be in force"
        )
    return None


def to_row(ev: NewEvent, recorded_us: int) -> dict[str, Any]:
    eff = to_us(ev.effective_at) if ev.effective_at else recorded_us
    return {
        "event_id": uuid.uuid4().hex,
        "id_type": ev.id_type,
        "id_value": normalise(ev.id_type, ev.id_value),
        "purpose": ev.purpose,
        "channel": ev.channel,
        "status": ev.status,
        "legal_basis": ev.legal_basis,
        "source_system": ev.source_system,
        "method": ev.method,
        "notice_hash": ev.notice_hash,
        "actor": ev.actor,
        "evidence": ev.evidence,
        "captured_at_us": to_us(ev.captured_at) if ev.captured_at else eff,
        "effective_at_us": eff,
        "recorded_at_us": recorded_us,
        "expires_at_us": to_us(ev.expires_at) if ev.expires_at else None,
        "capture_key": ev.capture_key,
    }


def insert_ignoring_duplicates(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows, skipping those whose unique ``capture_key`` already exists.

    Ledger rows that are inserted are folded into ``consent_current`` in the same transaction.
    """
    if not rows:
        return 0
    dialect = conn.dialect.name
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = mod.insert(table).on_conflict_do_nothing(index_elements=["capture_key"])
    inserted = 0
    for i in range(0, len(rows), 2000):
        chunk = list(rows[i : i + 2000])
        keys = [r["capture_key"] for r in chunk if r["capture_key"]]
        seen = {
            k
            for (k,) in conn.execute(
                select(table.c.capture_key).where(table.c.capture_key.in_(keys))
            )
        }
        fresh, batch = [], set()
        for r in chunk:
            k = r["capture_key"]
            if k is None or (k not in seen and k not in batch):
                fresh.append(r)
                if k:
                    batch.add(k)
        if fresh:
            conn.execute(stmt, fresh)
            if table is consent_events:
                current.upsert(conn, fresh)
            lineage.record(conn, table, fresh)
        inserted += len(fresh)
    return inserted


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if any(r["capture_key"] for r in rows):
        insert_ignoring_duplicates(conn, consent_events, rows)
    else:
        conn.execute(consent_events.insert(), rows)
        current.upsert(conn, rows)
        lineage.record(conn, consent_events, rows)


def row_to_event(r: Any) -> Event:
    m = r._mapping
    return Event(
        event_id=m["event_id"],
        id_type=m["id_type"],
        id_value=m["id_value"],
        purpose=m["purpose"],
        channel=m["channel"],
        status=m["status"],
        legal_basis=m["legal_basis"],
        source_system=m["source_system"],
        method=m["method"],
        notice_hash=m["notice_hash"],
        actor=m["actor"],
        evidence=m["evidence"],
        captured_at=from_us(m["captured_at_us"]),  # type: ignore[arg-type]
        effective_at=from_us(m["effective_at_us"]),  # type: ignore[arg-type]
        recorded_at=from_us(m["recorded_at_us"]),  # type: ignore[arg-type]
        expires_at=from_us(m["expires_at_us"]),
    )


class Ledger:
    """Append and read consent events."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def check(self, events: Sequence[NewEvent], policy: Policy) -> None:
        """Raise ``consent.invalid_event`` naming every event that cannot be recorded."""
        errors = [(i, err) for i, ev in enumerate(events) if (err := validate(ev, policy))]
        if errors:
            raise C360Error(
                "consent.invalid_event",
                f"{len(errors)} event(s) rejected; first: {errors[0][1]}",
                {"rejected": [{"index": i, "reason": e} for i, e in errors]},
                http_status=422,
            )

    def append(
        self, events: Iterable[NewEvent], policy: Policy, *, conn: Connection | None = None
    ) -> list[str]:
        """Validate every event, then append all in one transaction (or none).

        With ``conn`` the rows join the caller's transaction (which also audits them)."""
        evs = list(events)
        self.check(evs, policy)
        rec = now_us()
        rows = [to_row(ev, rec) for ev in evs]
        if conn is not None:
            _insert(conn, rows)
        else:
            with self.store.begin() as own:
                _insert(own, rows)
        return [r["event_id"] for r in rows]

    def history(
        self,
        golden_id: str | None = None,
        *,
        id_type: str | None = None,
        id_value: str | None = None,
        known_at: datetime | None = None,
    ) -> list[Event]:
        """Every event about a golden record (via all its identifiers) or one identifier."""
        t = consent_events
        q = select(t)
        if golden_id is not None:
            idx = consent_subject_index
            ids = select(idx.c.id_type, idx.c.id_value).where(idx.c.golden_id == golden_id)
            with self.store.begin() as conn:
                pairs = [(a, b) for a, b in conn.execute(ids)]
            pairs.append(("golden_id", golden_id))
            q = q.where(or_(*[and_(t.c.id_type == a, t.c.id_value == b) for a, b in set(pairs)]))
        elif id_type is not None and id_value is not None:
            q = q.where(t.c.id_type == id_type, t.c.id_value == normalise(id_type, id_value))
        if known_at is not None:
            q = q.where(t.c.recorded_at_us <= to_us(known_at))
        q = q.order_by(t.c.effective_at_us, t.c.recorded_at_us, t.c.event_id)
        with self.store.begin() as conn:
            return [row_to_event(r) for r in conn.execute(q)]


def read_events_csv(path: str | Path, policy: Policy, *, actor: str = "import") -> list[NewEvent]:
    """Parse a consent CSV (id_type, identifier, purpose, channel, status [, effective_at, expires_at,
    legal_basis, method, source_system, evidence]); every bad row is reported, none applied."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise C360Error("consent.bad_file", f"{p}: cannot read: {exc}") from exc
    out: list[NewEvent] = []
    rejected: list[dict[str, Any]] = []
    reader = csv.DictReader(text.splitlines())
    for raw in reader:
        n = reader.line_num
        r = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        try:
            ev = NewEvent(
                id_type=r.get("id_type", ""),
                id_value=r.get("identifier") or r.get("id_value", ""),
                purpose=r.get("purpose", ""),
                channel=r.get("channel", ""),
                status=r.get("status", ""),
                legal_basis=r.get("legal_basis") or "consent",
                method=r.get("method") or "import",
                source_system=r.get("source_system") or p.name,
                actor=actor,
                evidence=r.get("evidence") or None,
                effective_at=parse_time(r.get("effective_at") or None),
                expires_at=parse_time(r.get("expires_at") or None),
            )
        except C360Error as exc:
            rejected.append({"row": n, "reason": exc.message})
            continue
        if err := validate(ev, policy):
            rejected.append({"row": n, "reason": err})
            continue
        out.append(ev)
    if rejected:
        raise C360Error(
            "consent.import_rejected",
            f"{p}: {len(rejected)} row(s) rejected; nothing was imported",
            {"rejected": rejected},
            http_status=422,
        )
    return out
