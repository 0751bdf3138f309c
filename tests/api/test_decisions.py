"""Decision endpoints on the real pipeline world: next-best-action on request, the outcome
recorded once and visible in the decision log and the audit chain, HITL through the API,
aggregates for the roles that read them, and token expiry."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from .test_api import _error


def offered_decision(served) -> dict:
    """Ask for next steps customer by customer until the agent offers one (bounded)."""
    ids = served.ws.lakehouse.read("gold", "golden_customers", ["golden_id"])["golden_id"]
    with served.client("agent") as c:
        for gid in ids.to_pylist()[:80]:
            r = c.post("/v1/decisions/next-best-action", json={"golden_id": gid})
            assert r.status_code == 201, r.text
            if r.json()["status"] == "offered":
                return r.json()
    pytest.fail("no customer of the first 80 got an offered next step")


def test_next_best_action_is_logged_with_rationale_and_steps(served):
    d = offered_decision(served)
    assert d["rationale"].startswith("Trigger ")
    assert "Offered in context agent_desktop" in d["rationale"]
    assert [s["tool"] for s in d["steps"]][:3] == ["load_golden_record", "scores", "candidates"]
    assert d["consent_allowed"] is True and d["channel"]
    assert d["messages"] == []  # a person presents it: nothing goes to the outbox
    with served.client("agent") as c:
        log = c.get("/v1/decisions", params={"golden_id": d["golden_id"]}).json()
        one = c.get(f"/v1/decisions/{d['decision_id']}").json()
    assert d["decision_id"] in [r["decision_id"] for r in log["decisions"]]
    assert one["decision_id"] == d["decision_id"] and one["outcome"] is None


def test_accept_is_recorded_once_and_shows_in_the_log_and_audit(served):
    ws = served.ws
    d = offered_decision(served)
    with served.client("agent") as c:
        r = c.post(f"/v1/decisions/{d['decision_id']}/outcome", json={"outcome": "accepted"})
        assert r.status_code == 201, r.text
        assert r.json()["outcome"]["outcome"] == "accepted"
        assert r.json()["outcome"]["by"] == "api-agent"
        again = c.post(f"/v1/decisions/{d['decision_id']}/outcome", json={"outcome": "declined"})
        _error(again, 409, "decisioning.outcome_recorded")
        log = c.get("/v1/decisions", params={"golden_id": d["golden_id"]}).json()
    row = next(x for x in log["decisions"] if x["decision_id"] == d["decision_id"])
    assert row["outcome"]["outcome"] == "accepted"
    assert "outcome: accepted by api-agent" in ws.decisioning.log.explain(d["decision_id"])
    entries = ws.audit.query(action="decisioning.outcome.accepted", target=d["decision_id"])
    assert len(entries) == 1 and entries[0].actor == "api-agent"


def test_outcome_needs_an_offered_decision_and_a_known_answer(served):
    ws = served.ws
    batch = ws.decisioning.log.show(status="queued", limit=1) or ws.decisioning.log.show(
        status="no_action", limit=1
    )
    assert batch, "the pipeline run logged no batch decision"
    with served.client("agent") as c:
        r = c.post(f"/v1/decisions/{batch[0]['decision_id']}/outcome", json={"outcome": "accepted"})
        _error(r, 409, "decisioning.not_offered")
        r = c.post(f"/v1/decisions/{batch[0]['decision_id']}/outcome", json={"outcome": "maybe"})
        _error(r, 422, "api.invalid_request")
        gid = batch[0]["golden_id"]
        r = c.post("/v1/decisions/next-best-action", json={"golden_id": gid, "context": "mars"})
        _error(r, 422, "decisioning.unknown_context")
        _error(c.get("/v1/decisions/nope"), 404, "decision.not_found")


def test_hitl_task_through_the_api(served):
    ws = served.ws
    tasks = ws.decisioning.hitl.list("open", 5)
    assert tasks, "the pipeline run produced no HITL task in this world"
    t = tasks[0]
    with served.client("privacy") as c:
        listed = c.get("/v1/hitl/tasks").json()["tasks"]
        assert t["task_id"] in [x["task_id"] for x in listed]
        shown = c.get(f"/v1/hitl/tasks/{t['task_id']}").json()
        assert shown["decision"]["decision_id"] == t["decision_id"]
        r = c.post(f"/v1/hitl/tasks/{t['task_id']}/reject", json={"note": "not suitable"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "rejected" and r.json()["decided_by"] == "api-privacy"
        again = c.post(f"/v1/hitl/tasks/{t['task_id']}/approve", json={})
        _error(again, 409, "hitl.already_decided")
    with served.client("marketing", "marketing") as c:
        _error(c.get("/v1/hitl/tasks"), 403, "auth.forbidden")


def test_aggregates_for_marketing_not_for_the_agent(served):
    with served.client("marketing", "marketing") as c:
        k = c.get("/v1/kpis")
        assert k.status_code == 200, k.text
        assert k.json()["consent"]["violations"] == 0
        rep = c.get("/v1/experiments/nba/report")
        assert rep.status_code == 200, rep.text
        assert rep.json()["srm"]["observed"]["treatment"] > 0
        _error(c.get("/v1/experiments/nope/report"), 404, "experiments.not_found")
        st = c.get("/v1/activation/status")
        assert st.status_code == 200 and "by_channel" in st.json()
    with served.client("agent") as c:
        for path in ("/v1/kpis", "/v1/experiments/nba/report", "/v1/activation/status"):
            _error(c.get(path), 403, "auth.forbidden")


def test_an_expired_token_is_refused(served):
    ws = served.ws
    ws.governance.principals.create("api-shortlived", "agent", ["service"])
    token = ws.governance.principals.issue_token(
        "api-shortlived", expires_at=datetime.now(UTC) + timedelta(seconds=1.5)
    )
    with served.client(None) as c:
        h = {"Authorization": f"Bearer {token}"}
        assert (
            c.get("/v1/profiles", params={"email": "x@example.com"}, headers=h).status_code == 200
        )
        time.sleep(2.0)
        r = c.get("/v1/profiles", params={"email": "x@example.com"}, headers=h)
    _error(r, 401, "governance.token_expired")


def test_tokens_create_expires_on_the_cli(served):
    import json

    import typer
    from typer.testing import CliRunner

    from c360.cli import tokens

    app = typer.Typer()
    app.add_typer(tokens.app, name="tokens")
    ws = served.ws
    args = ["tokens", "create", "--principal", "api-cli", "--role", "agent", "--purposes"]
    res = CliRunner().invoke(
        app, [*args, "service", "--expires", "8h", "--json", "-w", str(ws.root)]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    left = datetime.fromisoformat(out["expires_at"]) - datetime.now(UTC)
    assert timedelta(hours=7, minutes=59) < left <= timedelta(hours=8)
    assert ws.governance.principals.authenticate(out["token"]).name == "api-cli"
    res = CliRunner().invoke(
        app, [*args, "service", "--expires", "2001-01-01T00:00:00", "-w", str(ws.root)]
    )
    assert res.exit_code != 0
    assert "not in the future" in str(res.exception) + res.output


def test_the_context_snapshot_is_rebuilt_when_a_run_is_recorded(served):
    from sqlalchemy import insert

    from c360.store.schema import runs

    od = served.ws.decisioning.ondemand
    first = od.snapshot()
    assert od.snapshot() is first  # nothing new: the same snapshot serves every request
    assert first.rows.num_rows == served.ws.lakehouse.read("gold", "golden_customers").num_rows
    with served.ws.store.begin() as conn:
        conn.execute(
            insert(runs).values(
                run_id="test-newer-run",
                kind="run",
                status="succeeded",
                started_at=datetime.now(UTC),
                finished_at=datetime.now(UTC),
                stages=[],
            )
        )
    assert od.snapshot() is not first


def test_next_best_action_answers_what_the_log_holds(served):
    """The answer is built from the rows written, not read back: it must be what the
    decision log then returns (offered, HITL and no-action decisions alike), and the
    decision's audit entry is committed with it."""
    ws = served.ws
    ids = ws.lakehouse.read("gold", "golden_customers", ["golden_id"])["golden_id"].to_pylist()
    seen: set[str] = set()
    with served.client("agent") as c:
        for gid in ids[:60]:
            r = c.post("/v1/decisions/next-best-action", json={"golden_id": gid})
            assert r.status_code == 201, r.text
            d = r.json()
            seen.add(d["status"])
            assert c.get(f"/v1/decisions/{d['decision_id']}").json() == d
            entries = ws.audit.query(action="decisioning.recommend", target=d["decision_id"])
            assert len(entries) == 1 and entries[0].actor == "api-agent"
            assert entries[0].details["status"] == d["status"]
    assert "offered" in seen and len(seen) >= 2, seen
