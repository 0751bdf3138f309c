"""The event envelope and its validation: what the collector, NATS and replay accept.

An event is one JSON object::

    {"event_id": "e-1", "type": "track", "source": "digital_logins",
     "timestamp": "2026-01-05T09:30:00Z",
     "identifiers": {"source_key": "core_customers:C000123", "email": "a@b.org"},
     "payload": {"login_id": "L1", "customer_no": "C000123", "at": "...", "success": true}}

``type`` is ``track`` (a behavioural or consent-bearing event of an events source:
``source`` names a source contract with ``mode: events`` and the payload is checked
against its columns), ``identify`` (identifiers only: who this customer is) or
``consent`` (payload ``purpose``, ``channel``, ``status`` and optionally ``method``,
``legal_basis``: a consent fact about every identifier given). Identifiers are the
consent ledger's kinds: ``email``, ``phone``, ``source_key`` (``<source>:<key>``),
``golden_id``; each is normalised the way the ledger normalises it.

:func:`parse` returns an :class:`Event` or raises :class:`Refused` with a stable
code and the HTTP status the collector answers with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from c360.config import ColumnSpec as ContractColumn
from c360.config import Contract
from c360.consent.vocab import ID_TYPES, STATUSES, normalise
from c360.errors import C360Error

TYPES = ("track", "identify", "consent")
_EVENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
_ENVELOPE = {"event_id", "type", "source", "timestamp", "identifiers", "payload"}
_CONSENT_KEYS = {"purpose", "channel", "status", "method", "legal_basis", "evidence"}


class Refused(Exception):
    """An event the intake will not accept: ``code``, ``message``, HTTP ``status``."""

    def __init__(
        self, code: str, message: str, status: int = 422, event_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.event_id = code, message, status, event_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "status": self.status,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class Event:
    """An accepted event, identifiers normalised, timestamp in UTC."""

    event_id: str
    type: str
    source: str
    at: datetime
    identifiers: dict[str, str]
    payload: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The canonical form stored in the inbox (what the loop and the lake read)."""
        return json.dumps(
            {
                "event_id": self.event_id,
                "type": self.type,
                "source": self.source,
                "timestamp": self.at.isoformat().replace("+00:00", "Z"),
                "identifiers": self.identifiers,
                "payload": self.payload,
            },
            separators=(",", ":"),
            sort_keys=True,
        )


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("not an ISO-8601 string")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    at = datetime.fromisoformat(text)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class Schemas:
    """Event types and their payload schemas, from the workspace's source contracts."""

    def __init__(
        self,
        contracts: Mapping[str, Contract],
        purposes: tuple[str, ...] | list[str],
        channels: tuple[str, ...] | list[str],
        *,
        max_clock_skew_s: float = 300.0,
    ) -> None:
        self.sources = {s: c for s, c in contracts.items() if c.mode == "events"}
        self.purposes, self.channels = set(purposes), set(channels)
        self.skew = timedelta(seconds=max_clock_skew_s)

    def parse(self, raw: Any, *, now: datetime | None = None) -> Event:
        """Validate one decoded JSON value as an event (raises :class:`Refused`)."""
        if not isinstance(raw, dict):
            raise Refused("stream.not_an_object", "an event is a JSON object", 400)
        eid = raw.get("event_id")
        if eid is None or eid == "":
            raise Refused("stream.missing_event_id", "event_id is required", 422)
        if not isinstance(eid, str) or not _EVENT_ID.match(eid):
            raise Refused(
                "stream.bad_event_id",
                "event_id must be 1-128 characters of letters, digits, _ . : -",
                422,
            )
        unknown = sorted(set(raw) - _ENVELOPE)
        if unknown:
            raise Refused(
                "stream.unknown_field", f"unknown field(s): {', '.join(unknown)}", 422, eid
            )
        kind = raw.get("type")
        if kind not in TYPES:
            raise Refused(
                "stream.unknown_type",
                f"unknown type {kind!r}; one of {', '.join(TYPES)}",
                422,
                eid,
            )
        source = raw.get("source")
        if not isinstance(source, str) or not source.strip():
            raise Refused("stream.missing_source", "source is required", 422, eid)
        try:
            at = parse_time(raw.get("timestamp"))
        except (ValueError, TypeError):
            raise Refused(
                "stream.bad_timestamp",
                "timestamp must be ISO-8601 (e.g. 2026-01-05T09:30:00Z)",
                422,
                eid,
            ) from None
        now = now or datetime.now(UTC)
        if at > now + self.skew:
            raise Refused(
                "stream.future_timestamp",
                f"timestamp {at.isoformat()} is more than {self.skew.total_seconds():.0f} s "
                "in the future",
                422,
                eid,
            )
        identifiers = self._identifiers(raw.get("identifiers"), eid)
        payload = raw.get("payload") or {}
        if not isinstance(payload, dict):
            raise Refused("stream.bad_payload", "payload must be a JSON object", 422, eid)
        if kind == "track":
            payload = self._track(source, payload, eid)
        elif kind == "consent":
            payload = self._consent(payload, eid)
            if not identifiers:
                raise Refused(
                    "stream.missing_identifiers", "a consent event needs an identifier", 422, eid
                )
        elif not identifiers:
            raise Refused(
                "stream.missing_identifiers", "an identify event needs identifiers", 422, eid
            )
        return Event(eid, kind, source.strip(), at, identifiers, payload)

    # ------------------------------------------------------------------ parts
    @staticmethod
    def _identifiers(raw: Any, eid: str) -> dict[str, str]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise Refused("stream.bad_identifiers", "identifiers must be a JSON object", 422, eid)
        out: dict[str, str] = {}
        for kind, value in raw.items():
            if kind not in ID_TYPES:
                raise Refused(
                    "stream.bad_identifiers",
                    f"unknown identifier {kind!r}; one of {', '.join(ID_TYPES)}",
                    422,
                    eid,
                )
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise Refused(
                    "stream.bad_identifiers", f"identifier {kind} must be a string", 422, eid
                )
            try:
                out[kind] = normalise(kind, value)
            except C360Error as exc:
                raise Refused(
                    "stream.bad_identifiers", f"{kind}: {exc.message}", 422, eid
                ) from None
        return out

    def _track(self, source: str, payload: dict[str, Any], eid: str) -> dict[str, Any]:
        contract = self.sources.get(source)
        if contract is None:
            raise Refused(
                "stream.unknown_source",
                f"no events contract for source {source!r}; track sources: "
                f"{', '.join(sorted(self.sources)) or 'none'}",
                422,
                eid,
            )
        columns = {c.name: c for c in contract.columns}
        unknown = sorted(set(payload) - set(columns))
        if unknown:
            raise Refused(
                "stream.payload_invalid",
                f"{source}: unknown column(s) {', '.join(unknown)}",
                422,
                eid,
            )
        for col in contract.columns:
            value = payload.get(col.name)
            if value is None or value == "":
                if col.required:
                    raise Refused(
                        "stream.payload_invalid", f"{source}: {col.name} is required", 422, eid
                    )
                continue
            problem = _check_value(col, value)
            if problem:
                raise Refused(
                    "stream.payload_invalid", f"{source}: {col.name}: {problem}", 422, eid
                )
        return payload

    def _consent(self, payload: dict[str, Any], eid: str) -> dict[str, Any]:
        unknown = sorted(set(payload) - _CONSENT_KEYS)
        if unknown:
            raise Refused(
                "stream.payload_invalid",
                f"consent: unknown field(s) {', '.join(unknown)}",
                422,
                eid,
            )
        for key, allowed in (
            ("purpose", self.purposes | {"*"}),
            ("channel", self.channels | {"*"}),
            ("status", set(STATUSES)),
        ):
            value = payload.get(key)
            if value not in allowed:
                raise Refused(
                    "stream.payload_invalid",
                    f"consent: {key} {value!r} is not one of {', '.join(sorted(allowed))}",
                    422,
                    eid,
                )
        return payload


def _check_value(col: ContractColumn, value: Any) -> str | None:
    """Why ``value`` does not fit the contract column, or None."""
    kind = col.type
    if kind in ("string", "text"):
        if not isinstance(value, str):
            return "must be a string"
        if col.max_bytes is not None and len(value.encode()) > col.max_bytes:
            return f"longer than {col.max_bytes} bytes"
        if col.allowed is not None and value not in col.allowed:
            return f"not one of {', '.join(col.allowed)}"
        if col.pattern is not None and not re.fullmatch(col.pattern, value):
            return "does not match the column's pattern"
        return None
    if kind == "bool":
        ok = isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in _BOOLS)
        return None if ok else "must be true or false"
    if kind == "int":
        if isinstance(value, bool):
            return "must be an integer"
        if isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value)):
            return None
        return "must be an integer"
    if kind in ("float", "decimal"):
        if isinstance(value, bool):
            return "must be a number"
        if isinstance(value, int | float):
            return None
        try:
            float(str(value))
        except ValueError:
            return "must be a number"
        return None
    if not isinstance(value, str):
        return f"must be a {kind} string"
    try:
        if col.format:
            datetime.strptime(value, col.format)
        elif kind == "date":
            date.fromisoformat(value)
        else:
            parse_time(value)
    except ValueError:
        return f"not a {kind}" + (f" in format {col.format}" if col.format else "")
    return None


_BOOLS = {"true", "false", "t", "f", "y", "n", "yes", "no", "1", "0"}
