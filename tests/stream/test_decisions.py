"""Stream triggers fire the next-best-action flow on a real pipeline world: the decision
sees the event that fired it, goes through the consent gate and HITL routing, is logged
with its rationale, and is taken once per (trigger, customer, event window)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from c360.decisioning import decisions, hitl_tasks
from c360.decisioning.steps import feature_hash
from c360.kpi import compute as compute_kpis
from c360.stream import StreamService
from c360.stream.tables import stream_firings
from c360.workspace import Workspace

from .helpers import source_key_of, ts, unique_values

pytestmark = pytest.mark.slow


def login(eid: str, key: str, ok: bool, at: str | None = None) -> dict[str, Any]:
    return {
        "event_id": eid,
        "type": "track",
        "source": "digital_logins",
        "timestamp": at or ts(),
        "identifiers": {"source_key": key},
        "payload": {
            "login_id": eid,
            "customer_no": key.split(":", 1)[1],
            "at": "2026-01-02 10:00:00",
            "success": ok,
        },
    }


def firings(ws: Workspace, golden_id: str | None = None) -> list[Any]:
    q = select(stream_firings)
    if golden_id:
        q = q.where(stream_firings.c.golden_id == golden_id)
    with ws.store.begin() as conn:
        return list(conn.execute(q).all())


def decisions_of(ws: Workspace, golden_id: str) -> list[Any]:
    with ws.store.begin() as conn:
        return list(
            conn.execute(
                select(decisions).where(
                    decisions.c.golden_id == golden_id, decisions.c.run_id == "stream"
                )
            ).all()
        )


def core_customers(ws: Workspace, *, senior: bool) -> list[str]:
    """Golden ids of core customers in the decision context, seniors or not."""
    snap = ws.decisioning.ondemand.snapshot()
    age = ws.config.decisioning.senior_age
    return [
        r["golden_id"]
        for r in snap.rows.select(["golden_id", "age", "is_core_customer"]).to_pylist()
        if r["is_core_customer"] and r["age"] is not None and (r["age"] >= age) == senior
    ]


def test_a_run_of_failed_logins_fires_once_and_the_decision_sees_it(world: Workspace) -> None:
    svc = StreamService(world)
    g, other = core_customers(world, senior=False)[:2]
    key, key2 = source_key_of(world, g), source_key_of(world, other)
    svc.accept([login("f-1", key, False), login("f-2", key, False), login("f-3", key2, False)])
    svc.accept([login("f-4", key2, False), login("f-5", key, True)])
    assert svc.apply_once() is not None
    assert firings(world) == []  # two failed logins each: nothing fires
    svc.accept([login("f-6", key, False)])  # the third, in a later batch
    batch = svc.apply_once()
    assert batch is not None and batch.fired == {"pending": 1, "no_context": 0}
    assert batch.decisions == 1 and batch.decision_p99_ms is not None
    (f,) = firings(world)
    assert (f.trigger, f.golden_id, f.status) == ("failed_login_run", g, "decided")
    (d,) = decisions_of(world, g)
    assert d.decision_id == f.decision_id and d.trigger == "failed_login_run"
    # the decision saw the event that fired it: the third failed login is in its evidence
    assert d.trigger_evidence["window_failed_logins"] == 3
    assert d.trigger_evidence["window_logins"] == 1
    assert d.trigger_evidence["stream_failed_logins"] == 3
    # ... and its inputs: the stream's counters are part of the feature snapshot it hashed
    loaded = d.steps[0]["output"]
    assert loaded["stream"]["window_failed_logins"] == 3
    row = {
        k: v
        for k, v in world.decisioning.ondemand.snapshot().row(g).items()
        if not k.startswith("_e_")
    }
    assert d.feature_hash == feature_hash({**row, **loaded["stream"]})
    assert d.feature_hash != feature_hash(row)
    tools = [s["tool"] for s in d.steps]
    assert tools[:5] == [
        "load_golden_record",
        "scores",
        "candidates",
        "eligibility",
        "consent_gate",
    ]
    assert d.consent_decision_id and "failed_login_run" in d.rationale
    # more failed logins in the same window: no second decision
    svc.accept([login(f"f-{i}", key, False) for i in range(7, 10)])
    svc.apply_once()
    assert len(decisions_of(world, g)) == 1 and len(firings(world, g)) == 1
    st = svc.status()
    assert st["firings"] == {"decided": 1} and st["decision_events"] == 1
    assert st["decision_p50_ms"] is not None and st["decision_p50_ms"] > 0
    kpi = compute_kpis(world)["stream"]
    assert kpi["decision_p99_ms"] == st["decision_p99_ms"]


def test_a_senior_is_routed_to_a_human_and_a_new_window_fires_again(world: Workspace) -> None:
    svc = StreamService(world)
    g = core_customers(world, senior=True)[0]
    key = source_key_of(world, g)
    svc.accept([login(f"s-{i}", key, False) for i in range(3)])
    svc.accept([login(f"y-{i}", key, False, ts(-2 * 86400)) for i in range(3)])  # two days ago
    svc.apply_once()
    fs = firings(world, g)
    assert len(fs) == 2 and len({f.window_start_us for f in fs}) == 2
    ds = decisions_of(world, g)
    assert {d.decision_id for d in ds} == {f.decision_id for f in fs}
    assert all(d.status == "hitl" for d in ds)
    with world.store.begin() as conn:
        tasks = conn.execute(
            select(hitl_tasks).where(hitl_tasks.c.decision_id.in_([d.decision_id for d in ds]))
        ).all()
    assert len(tasks) == 2 and all(t.status == "open" for t in tasks)


def test_new_email_and_sms_stop_fire_their_triggers(world: Workspace) -> None:
    svc = StreamService(world)
    core = set(core_customers(world, senior=False))
    g = next(iter(sorted(core)))
    key = source_key_of(world, g)
    gp, phone = next((x, p) for x, p in unique_values(world, "phone", 2000) if x in core and x != g)
    svc.accept(
        [
            {
                "event_id": "n-1",
                "type": "identify",
                "source": "mobile_app",
                "timestamp": ts(),
                "identifiers": {"source_key": key, "email": "fresh.one@stream.example.com"},
            },
            {
                "event_id": "n-2",
                "type": "track",
                "source": "sms_consent",
                "timestamp": ts(),
                "identifiers": {"phone": phone},
                "payload": {
                    "message_id": "SM1",
                    "phone": phone,
                    "keyword": "STOP",
                    "received_at": "2026-01-02 10:00:00",
                    "short_code": "72345",
                },
            },
        ]
    )
    svc.apply_once()
    assert [(f.trigger, f.status) for f in firings(world, g)] == [("new_email", "decided")]
    assert [(f.trigger, f.status) for f in firings(world, gp)] == [("sms_stop", "decided")]
    (d,) = decisions_of(world, gp)
    # the STOP reached the ledger at intake, so the gate the decision asked denies SMS
    assert d.trigger == "sms_stop" and d.channel != "sms"
    assert world.consent.check(gp, "marketing", "sms").allowed is False


def test_a_decision_left_undone_by_a_crash_is_taken_once_on_restart(
    world: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from c360.stream import apply

    svc = StreamService(world)
    g = core_customers(world, senior=False)[0]
    key = source_key_of(world, g)
    svc.accept([login(f"c-{i}", key, False) for i in range(3)])
    # the process dies after the batch committed its firing, before the decision
    monkeypatch.setattr(apply, "decide_safely", lambda ws, snap=None: apply.decide.Decided())
    svc.apply_once()
    (f,) = firings(world, g)
    assert f.status == "pending" and decisions_of(world, g) == []
    monkeypatch.undo()
    fresh = Workspace.open(world.root)  # the restart: a new process, recover() first
    try:
        StreamService(fresh).apply_once()
        StreamService(fresh).apply_once()
        (f,) = firings(fresh, g)
        assert f.status == "decided"
        assert [d.decision_id for d in decisions_of(fresh, g)] == [f.decision_id]
    finally:
        fresh.close()


def test_the_stream_provides_every_column_a_stream_trigger_may_read() -> None:
    from c360.decisioning.triggers import STREAM_COLUMNS
    from c360.stream.decide import STREAM_TOTALS
    from c360.stream.windows import COUNTERS

    assert set(STREAM_COLUMNS) == {f"window_{c}" for c in COUNTERS} | set(STREAM_TOTALS)


def test_without_golden_records_the_stream_applies_and_fires_nothing(tmp_path: Any) -> None:
    ws = Workspace.init(tmp_path / "ws", template="bank-demo")  # no run yet
    try:
        svc = StreamService(ws)
        key = "core_customers:CB0000001"
        svc.accept([login(f"z-{i}", key, False) for i in range(3)])
        batch = svc.apply_once()
        assert batch is not None and batch.applied == 3 and batch.decisions == 0
        assert firings(ws) == []
    finally:
        ws.close()


def test_a_pending_firing_whose_customer_left_the_context_is_not_decided(
    world: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update

    from c360.stream import apply

    svc = StreamService(world)
    g = core_customers(world, senior=False)[0]
    svc.accept([login(f"m-{i}", source_key_of(world, g), False) for i in range(3)])
    monkeypatch.setattr(apply, "decide_safely", lambda ws, snap=None: apply.decide.Decided())
    svc.apply_once()
    monkeypatch.undo()
    # before it is decided, a batch run merges the customer away (its id leaves the context)
    with world.store.begin() as conn:
        conn.execute(
            update(stream_firings)
            .where(stream_firings.c.golden_id == g)
            .values(golden_id="G-merged-away")
        )
    StreamService(world).apply_once()  # restart: recover() decides what is pending
    (f,) = firings(world, "G-merged-away")
    assert f.status == "no_context" and f.decision_id is None
    assert decisions_of(world, "G-merged-away") == []
