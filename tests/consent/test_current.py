"""consent_current is maintained with every append; the set form's fast paths give the same answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from c360.consent import current
from c360.consent.ledger import NewEvent
from c360.consent.subjects import refresh_from
from c360.consent.tables import consent_current, consent_events
from c360.consent.vocab import now_us, to_us
from c360.workspace import Workspace

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)


def _current(ws: Workspace) -> set[tuple[Any, ...]]:
    with ws.store.begin() as conn:
        return {tuple(r) for r in conn.execute(select(consent_current))}


def _mixed_history(ws: Workspace) -> None:
    c = ws.consent
    c.set("G1", "marketing", "email", "granted", effective_at=T0)
    c.set("G1", "marketing", "email", "revoked", effective_at=T0 + timedelta(days=2))
    # a correction with the same effective time wins by recording time
    c.set("G1", "marketing", "email", "granted", effective_at=T0 + timedelta(days=2))
    # future-dated and wildcard facts
    c.record(
        [
            NewEvent("email", "Ann@Example.com", "*", "email", "denied", effective_at=T0),
            NewEvent(
                "phone",
                "(212) 555-0101",
                "marketing",
                "sms",
                "granted",
                method="written",
                effective_at=datetime.now(UTC) + timedelta(days=30),
            ),
            NewEvent("source_key", "crm_contacts:K1", "*", "*", "revoked", effective_at=T0),
        ]
    )


def test_current_equals_a_rebuild_from_the_ledger(people: Workspace) -> None:
    _mixed_history(people)
    rows = pa.table(
        {
            "event_id": [uuid.uuid4().hex for _ in range(3)],
            "id_type": ["email", "email", "golden_id"],
            "id_value": ["bob@example.com", "bob@example.com", "G2"],
            "purpose": ["marketing"] * 3,
            "channel": ["email"] * 3,
            "status": ["revoked", "granted", "denied"],
            "legal_basis": ["consent"] * 3,
            "source_system": ["bulk"] * 3,
            "method": ["web_form"] * 3,
            "notice_hash": pa.array([None] * 3, pa.string()),
            "actor": ["bulk"] * 3,
            "evidence": pa.array([None] * 3, pa.string()),
            "captured_at_us": [to_us(T0)] * 3,
            "effective_at_us": [to_us(T0) + 5, to_us(T0) + 1, to_us(T0)],
            "recorded_at_us": [now_us()] * 3,
            "expires_at_us": pa.array([None] * 3, pa.int64()),
            "capture_key": pa.array([None] * 3, pa.string()),
        }
    )
    with people.store.begin() as conn:
        assert current.bulk_append(conn, rows) == 3
    before = _current(people)
    with people.store.begin() as conn:
        n = current.rebuild(conn)
        events = conn.execute(select(consent_events.c.event_id)).all()
    assert before == _current(people) and n == len(before)
    assert len(events) == 9
    by_key = {r[:4]: r for r in before}
    assert by_key[("email", "bob@example.com", "marketing", "email")][5] == "revoked"
    assert by_key[("golden_id", "G1", "marketing", "email")][5] == "granted"
    assert {"consent.denied", "consent.revoked"} <= set(
        people.consent.check("G2", "marketing", "email").reasons
    )


def _answers(ws: Workspace, at: datetime, known_at: datetime | None) -> tuple[str, dict[str, Any]]:
    aud = pa.table({"golden_id": ["G1", "G2", "G3", "G9"]})
    out: dict[str, Any] = {}
    src = ""
    for p, ch in (("marketing", "email"), ("marketing", "sms"), ("service", "email")):
        res = ws.consent.audience(aud, p, ch, at, known_at=known_at, record=False)
        src = res.extra["facts_from"]
        rows = res.excluded.select(["golden_id", "reasons"]).to_pylist()
        out[f"{p}/{ch}"] = (
            sorted(res.allowed.column("golden_id").to_pylist()),
            sorted((r["golden_id"], tuple(r["reasons"])) for r in rows),
        )
        for g in ("G1", "G2", "G3", "G9"):
            d = ws.consent.check(g, p, ch, at, known_at=known_at)
            assert d.allowed == (g in out[f"{p}/{ch}"][0]), (g, p, ch, d.reasons)
    return src, out


def test_lakehouse_and_store_paths_agree_at_any_time(people: Workspace) -> None:
    mark = datetime.now(UTC)
    _mixed_history(people)
    people.consent.suppress("deceased", "email", "bob@example.com", effective_at=T0)
    times = [
        (datetime.now(UTC), None),  # the common case: current rows in force
        (T0 + timedelta(days=1), None),  # the past: stale keys re-ranked from the ledger
        (datetime.now(UTC) + timedelta(days=60), None),  # after the future-dated grant
        (datetime.now(UTC), mark),  # known before any of it was recorded
    ]
    lake = [_answers(people, at, k) for at, k in times]
    assert {src for src, _ in lake} == {"lakehouse"}
    # a refresh that does not update the lakehouse copy makes it stale: the store path answers
    links = people.lakehouse.read("gold", "identity_links")
    golden = people.lakehouse.read("gold", "golden_customers")
    refresh_from(people.store, links, golden)
    store = [_answers(people, at, k) for at, k in times]
    assert {src for src, _ in store} == {"store"}
    assert [a for _, a in lake] == [a for _, a in store]
    assert lake[0][1] != lake[3][1]  # knowledge time matters
