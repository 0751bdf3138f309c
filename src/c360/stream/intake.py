"""Accepting events: validate, apply consent at once, append to the inbox — one transaction.

Every intake (the HTTP collector, the NATS consumer, replay) calls
:meth:`Intake.accept`. Accepted events and refused ones (with their code and
reason, the raw text truncated) go to ``stream_inbox`` in arrival order; the
consent facts of accepted events are appended to the ledger in the same
transaction, so a STOP is enforced by the gate's very next check, before any
micro-batch runs. Nothing is held in memory between calls: the inbox is the
buffer, and when more than ``stream.max_pending`` accepted events wait for the
loop, :meth:`Intake.accept` raises ``stream.busy`` (HTTP 429 with Retry-After).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select

from c360.consent.vocab import now_us
from c360.errors import C360Error
from c360.stream import consent
from c360.stream.events import Refused, Schemas
from c360.stream.tables import stream_batches, stream_inbox

if TYPE_CHECKING:
    from c360.workspace import Workspace

RAW_KEEP = 4096  # bytes of a refused event kept in quarantine


@dataclass
class Outcome:
    """What happened to each event of one accept call, in order."""

    results: list[dict[str, Any]] = field(default_factory=list)
    consent_rows: int = 0
    dropped: int = 0  # events of erased data subjects: answered 202, never stored

    @property
    def accepted(self) -> int:
        return sum(1 for r in self.results if r["status"] == 202) - self.dropped

    @property
    def rejected(self) -> int:
        return len(self.results) - self.accepted - self.dropped

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "dropped": self.dropped,
            "consent_facts": self.consent_rows,
            "results": self.results,
        }


class Intake:
    """The one way events enter a workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.settings = ws.config.stream
        self._schemas: tuple[object, Schemas] | None = None
        self._pending: tuple[float, int] = (0.0, 0)
        self._tombstones = False  # someone was erased (tombstones are never removed)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ schemas
    def schemas(self) -> Schemas:
        """Event schemas from the contracts (re-read when a contract file changes)."""
        folder = self.ws.contracts_dir
        stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.y*ml")))
        if self._schemas is None or self._schemas[0] != stamp:
            pol = self.ws.consent.policy()
            schemas = Schemas(
                self.ws.contracts(),
                list(pol.purposes),
                list(pol.channels),
                max_clock_skew_s=self.settings.max_clock_skew_seconds,
            )
            self._schemas = (stamp, schemas)
        return self._schemas[1]

    def _formats(self, schemas: Schemas) -> dict[str, dict[str, str | None]]:
        return {s: {c.name: c.format for c in k.columns} for s, k in schemas.sources.items()}

    # ------------------------------------------------------------------ back-pressure
    def pending(self, *, max_age_s: float = 0.25) -> int:
        """Accepted events the loop has not applied yet (cached for ``max_age_s``)."""
        with self._lock:
            at, n = self._pending
            if time.monotonic() - at < max_age_s:
                return n
        with self.ws.store.begin() as conn:
            top = conn.execute(select(func.max(stream_inbox.c.position))).scalar() or 0
            done = conn.execute(select(func.max(stream_batches.c.last_position))).scalar() or 0
        n = max(0, int(top) - int(done))
        with self._lock:
            self._pending = (time.monotonic(), n)
        return n

    def check_room(self, incoming: int) -> None:
        """Refuse (429) when the inbox holds more unapplied events than allowed."""
        pending = self.pending()
        if pending + incoming > self.settings.max_pending:
            raise C360Error(
                "stream.busy",
                f"{pending} events wait to be applied (limit {self.settings.max_pending}); "
                "retry later",
                {"pending": pending, "retry_after_s": max(1.0, self.settings.interval_seconds)},
                http_status=429,
            )

    # ------------------------------------------------------------------ erased subjects
    def _erased(self, items: list[Any]) -> set[tuple[str, str]]:
        """Identifiers (kind, raw value) of ``items`` that belong to data subjects erased by
        a DSR (the keyed tombstones ingestion checks); their events are dropped, never
        stored. While nobody was ever erased, one cheap read per call says so (never a
        remembered "nobody": an erasure by another process must bite at the next event);
        once someone was, the identifiers are looked up on every call."""
        if not self._tombstones:
            self._tombstones = self.ws.governance.dsr.has_tombstones()
        if not self._tombstones:
            return set()
        pairs = sorted(
            {
                (str(k), v)
                for item in items
                if isinstance(item, dict) and isinstance(item.get("identifiers"), dict)
                for k, v in item["identifiers"].items()
                if isinstance(v, str) and v
            }
        )
        dsr, out = self.ws.governance.dsr, set()
        for kind in sorted({k for k, _ in pairs}):
            values = [v for k, v in pairs if k == kind]
            try:
                mask = dsr.erased_mask(kind, values)
            except C360Error:
                continue
            out |= {(kind, v) for v, hit in zip(values, mask, strict=True) if hit}
        return out

    # ------------------------------------------------------------------ accept
    def accept(
        self,
        items: list[Any],
        *,
        intake: str,
        check_room: bool = True,
        also: Callable[[Connection], None] | None = None,
    ) -> Outcome:
        """Validate and record ``items``: decoded JSON values, or :class:`Rejected` for
        ones that could not even be decoded (malformed, oversized). ``also`` writes more
        in the same store transaction (a landing file's batch record)."""
        if check_room:
            self.check_room(len(items))
        schemas = self.schemas()
        formats = self._formats(schemas)
        mappings = list(self.ws.config.consent.capture)
        rec = now_us()
        inbox: list[dict[str, Any]] = []
        ledger: list[dict[str, Any]] = []
        out = Outcome()
        erased = self._erased(items)
        for item in items:
            if isinstance(item, Rejected):
                refused, raw = item.refused, item.raw
            else:
                raw = _raw(item)
                try:
                    ev = schemas.parse(item)
                except Refused as exc:
                    refused = exc
                else:
                    raw_ids = item.get("identifiers") or {}
                    if erased and any((k, v) in erased for k, v in raw_ids.items()):
                        out.dropped += 1
                        out.results.append(
                            {"event_id": ev.event_id, "status": 202, "code": "dropped_erased"}
                        )
                        continue
                    rows = consent.rows_for(ev, mappings, formats, rec)
                    ledger.extend(rows)
                    inbox.append(_inbox_row(ev.event_id, intake, "accepted", ev.to_json(), rec))
                    out.results.append({"event_id": ev.event_id, "status": 202, "code": "accepted"})
                    continue
            inbox.append(
                _inbox_row(
                    refused.event_id,
                    intake,
                    "rejected",
                    raw[:RAW_KEEP],
                    rec,
                    code=refused.code,
                    reason=refused.message,
                )
            )
            out.results.append(refused.to_dict())
        with self.ws.store.begin() as conn:
            out.consent_rows = consent.append(conn, ledger)
            if inbox:
                conn.execute(stream_inbox.insert(), inbox)
            if also is not None:
                also(conn)
        if out.consent_rows:  # consent writes are audited, subjects as keyed hashes only
            kh = self.ws.tokenizer.keyed_hash
            self.ws.audit.append(
                "stream",
                "consent.write",
                "consent_events",
                {
                    "events": out.consent_rows,
                    "intake": intake,
                    "subjects": sorted({kh(f"{r['id_type']}:{r['id_value']}") for r in ledger}),
                },
            )
        return out


@dataclass(frozen=True)
class Rejected:
    """An item refused before it could be decoded (malformed JSON, oversized)."""

    refused: Refused
    raw: str


def _raw(item: Any) -> str:
    try:
        return json.dumps(item, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        return repr(item)


def _inbox_row(
    event_id: str | None,
    intake: str,
    status: str,
    body: str,
    rec: int,
    *,
    code: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "event_id": event_id[:128] if isinstance(event_id, str) else None,
        "intake": intake,
        "status": status,
        "code": code,
        "reason": reason,
        "body": body,
        "received_at_us": rec,
    }


def decode(body: bytes, *, max_event_bytes: int, max_events: int) -> list[Any]:
    """A collector body (one event, a JSON array, or ``{"events": [...]}``) as a list of
    decoded events; undecodable or oversized ones become :class:`Rejected`."""
    if len(body) > max_event_bytes * max_events:
        return [
            Rejected(
                Refused("stream.too_large", f"body over {max_event_bytes * max_events} bytes", 413),
                body[:RAW_KEEP].decode("utf-8", "replace"),
            )
        ]
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return [
            Rejected(
                Refused("stream.malformed_json", f"body is not valid JSON: {exc}", 400),
                body[:RAW_KEEP].decode("utf-8", "replace"),
            )
        ]
    many = isinstance(doc, list) or (isinstance(doc, dict) and set(doc) == {"events"})
    items = (doc if isinstance(doc, list) else doc["events"]) if many else [doc]
    if not isinstance(items, list):
        items = [items]
    if len(items) > max_events:
        return [
            Rejected(
                Refused(
                    "stream.too_many_events",
                    f"{len(items)} events in one request; at most {max_events}",
                    413,
                ),
                body[:RAW_KEEP].decode("utf-8", "replace"),
            )
        ]
    out: list[Any] = []
    for item in items:
        size = len(json.dumps(item, separators=(",", ":"), default=str).encode())
        if size > max_event_bytes:
            eid = item.get("event_id") if isinstance(item, dict) else None
            out.append(
                Rejected(
                    Refused(
                        "stream.event_too_large",
                        f"event of {size} bytes; at most {max_event_bytes}",
                        413,
                        eid if isinstance(eid, str) else None,
                    ),
                    _raw(item)[:RAW_KEEP],
                )
            )
        else:
            out.append(item)
    return out
