"""Kill -9 of ``c360 stream`` at random points during a replay: every event applied once.

CI replays 3,000 events; ``C360_STREAM_KILL_EVENTS=100000`` runs the issue's full size.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from c360.consent.tables import consent_events, consent_subject_index
from c360.consent.vocab import normalise, to_us
from c360.decisioning import decisions
from c360.stream import StreamService
from c360.stream.apply import checksum
from c360.stream.replay import read_truth
from c360.stream.tables import stream_applied, stream_batches, stream_firings, stream_identifiers
from c360.workspace import Workspace

pytestmark = pytest.mark.slow
EVENTS = int(os.environ.get("C360_STREAM_KILL_EVENTS", "3000"))
SRC = str(Path(__file__).parents[2] / "src")


def _c360(ws: Workspace, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC, "C360_WORKSPACE": str(ws.root)}
    return subprocess.Popen(
        [sys.executable, "-m", "c360", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_kill_9_during_a_replay_applies_every_event_exactly_once(
    store: str, request: pytest.FixtureRequest
) -> None:
    world: Workspace = request.getfixturevalue("world" if store == "sqlite" else "pg_world")
    rng = random.Random(5)
    with world.store.begin() as conn:
        owner = dict(
            conn.execute(
                select(consent_subject_index.c.id_value, consent_subject_index.c.golden_id).where(
                    consent_subject_index.c.id_type == "source_key"
                )
            ).all()
        )
    rate = max(1000, EVENTS // 6)
    # the events span one hour; the triggers count per UTC day, so an hour that crossed
    # midnight (the default start, two hours ago, between 01:00 and 02:00) would split a
    # customer's failed logins over two windows: the hour starts on today's midnight, or
    # two hours before it when today is not an hour old yet
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight if now - midnight >= timedelta(hours=1) else midnight - timedelta(hours=2)
    replay = _c360(
        world,
        "replay",
        *("-n", str(EVENTS), "--rate", str(rate), "--name", "kill"),
        *("--start", start.strftime("%Y-%m-%dT%H:%M:%S")),
    )
    kills = 0
    while replay.poll() is None or kills < 3:
        loop = _c360(world, "stream", "--batch-size", "250", "--interval", "0.2")
        time.sleep(rng.uniform(0.8, 2.5))
        if loop.poll() is None:
            loop.send_signal(signal.SIGKILL)
            kills += 1
        loop.wait()
        if kills >= 8:
            break
    assert replay.wait(timeout=600) == 0, replay.stderr.read() if replay.stderr else ""
    final = _c360(world, "stream", "--until-idle", "--batch-size", "1000")
    assert final.wait(timeout=600) == 0, final.stderr.read() if final.stderr else ""
    assert kills >= 3

    truth = read_truth(world.truth_dir / "stream" / "kill.json")
    with world.store.begin() as conn:
        applied = [x for (x,) in conn.execute(select(stream_applied.c.event_id))]
        pending = conn.execute(
            select(func.count()).where(stream_batches.c.status != "committed")
        ).scalar()
        new_goldens = conn.execute(
            select(func.count(func.distinct(stream_identifiers.c.golden_id))).where(
                stream_identifiers.c.outcome == "new"
            )
        ).scalar()
        attached = dict(
            conn.execute(
                select(stream_identifiers.c.id_value, stream_identifiers.c.golden_id).where(
                    stream_identifiers.c.outcome == "attached"
                )
            ).all()
        )
        ce = consent_events.c
        ledger = conn.execute(
            select(
                ce.id_type,
                ce.id_value,
                ce.purpose,
                ce.channel,
                ce.status,
                ce.effective_at_us,
                ce.evidence,
            )
        ).all()
    assert (len(applied), len(set(applied))) == (truth["events"], truth["events"])
    assert checksum(applied) == truth["checksum"]
    assert pending == 0
    silver = world.lakehouse.read("silver", "stream_events", ["event_id"])["event_id"].to_pylist()
    assert len(silver) == truth["events"] and checksum(silver) == truth["checksum"]
    bronze = world.lakehouse.count("bronze", "stream_events")
    assert bronze >= truth["sent"]  # every accepted send, re-sends included
    # a new e-mail of a known customer attaches to that customer's golden record; one
    # golden record per person nobody knew (and per unknown source record), not one per
    # retry or restart
    known = [a for a in truth["attach"] if a["source_key"] in owner]
    assert {a["email"]: attached.get(a["email"]) for a in known} == {
        a["email"]: owner[a["source_key"]] for a in known
    }
    unknown_keys = len({a["source_key"] for a in truth["attach"]} - set(owner))
    assert new_goldens == truth["new_people"] + unknown_keys

    # every consent change of the stream is in the ledger exactly once. Two STOPs from one
    # phone in the same second are one fact (batch capture's idempotency key: subject,
    # status and time), so SMS changes are compared by fact, consent events by event id.
    def fact(c: dict[str, object]) -> tuple[object, ...]:
        value = normalise(str(c["id_type"]), str(c["identifier"]))
        head = (c["id_type"], value, c["purpose"], c["channel"], c["status"])
        if c["id_type"] == "phone":
            at = datetime.strptime(str(c["at"]), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            return (*head, to_us(at))
        return (*head, c["event_id"])

    recorded = Counter(
        (t, v, p, ch, st, at if t == "phone" else ev.split()[1])
        for t, v, p, ch, st, at, ev in ledger
        if ev and ev.startswith("event ")
    )
    wanted = {fact(c) for c in truth["consent"]}
    assert wanted and recorded == Counter(wanted)
    _every_firing_decided_once(world)
    # the killed-and-restarted micro-batches decided identity as one batch pass would
    rec = StreamService(world).reconcile()
    assert rec.equal, rec.to_dict()


def _expected_firings(ws: Workspace) -> set[tuple[str, str, int]]:
    """(trigger, golden id, window) the packaged stream triggers must fire, counted
    independently from the events zone (each event once, with its golden id)."""
    rows = ws.lakehouse.read(
        "silver", "stream_events", ["event_id", "source", "event_at", "golden_id", "payload"]
    ).to_pylist()
    size = ws.config.stream.trigger_window_seconds * 1_000_000
    where = {
        r["event_id"]: (r["golden_id"], to_us(r["event_at"]) // size * size)
        for r in rows
        if r["golden_id"] is not None
    }
    failed: Counter[tuple[str, int]] = Counter()
    out = set()
    for r in rows:
        if r["event_id"] not in where:
            continue
        payload = json.loads(r["payload"])
        if r["source"] == "digital_logins" and payload.get("success") is False:
            failed[where[r["event_id"]]] += 1
        if r["source"] == "sms_consent" and payload.get("keyword") == "STOP":
            out.add(("sms_stop", *where[r["event_id"]]))
    out |= {("failed_login_run", *k) for k, n in failed.items() if n >= 3}
    with ws.store.begin() as conn:
        si = stream_identifiers.c
        attached = {e for (e,) in conn.execute(select(si.event_id).where(si.outcome == "attached"))}
    out |= {("new_email", *where[e]) for e in attached}
    return out


def _every_firing_decided_once(ws: Workspace) -> None:
    """Each (trigger, customer, window) fired once; each firing of a customer the decision
    context holds has exactly one decision, and no stream decision lacks its firing."""
    with ws.store.begin() as conn:
        fired = conn.execute(select(stream_firings)).all()
        made = conn.execute(
            select(decisions.c.decision_id, decisions.c.golden_id, decisions.c.trigger).where(
                decisions.c.run_id == "stream"
            )
        ).all()
    expected = _expected_firings(ws)
    assert {t for t, _, _ in expected} == {"failed_login_run", "new_email", "sms_stop"}
    assert {(f.trigger, f.golden_id, int(f.window_start_us)) for f in fired} == expected
    # the context a firing met is the one its stream process built when it started: the
    # last run's customers, plus the people earlier processes created and folded into
    # gold.golden_customers before being killed. So a customer of the run is always decided;
    # a person the stream created is decided or not depending on where the kills fell (a
    # fold, then a restart, then their event); nobody else is ever decided
    with ws.store.begin() as conn:
        si = stream_identifiers.c
        created = {g for (g,) in conn.execute(select(si.golden_id).where(si.outcome == "new"))}
    in_context = set(ws.decisioning.ondemand.snapshot().index) - created
    for f in fired:
        if f.golden_id in in_context:
            assert f.status == "decided", f
        elif f.golden_id in created:
            assert f.status in ("decided", "no_context"), f
        else:
            assert f.status == "no_context", f
    by_decision: dict[str, set[tuple[str, int]]] = {}
    for f in fired:
        if f.decision_id:
            by_decision.setdefault(f.decision_id, set()).add((f.golden_id, f.window_start_us))
    assert all(len(v) == 1 for v in by_decision.values())  # one decision per customer-window
    assert len(made) == len({d.decision_id for d in made}) == len(by_decision)
    assert {d.decision_id for d in made} == set(by_decision)
    triggers = {(f.decision_id, f.trigger) for f in fired}
    assert all((d.decision_id, d.trigger) in triggers for d in made)
