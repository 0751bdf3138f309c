"""The HTTP collector on a real pipeline world: bad events, back-pressure, revocations."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from c360.api import create_app
from c360.stream import StreamService
from c360.workspace import Workspace
from tests.api.conftest import serve

from .helpers import allowed_by_email, consent_event, ts, unique_values

pytestmark = pytest.mark.slow


@dataclass
class Collector:
    ws: Workspace
    client: httpx.Client
    svc: StreamService

    def post(self, body: object) -> httpx.Response:
        return self.client.post("/v1/events", json=body)


@pytest.fixture
def collector(world: Workspace) -> Iterator[Collector]:
    world.config.api.rate_limit_per_second = 10_000
    world.config.api.rate_limit_burst = 10_000
    world.governance.principals.create("collector", "privacy", ["privacy"])
    token = world.governance.principals.issue_token("collector")
    world.governance.principals.create("mkt", "marketing", ["marketing"])
    world.governance.principals.issue_token("mkt")
    app = create_app(world)
    for url in serve(app):
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            yield Collector(world, client, StreamService(world))


def login(eid: str, customer_no: str, **over: object) -> dict[str, object]:
    ev: dict[str, object] = {
        "event_id": eid,
        "type": "track",
        "source": "digital_logins",
        "timestamp": ts(),
        "identifiers": {"source_key": f"core_customers:{customer_no}"},
        "payload": {
            "login_id": eid,
            "customer_no": customer_no,
            "at": "2026-01-02 10:00:00",
            "success": True,
        },
    }
    ev.update(over)
    return ev


def test_bad_events_get_a_clear_4xx_are_quarantined_and_the_loop_goes_on(
    collector: Collector,
) -> None:
    c = collector
    raw = c.client.post(
        "/v1/events", content=b'{"event_id": "x",', headers={"Content-Type": "application/json"}
    )
    assert raw.status_code == 400 and raw.json()["code"] == "stream.malformed_json"
    cases = {
        "stream.unknown_type": (login("b-1", "X1", type="pageview"), 422),
        "stream.missing_event_id": (
            {k: v for k, v in login("", "X1").items() if k != "event_id"},
            422,
        ),
        "stream.future_timestamp": (login("b-3", "X1", timestamp=ts(+3600)), 422),
        "stream.event_too_large": (login("b-4", "X1", payload={"device": "x" * 70_000}), 413),
    }
    for code, (event, status) in cases.items():
        r = c.post(event)
        assert r.status_code == status, (code, r.text)
        body = r.json()
        assert body["code"] == code and body["message"], body
    good = c.post(login("g-1", "X1"))
    assert good.status_code == 202 and good.json()["accepted"] == 1
    mixed = c.post({"events": [login("g-2", "X1"), login("b-5", "X1", source="nope")]})
    assert mixed.status_code == 207
    assert [r["status"] for r in mixed.json()["results"]] == [202, 422]

    batch = c.svc.apply_once()
    assert batch is not None and batch.applied == 2 and batch.quarantined == 6
    q = c.ws.lakehouse.read("quarantine", "stream_events").to_pylist()
    assert sorted(r["code"] for r in q) == sorted(
        [*cases, "stream.malformed_json", "stream.unknown_source"]
    )
    assert all(r["_reason"] for r in q)
    silver = c.ws.lakehouse.read("silver", "stream_events")
    assert sorted(silver["event_id"].to_pylist()) == ["g-1", "g-2"]
    # the loop keeps going after a batch with refused events
    assert c.post(login("g-3", "X1")).status_code == 202
    after = c.svc.apply_once()
    assert after is not None and after.applied == 1


def test_only_collector_roles_may_post(collector: Collector) -> None:
    url = str(collector.client.base_url)
    assert httpx.post(f"{url}/v1/events", json=login("a-1", "X1")).status_code == 401
    mkt = collector.ws.governance.principals.issue_token("mkt")
    r = httpx.post(
        f"{url}/v1/events", json=login("a-1", "X1"), headers={"Authorization": f"Bearer {mkt}"}
    )
    assert r.status_code == 403 and r.json()["code"] == "auth.forbidden"


def test_a_full_intake_answers_429_with_retry_after_until_the_loop_catches_up(
    collector: Collector,
) -> None:
    c = collector
    c.ws.config.stream.max_pending = 3
    assert c.post({"events": [login(f"p-{i}", "X1") for i in range(3)]}).status_code == 202
    time.sleep(0.3)  # the collector re-reads the pending count every 0.25 s
    busy = c.post(login("p-4", "X1"))
    assert busy.status_code == 429, busy.text
    assert int(busy.headers["Retry-After"]) >= 1 and busy.json()["code"] == "stream.busy"
    assert c.svc.apply_once() is not None
    time.sleep(0.3)
    assert c.post(login("p-4", "X1")).status_code == 202


def test_a_revocation_is_enforced_at_the_very_next_gate_check(collector: Collector) -> None:
    c = collector
    for i, (golden, email) in enumerate(allowed_by_email(c.ws, 10)):
        r = c.post(consent_event(f"rev-{i}", email))
        assert r.status_code == 202 and r.json()["consent_facts"] == 1
        d = c.ws.consent.check(golden, "marketing", "email")  # no micro-batch has run
        assert not d.allowed and "consent.revoked" in d.reasons, d


def test_an_sms_stop_revokes_every_purpose_on_sms_at_once(collector: Collector) -> None:
    c = collector
    golden, phone = unique_values(c.ws, "phone", 1)[0]
    stop = {
        "event_id": "sms-1",
        "type": "track",
        "source": "sms_consent",
        "timestamp": ts(),
        "identifiers": {"phone": phone},
        "payload": {
            "message_id": "M1",
            "phone": phone,
            "keyword": "stop",
            "received_at": "2026-01-02 10:00:00",
        },
    }
    assert c.post(stop).status_code == 202
    for purpose in ("marketing", "service"):
        d = c.ws.consent.check(golden, purpose, "sms")
        assert not d.allowed and "consent.revoked" in d.reasons, d
    # the same STOP sent again (a client retry) appends nothing
    again = c.post(stop)
    assert again.status_code == 202 and again.json()["consent_facts"] == 0


def test_an_event_posted_twice_is_applied_once(collector: Collector) -> None:
    c = collector
    body = json.dumps(login("dup-1", "X1")).encode()
    for _ in range(3):
        c.client.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
    b = c.svc.apply_once()
    assert b is not None and (b.applied, b.duplicates) == (1, 2)
    assert c.ws.lakehouse.count("bronze", "stream_events") == 3
    assert c.ws.lakehouse.count("silver", "stream_events") == 1
