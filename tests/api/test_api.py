"""The HTTP API on a real pipeline world, through a real uvicorn: auth, masking through the
governed read path, role checks, JSON errors, limits, headers and an audit row per request."""

from __future__ import annotations

import json

import pyarrow.compute as pc
import pytest

from c360.api.app import SECURITY_HEADERS


def _some_golden(ws) -> dict:
    t = ws.lakehouse.read("gold", "golden_customers")
    t = t.filter(pc.and_(pc.invert(pc.is_null(t["email"])), pc.invert(pc.is_null(t["dob"]))))
    return t.slice(0, 1).to_pylist()[0]


def _error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code


def test_no_token_and_bad_token_are_401_json(served):
    gid = _some_golden(served.ws)["golden_id"]
    with served.client(None) as c:
        _error(c.get(f"/v1/profiles/{gid}"), 401, "auth.required")
        r = c.get(f"/v1/profiles/{gid}", headers={"Authorization": "Bearer c360_dead_beef"})
        _error(r, 401, "governance.unauthenticated")


def test_profile_is_masked_for_the_agent_exactly_as_the_governed_read(served):
    ws = served.ws
    g = _some_golden(ws)
    with served.client("agent") as c:
        r = c.get(f"/v1/profiles/{g['golden_id']}")
    assert r.status_code == 200, r.text
    got = r.json()
    agent = ws.governance.principals.get("api-agent")
    expected = ws.governance.read(
        agent, "gold", "golden_customers", "service", where={"golden_id": g["golden_id"]}
    ).to_pylist()[0]
    assert got["golden_id"] == g["golden_id"]
    assert got["dob"] != str(g["dob"])  # the agent sees the year only
    from fastapi.encoders import jsonable_encoder

    # the API writes UTC as "Z", Python's isoformat as "+00:00": the same instants
    same = json.loads(json.dumps(jsonable_encoder(expected)).replace("+00:00", "Z"))
    assert got == same


def test_marketing_sees_pii_masked(served):
    g = _some_golden(served.ws)
    with served.client("marketing", "marketing") as c:
        got = c.get(f"/v1/profiles/{g['golden_id']}").json()
    assert got["email"] != g["email"]
    assert g["email"] not in str(got)


def test_lookup_by_email_phone_and_source_key(served):
    ws = served.ws
    g = _some_golden(ws)
    link = ws.identity.links().filter(pc.equal(ws.identity.links()["golden_id"], g["golden_id"]))
    record = link["record_id"][0].as_py()
    with served.client("agent") as c:
        by_email = c.get("/v1/profiles", params={"email": g["email"].upper()}).json()
        by_key = c.get("/v1/profiles", params={"source_key": record}).json()
        none = c.get("/v1/profiles", params={"email": "nobody@nowhere.invalid"}).json()
        both = c.get("/v1/profiles", params={"email": g["email"], "phone": "1"})
    assert g["golden_id"] in [m["golden_id"] for m in by_email["matches"]]
    assert [m["golden_id"] for m in by_key["matches"]] == [g["golden_id"]]
    assert none == {"matches": []}
    _error(both, 422, "api.invalid_request")


def test_unknown_profile_is_404_json(served):
    with served.client("agent") as c:
        _error(c.get("/v1/profiles/G-NOPE"), 404, "profile.not_found")
        _error(c.get("/v1/nothing-here"), 404, "api.not_found")


@pytest.mark.parametrize(
    ("role", "method", "path", "allowed"),
    [
        ("agent", "GET", "/v1/audit", False),
        ("marketing", "GET", "/v1/review/tasks", False),
        ("steward", "GET", "/v1/review/tasks", True),
        ("governance", "GET", "/v1/audit", True),
        ("privacy", "GET", "/v1/audit/verify", True),
        ("marketing", "POST", "/v1/consent", False),
        ("agent", "GET", "/v1/consent/{gid}/history", False),
        ("privacy", "GET", "/v1/consent/{gid}/history", True),
    ],
)
def test_role_matrix(served, role, method, path, allowed):
    gid = _some_golden(served.ws)["golden_id"]
    body = {"golden_id": gid, "purpose": "marketing", "channel": "email", "status": "granted"}
    with served.client(role) as c:
        r = c.request(method, path.format(gid=gid), json=body if method == "POST" else None)
    if allowed:
        assert r.status_code == 200, r.text
    else:
        _error(r, 403, "auth.forbidden")


def test_purpose_outside_the_principal_is_refused(served):
    gid = _some_golden(served.ws)["golden_id"]
    with served.client("agent", "marketing") as c:
        _error(c.get(f"/v1/profiles/{gid}"), 403, "auth.purpose_not_allowed")


def test_privacy_revocation_is_seen_by_the_agent(served):
    gid = _some_golden(served.ws)["golden_id"]
    fact = {"golden_id": gid, "purpose": "marketing", "channel": "email", "status": "revoked"}
    with served.client("privacy") as c:
        r = c.post("/v1/consent", json=fact)
    assert r.status_code == 201, r.text
    with served.client("agent") as c:
        r = c.get(f"/v1/consent/{gid}/check", params={"purpose": "marketing", "channel": "email"})
    assert r.status_code == 200, r.text
    assert r.json()["allowed"] is False


def test_check_for_one_address_names_it_masked(served):
    g = _some_golden(served.ws)
    with served.client("agent") as c:
        q = {"purpose": "service", "channel": "email", "address": g["email"].upper()}
        r = c.get(f"/v1/consent/{g['golden_id']}/check", params=q)
        assert r.status_code == 200, r.text
        assert r.json()["address"].endswith("***@" + g["email"].split("@")[1])
        assert g["email"] not in r.text.lower()
        q["address"] = "nobody@example.com"
        r = c.get(f"/v1/consent/{g['golden_id']}/check", params=q)
    assert r.json()["allowed"] is False and r.json()["reasons"] == ["gate.unknown_address"]


def test_invalid_body_is_422_json(served):
    with served.client("privacy") as c:
        _error(
            c.post("/v1/consent", json={"golden_id": "x", "bogus": 1}), 422, "api.invalid_request"
        )


def test_body_over_the_limit_is_413(served):
    limit = served.ws.config.api.max_body_bytes
    with served.client("privacy") as c:
        r = c.post(
            "/v1/consent", content=b"x" * (limit + 1), headers={"content-type": "application/json"}
        )
    _error(r, 413, "api.body_too_large")


def test_security_headers_on_every_response(served):
    with served.client("agent") as c:
        for r in (c.get("/healthz"), c.get("/v1/profiles/G-NOPE")):
            for k, v in SECURITY_HEADERS.items():
                assert r.headers[k] == v


def test_every_request_is_audited_without_identifiers(served):
    ws = served.ws
    g = _some_golden(ws)
    before = len(ws.audit.query(action="api.request", limit=100_000))
    with served.client("agent") as c:
        c.get(f"/v1/profiles/{g['golden_id']}")
        c.get("/v1/profiles", params={"email": g["email"]})
    entries = ws.audit.query(action="api.request", limit=100_000)
    assert len(entries) == before + 2
    text = str([e.to_dict() for e in entries[-2:]])
    assert g["golden_id"] not in text and g["email"] not in text
    assert entries[-1].actor == "api-agent"


def test_a_requests_reads_are_committed_with_its_own_entry_before_the_answer(served):
    """The governed read's entry and the request's entry: next to each other in the chain
    (one transaction), read first, both committed by the time the caller has the answer."""
    ws = served.ws
    g = _some_golden(ws)
    with served.client("agent") as c:
        r = c.get(f"/v1/profiles/{g['golden_id']}")
        assert r.status_code == 200
        request, read = ws.audit.query(limit=2, newest_first=True)
    assert (read.action, read.target) == ("read", "gold.golden_customers")
    assert (request.action, request.target) == ("api.request", "GET /v1/profiles/{golden_id}")
    assert request.seq == read.seq + 1 and request.prev_hash == read.hash
    assert ws.audit.verify().ok


def test_rate_limit_answers_429_with_retry_after(world):
    from c360.api import create_app

    from .conftest import serve

    cfg = world.config.model_copy(
        update={
            "api": world.config.api.model_copy(
                update={"rate_limit_burst": 3, "rate_limit_per_second": 0.5}
            )
        }
    )
    world.config = cfg
    try:
        app = create_app(world)
    finally:
        pass
    import httpx

    for url in serve(app):
        with httpx.Client(base_url=url) as c:
            codes = [c.get("/v1/profiles/x").status_code for _ in range(6)]
            r = c.get("/v1/profiles/x")
        assert codes[:3] == [401, 401, 401]
        assert 429 in codes[3:]
        _error(r, 429, "api.rate_limited")
        assert int(r.headers["Retry-After"]) >= 1


def test_undo_needs_an_approved_merge(served):
    open_tasks = served.ws.identity.review_list("open", 1)
    task = open_tasks[0]["task_id"] if open_tasks else 999_999
    with served.client("steward") as c:
        r = c.post(f"/v1/review/tasks/{task}/undo", json={"reason": "two people"})
    if open_tasks:
        _error(r, 409, "identity.task_not_approved")
    else:
        _error(r, 404, "identity.task_not_found")
    with served.client("agent") as c:
        r = c.post(f"/v1/review/tasks/{task}/undo", json={"reason": "two people"})
    _error(r, 403, "auth.forbidden")
