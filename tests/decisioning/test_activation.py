"""Activation through the outbox to real local receivers: faults, revocation, a killed drain.

Receivers run on 127.0.0.1 in the test process: a CRM REST endpoint (deduplicating on the
idempotency key, injecting 500s, timeouts, dropped connections, accept-then-fail and
permanent rejections) and an SMTP server (aiosmtpd). Messages come from real decisions
on the synthetic world.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from c360.activation.tables import deliveries, outbox
from c360.config import load_config
from c360.decisioning.tables import decisions
from c360.workspace import Workspace
from tests.decisioning.receivers import CrmReceiver, SmtpReceiver

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow


def configure(ws: Workspace, crm_url: str, smtp_port: int, **activation: Any) -> None:
    """Point agent_assisted at the CRM receiver and email at the SMTP receiver (file and process)."""
    path = ws.root / "c360.yaml"
    cfg = yaml.safe_load(path.read_text()) or {}
    cfg["decisioning"] = {
        "activation": {
            "max_attempts": 4,
            "backoff_base_s": 0.05,
            "backoff_max_s": 0.2,
            "channels": {
                "agent_assisted": {"adapter": "crm_rest", "url": crm_url, "timeout_s": 0.5},
                "email": {"adapter": "smtp", "port": smtp_port, "timeout_s": 2.0},
            },
            **activation,
        }
    }
    path.write_text(yaml.safe_dump(cfg))
    ws.config = load_config(ws.root)
    ws.decisioning.__dict__.pop("settings", None)


@pytest.fixture(scope="module")
def world(own_world: Workspace) -> Workspace:
    """This module's own copy of the pipeline's world (see ``own_world``)."""
    return own_world


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    s = SmtpReceiver()
    yield s
    s.close()


def _messages(ws: Workspace, decision_ids: list[str]) -> list[dict[str, Any]]:
    with ws.store.engine.connect() as conn:
        q = select(outbox).where(outbox.c.decision_id.in_(decision_ids))
        return [dict(r) for r in conn.execute(q).mappings()]


def _attempts(ws: Workspace, message_id: str) -> list[dict[str, Any]]:
    with ws.store.engine.connect() as conn:
        q = (
            select(deliveries)
            .where(deliveries.c.message_id == message_id)
            .order_by(deliveries.c.at_us)
        )
        return [dict(r) for r in conn.execute(q).mappings()]


def _new_messages(ws: Workspace) -> list[dict[str, Any]]:
    s = ws.decisioning.decide()
    msgs = _messages(ws, s["decision_ids"])
    assert len(msgs) >= 5, s["by_status"]
    return msgs


def _fault_of(key: str) -> str:
    return ["500", "timeout", "close", "accept_then_fail", "ok"][int(key[:8], 16) % 5]


def test_faults_retried_and_delivered_exactly_once(world: Workspace, smtp: SmtpReceiver) -> None:
    poison: set[str] = set()
    broken: set[str] = set()

    def fault(key: str, n: int) -> str:
        if key in poison:
            return "reject"
        if key in broken:
            return "500"
        return _fault_of(key) if n == 1 else "ok"

    crm = CrmReceiver(fault, delay=1.0)
    try:
        configure(world, crm.url, smtp.port)
        msgs = _new_messages(world)
        crm_msgs = [m for m in msgs if m["channel"] == "agent_assisted"]
        assert len(crm_msgs) >= 4
        poison.add(crm_msgs[0]["idempotency_key"])
        broken.add(crm_msgs[1]["idempotency_key"])
        rep = world.activation.drain(wait=True, max_seconds=120)
    finally:
        crm.close()
    after = {m["message_id"]: m for m in _messages(world, [m["decision_id"] for m in msgs])}
    faults_seen = set()
    for m in msgs:
        key, now = m["idempotency_key"], after[m["message_id"]]
        if key in poison:
            assert now["status"] == "dead" and "HTTP 422" in now["last_error"]
            assert key not in crm.accepted
        elif key in broken:
            assert now["status"] == "dead" and "gave up after 4 attempts" in now["last_error"]
            assert crm.hits[key] == 4
        elif m["channel"] == "agent_assisted":
            assert now["status"] == "delivered", now
            assert key in crm.accepted  # held once, however often it arrived
            f = _fault_of(key)
            faults_seen.add(f)
            tries = _attempts(world, m["message_id"])
            assert [t["outcome"] for t in tries][-1] == "delivered"
            assert len(tries) == (1 if f == "ok" else 2), (f, tries)
            if f == "accept_then_fail":
                assert crm.hits[key] == 2  # the retry hit a key the CRM already held
            assert tries[-1]["receipt"]["response"]["duplicate"] == (f == "accept_then_fail")
        elif m["channel"] == "email":
            assert now["status"] == "delivered", (now["status"], now["last_error"])
            assert smtp.hits[key] == 1 and smtp.accepted[key]["to"]
    assert {"500", "timeout", "close", "accept_then_fail"} <= faults_seen | {"ok"} or len(
        crm_msgs
    ) < 8
    assert rep.dead == 2 and rep.retried >= 3
    assert world.activation.violations() == []
    status = world.activation.status()
    reasons = {d["last_error"] for d in status["dead_letters"]}
    assert any("HTTP 422" in r for r in reasons) and any("gave up" in r for r in reasons)


def test_revocation_between_decision_and_send_stops_the_send(
    world: Workspace, smtp: SmtpReceiver
) -> None:
    crm = CrmReceiver()
    try:
        configure(world, crm.url, smtp.port)
        msgs = _new_messages(world)
        victim = msgs[0]
        world.consent.set(
            victim["golden_id"], victim["purpose"], victim["channel"], "revoked", evidence="test"
        )
        world.activation.drain(wait=True, max_seconds=60)
    finally:
        crm.close()
    after = {m["message_id"]: m for m in _messages(world, [m["decision_id"] for m in msgs])}
    v = after[victim["message_id"]]
    assert v["status"] == "blocked" and "consent.revoked" in v["last_error"]
    assert (
        victim["idempotency_key"] not in crm.accepted
        and victim["idempotency_key"] not in smtp.accepted
    )
    tries = _attempts(world, victim["message_id"])
    assert [t["outcome"] for t in tries] == ["blocked"] and tries[0]["gate_allowed"] is False
    others = [
        m
        for m in msgs
        if m["golden_id"] != victim["golden_id"] or m["channel"] != victim["channel"]
    ]
    assert others and all(after[m["message_id"]]["status"] == "delivered" for m in others)
    # the zero-violation proof: every delivery had an allowing activation gate decision at send time
    assert world.activation.violations() == []


def test_killed_mid_drain_recovers_exactly_once(world: Workspace, smtp: SmtpReceiver) -> None:
    crm = CrmReceiver(pace=0.15)
    try:
        configure(world, crm.url, smtp.port)
        msgs = _new_messages(world)
        env = {**os.environ, "C360_TOKEN_KEY": "d" * 40}
        proc = subprocess.Popen(
            [sys.executable, "-m", "c360", "activate", "-w", str(world.root), "--json"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 120
        while len(crm.accepted) < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        mid = {
            m["message_id"]: m["status"] for m in _messages(world, [m["decision_id"] for m in msgs])
        }
        assert "pending" in mid.values()  # killed before the end
        world.activation.drain(wait=True, max_seconds=120)
    finally:
        crm.close()
    after = _messages(world, [m["decision_id"] for m in msgs])
    assert all(m["status"] == "delivered" for m in after), [m["status"] for m in after]
    for m in after:
        held = crm.accepted if m["channel"] == "agent_assisted" else smtp.accepted
        assert m["idempotency_key"] in held  # none lost; a dict holds each key once
    resent = [k for k, n in crm.hits.items() if n > 1]
    # at most the send batch in flight when killed (sent, outcome not yet written),
    # each deduplicated by its key
    assert len(resent) <= world.decisioning.settings.activation.batch_size
    assert world.activation.violations() == []


def test_decisions_choose_only_channels_activation_can_reach(world: Workspace) -> None:
    """With only agent_assisted configured, no message is queued for email (it could only die).

    Before the fix the agent chose the first consented channel of an action whatever the
    activation settings said, so most messages of a CRM-only deployment went to dead letters.
    """
    path = world.root / "c360.yaml"
    before = path.read_text()
    cfg = yaml.safe_load(before) or {}
    cfg["decisioning"] = {
        "activation": {
            "channels": {"agent_assisted": {"adapter": "crm_rest", "url": "http://127.0.0.1:9/"}}
        }
    }
    path.write_text(yaml.safe_dump(cfg))
    world.config = load_config(world.root)
    world.decisioning.__dict__.pop("settings", None)
    try:
        s = world.decisioning.decide()
    finally:
        path.write_text(before)
        world.config = load_config(world.root)
        world.decisioning.__dict__.pop("settings", None)
    with world.store.engine.connect() as conn:
        logged = [
            dict(r)
            for r in conn.execute(
                select(decisions).where(decisions.c.decision_id.in_(s["decision_ids"]))
            ).mappings()
        ]
    msgs = _messages(world, s["decision_ids"])
    assert msgs and {m["channel"] for m in msgs} == {"agent_assisted"}
    reasons = [r for d in logged for c in d["candidates"] for r in c["reasons"]]
    # email-only education is never chosen; the cross-sell falls back to the agent desktop
    assert "channel: no activation adapter for email" in reasons
    chosen = {(d["chosen_action"], d["channel"]) for d in logged if d["status"] == "queued"}
    assert chosen and all(ch == "agent_assisted" for _, ch in chosen), chosen
    assert ("cross_sell_credit_card", "agent_assisted") in chosen or (
        "retain_fee_waiver",
        "agent_assisted",
    ) in chosen


def test_file_export_parquet_and_csv_exactly_once(world: Workspace) -> None:
    """Batch uploads: agent_assisted to Parquet files, email to CSV; a resend adds nothing."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = world.root / "c360.yaml"
    cfg = yaml.safe_load(path.read_text()) or {}
    cfg["decisioning"] = {
        "activation": {
            "batch_size": 7,
            "channels": {
                "agent_assisted": {
                    "adapter": "file",
                    "path": "exports/upload",
                    "format": "parquet",
                },
                "email": {"adapter": "file", "path": "exports/upload", "format": "csv"},
            },
        }
    }
    path.write_text(yaml.safe_dump(cfg))
    world.config = load_config(world.root)
    world.decisioning.__dict__.pop("settings", None)
    msgs = _new_messages(world)
    rep = world.activation.drain(wait=False)
    folder = world.root / "exports" / "upload"
    parts = sorted(folder.glob("agent_assisted-*.parquet"))
    pq_keys = [k for f in parts for k in pq.read_table(f).column("key").to_pylist()]
    crm = {m["idempotency_key"] for m in msgs if m["channel"] == "agent_assisted"}
    assert crm and set(pq_keys) >= crm and len(pq_keys) == len(set(pq_keys))
    assert len(parts) >= 2  # one file per send batch (7 messages at most)
    assert not list(folder.glob("*.tmp"))
    t = pq.read_table(parts[0])
    assert t.column_names == ["key", "golden_id", "action", "channel", "purpose", "title"]
    mail = {m["idempotency_key"] for m in msgs if m["channel"] == "email"}
    if mail:
        csv_keys = pacsv.read_csv(folder / "email.csv").column("key").to_pylist()
        assert set(csv_keys) >= mail and len(csv_keys) == len(set(csv_keys))
    assert rep.delivered >= len(msgs) and world.activation.violations() == []
    # a crash after the files were written but before the outcomes: the batch is sent again
    victims = [m["message_id"] for m in msgs[:3]]
    with world.store.begin() as conn:
        conn.execute(
            outbox.update().where(outbox.c.message_id.in_(victims)).values(status="pending")
        )
    again = world.activation.drain(wait=False)
    assert again.delivered == 3
    keys_after = [
        k
        for f in sorted(folder.glob("agent_assisted-*.parquet"))
        for k in pq.read_table(f).column("key").to_pylist()
    ]
    assert sorted(keys_after) == sorted(pq_keys)  # nothing written twice
    last = _attempts(world, victims[0])[-1]
    assert last["outcome"] == "delivered" and last["receipt"]["duplicate"] is True
    # the export is declared, so a data-subject request finds and erases its rows
    rel = parts[0].relative_to(world.root).as_posix()
    assert world.declarations.find(f"file:{rel}") is not None


def test_outbox_status_cli(world: Workspace) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "c360", "outbox", "status", "-w", str(world.root)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "C360_TOKEN_KEY": "d" * 40},
    )
    assert r.returncode == 0, r.stderr
    assert "without an allowing gate decision at send time: 0" in r.stdout


def test_lineage_reaches_activation(world: Workspace) -> None:
    from c360.activation.lineage import delivery_node

    with world.store.engine.connect() as conn:
        mid = (
            conn.execute(select(outbox.c.message_id).where(outbox.c.status == "delivered"))
            .scalars()
            .first()
        )
    assert mid, "an earlier test delivers messages"
    node = world.governance.tracer.trace(delivery_node(mid), actor="test")
    kinds: set[str] = set()

    def walk(n: Any) -> None:
        kinds.add(n.kind)
        for p in n.parents:
            walk(p)

    walk(node)
    assert {"delivery", "decision", "golden", "source_record", "batch", "landing_file"} <= kinds, (
        kinds
    )
    assert node.data["gate_decision_at_send"] and node.data["last_outcome"] == "delivered"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "c360",
            "lineage",
            "trace",
            "--delivery",
            mid,
            "-w",
            str(world.root),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "C360_TOKEN_KEY": "d" * 40},
    )
    assert r.returncode == 0 and "landing_file" in r.stdout, r.stderr
