"""Consent facts carried by events, as consent-ledger rows ready to append.

Two kinds of event carry consent:

- ``consent`` events: the payload's purpose, channel and status about every
  identifier the event names (an opt-out from the preference centre, a revocation
  taken by an agent);
- ``track`` events of a source that the consent capture mappings read
  (``consent.capture`` in c360.yaml: the SMS platform's STOP/START keywords, the
  ESP's unsubscribes). The mapping turns the event's payload into the same fact
  batch capture would, with the same idempotency key, so an event streamed now
  and the same row ingested tonight append one ledger row, not two.

Rows are appended with :func:`c360.consent.ledger.insert_ignoring_duplicates`, which
folds them into ``consent_current`` in the same transaction: the gate's next check
sees them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from c360.consent.ledger import insert_ignoring_duplicates
from c360.consent.tables import consent_events
from c360.consent.vocab import normalise, to_us
from c360.errors import C360Error
from c360.settings.consent import CaptureSource
from c360.stream.events import Event


def _pick(candidates: str | list[str], payload: dict[str, Any]) -> Any:
    for c in [candidates] if isinstance(candidates, str) else candidates:
        if payload.get(c) not in (None, ""):
            return payload[c]
    return None


def _payload_time(event: Event, src: CaptureSource, formats: dict[str, str | None]) -> int:
    """The mapping's time column as epoch µs (UTC, as batch capture reads it), else the event's."""
    cands = [src.at] if isinstance(src.at, str) else list(src.at)
    for c in cands:
        raw = event.payload.get(c)
        if raw in (None, ""):
            continue
        try:
            fmt = formats.get(c)
            at = datetime.strptime(str(raw), fmt) if fmt else datetime.fromisoformat(str(raw))
        except ValueError:
            continue
        return to_us(at.replace(tzinfo=UTC) if at.tzinfo is None else at)
    return to_us(event.at)


def rows_for(
    event: Event,
    mappings: Iterable[CaptureSource],
    formats: dict[str, dict[str, str | None]],
    recorded_us: int,
) -> list[dict[str, Any]]:
    """Ledger rows for one accepted event (none for events that carry no consent)."""
    if event.type == "consent":
        p = event.payload
        at = to_us(event.at)
        return [
            _row(
                id_type,
                value,
                p["purpose"],
                p["channel"],
                p["status"],
                at,
                recorded_us,
                method=str(p.get("method") or "stream"),
                legal_basis=str(p.get("legal_basis") or "consent"),
                source_system=event.source,
                actor="stream",
                evidence=f"event {event.event_id}",
                key=hashlib.sha256(f"stream|{event.event_id}|{id_type}".encode()).hexdigest(),
            )
            for id_type, value in sorted(event.identifiers.items())
        ]
    if event.type != "track":
        return []
    out = []
    for src in mappings:
        if src.table != event.source or src.target != "ledger":
            continue
        if any(
            str(event.payload.get(k, "")).strip().lower() != v.lower() for k, v in src.where.items()
        ):
            continue
        raw = _pick(src.status, event.payload)
        status = {k.lower(): v for k, v in src.values.items()}.get(str(raw or "").strip().lower())
        if status is None:
            continue
        subject = _pick(src.subject, event.payload)
        if subject is None:
            subject = event.identifiers.get(src.subject_type)
        if subject is None:
            continue
        value = f"{src.source}:{subject}" if src.subject_type == "source_key" else str(subject)
        try:
            norm = normalise(src.subject_type, value)
        except C360Error:
            continue
        at_us = _payload_time(event, src, formats.get(event.source, {}))
        key = hashlib.sha256(
            f"{src.name}|{src.subject_type}|{norm}|{src.purpose}|{src.channel}|{status}|{at_us}".encode()
        ).hexdigest()
        out.append(
            _row(
                src.subject_type,
                norm,
                src.purpose,
                src.channel,
                status,
                at_us,
                recorded_us,
                method=src.method,
                legal_basis="consent",
                source_system=src.table,
                actor=f"capture:{src.name}",
                evidence=f"event {event.event_id} {str(raw).strip().lower()}",
                key=key,
            )
        )
    return out


def _row(
    id_type: str,
    value: str,
    purpose: str,
    channel: str,
    status: str,
    at_us: int,
    recorded_us: int,
    *,
    method: str,
    legal_basis: str,
    source_system: str,
    actor: str,
    evidence: str,
    key: str,
) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "id_type": id_type,
        "id_value": value,
        "purpose": purpose,
        "channel": channel,
        "status": status,
        "legal_basis": legal_basis,
        "source_system": source_system,
        "method": method,
        "notice_hash": None,
        "actor": actor,
        "evidence": evidence,
        "captured_at_us": at_us,
        "effective_at_us": at_us,
        "recorded_at_us": recorded_us,
        "expires_at_us": None,
        "capture_key": key,
    }


def append(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Append ledger rows in the caller's transaction, skipping ones already recorded."""
    return insert_ignoring_duplicates(conn, consent_events, rows) if rows else 0
