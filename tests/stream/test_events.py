"""The event envelope: each kind of bad event is refused with its own code and status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

from c360.config import load_contracts
from c360.stream.events import Refused, Schemas
from c360.stream.intake import Rejected, decode

CONTRACTS = Path(str(resources.files("c360.synth").joinpath("contracts")))
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return Schemas(load_contracts(CONTRACTS), ["marketing", "service"], ["email", "sms"])


def login(**over: object) -> dict[str, object]:
    ev: dict[str, object] = {
        "event_id": "e-1",
        "type": "track",
        "source": "digital_logins",
        "timestamp": "2026-03-01T11:59:00Z",
        "identifiers": {"source_key": "core_customers:C1", "email": " Ann@Example.COM "},
        "payload": {"login_id": "L1", "customer_no": "C1", "at": "2026-03-01 11:59:00"},
    }
    ev.update(over)
    return ev


def test_a_good_track_event_is_normalised(schemas: Schemas) -> None:
    ev = schemas.parse(login(), now=NOW)
    assert ev.identifiers == {"source_key": "core_customers:C1", "email": "ann@example.com"}
    assert ev.at == datetime(2026, 3, 1, 11, 59, tzinfo=UTC)
    # naive timestamps are UTC
    assert schemas.parse(login(timestamp="2026-03-01T11:59:00"), now=NOW).at == ev.at


@pytest.mark.parametrize(
    ("event", "code", "status"),
    [
        ([1, 2], "stream.not_an_object", 400),
        ({k: v for k, v in login().items() if k != "event_id"}, "stream.missing_event_id", 422),
        (login(event_id="has space"), "stream.bad_event_id", 422),
        (login(type="page"), "stream.unknown_type", 422),
        (login(source="nope"), "stream.unknown_source", 422),
        (login(timestamp="yesterday"), "stream.bad_timestamp", 422),
        (login(timestamp="2026-03-01T12:30:00Z"), "stream.future_timestamp", 422),
        (login(identifiers={"email": "not-an-email"}), "stream.bad_identifiers", 422),
        (login(identifiers={"ssn": "1"}), "stream.bad_identifiers", 422),
        (
            login(payload={"login_id": "L1", "at": "2026-03-01 11:59:00"}),
            "stream.payload_invalid",
            422,
        ),
        (
            login(payload={"login_id": "L1", "customer_no": "C1", "at": "03/01/2026"}),
            "stream.payload_invalid",
            422,
        ),
        (
            login(
                payload={"login_id": "L1", "customer_no": "C1", "at": "2026-03-01 11:59:00", "x": 1}
            ),
            "stream.payload_invalid",
            422,
        ),
        (login(extra=1), "stream.unknown_field", 422),
        (
            login(
                type="consent",
                payload={"purpose": "marketing", "channel": "fax", "status": "revoked"},
            ),
            "stream.payload_invalid",
            422,
        ),
        (login(type="identify", identifiers={}), "stream.missing_identifiers", 422),
    ],
)
def test_bad_events_are_refused_with_a_code(
    schemas: Schemas, event: object, code: str, status: int
) -> None:
    with pytest.raises(Refused) as info:
        schemas.parse(event, now=NOW)
    assert (info.value.code, info.value.status) == (code, status)
    assert info.value.message


def test_a_timestamp_within_the_clock_skew_is_accepted(schemas: Schemas) -> None:
    soon = (NOW + timedelta(seconds=60)).isoformat()
    assert schemas.parse(login(timestamp=soon), now=NOW).event_id == "e-1"


def test_decode_refuses_malformed_oversized_and_too_many() -> None:
    [bad] = decode(b'{"event_id": ', max_event_bytes=1000, max_events=10)
    assert isinstance(bad, Rejected) and bad.refused.code == "stream.malformed_json"
    assert bad.refused.status == 400 and bad.raw == '{"event_id": '
    big = b'{"event_id": "e-2", "payload": {"x": "' + b"a" * 2000 + b'"}}'
    [too_big] = decode(big, max_event_bytes=1000, max_events=10)
    assert isinstance(too_big, Rejected) and too_big.refused.status == 413
    assert too_big.refused.event_id == "e-2"
    many = b"[" + b",".join([b"{}"] * 11) + b"]"
    [refused] = decode(many, max_event_bytes=1000, max_events=10)
    assert isinstance(refused, Rejected) and refused.refused.code == "stream.too_many_events"
    items = decode(b'{"events": [{"a": 1}, {"b": 2}]}', max_event_bytes=1000, max_events=10)
    assert items == [{"a": 1}, {"b": 2}]
