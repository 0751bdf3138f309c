"""The next-best-action agent on the synthetic world: decisions, HITL routing, evidence, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import select

from c360.activation.tables import outbox
from c360.decisioning.tables import decisions, hitl_tasks
from c360.errors import C360Error
from c360.workspace import Workspace


def _c360(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "c360", *args, "-w", str(ws.root)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _rows(ws: Workspace, table: Any, *where: Any) -> list[dict[str, Any]]:
    with ws.store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).where(*where)).mappings()]


def _run_decisions(ws: Workspace) -> list[dict[str, Any]]:
    """Decisions written by the pipeline's decisioning stage (the fixture's `c360 run`)."""
    from c360.store.schema import runs

    with ws.store.engine.connect() as conn:
        run_id = (
            conn.execute(select(runs.c.run_id).order_by(runs.c.started_at.desc())).scalars().first()
        )
    return _rows(ws, decisions, decisions.c.run_id == run_id)


def test_every_firing_is_decided_with_its_evidence(world: Workspace) -> None:
    fired = world.decisioning.evaluate_triggers()
    logged = _run_decisions(world)
    assert fired and {f.golden_id for f in fired} == {d["golden_id"] for d in logged}
    assert len(logged) == len(fired)
    by_id = {f.golden_id: f for f in fired}
    for d in logged:
        f = by_id[d["golden_id"]]
        assert d["trigger"] == f.trigger
        assert len(d["feature_hash"]) == 64
        assert [s["tool"] for s in d["steps"]][:4] == [
            "load_golden_record",
            "scores",
            "candidates",
            "eligibility",
        ]
        assert {"consent_gate", "priority", "contact_policy", "suitability", "experiment_arm"} <= {
            s["tool"] for s in d["steps"]
        }
        assert {c["action"] for c in d["candidates"]} >= {"no_action"}
        assert d["policy_versions"]["catalogue"] and d["policy_versions"]["consent"]
        assert d["arm"] in ("holdout", "treatment")
        assert f.trigger in d["rationale"]
        # no score table yet: never invented, said so
        assert all(m["status"] == "unavailable" for m in d["models"])
        assert "Scores unavailable" in d["rationale"]
        if d["status"] == "queued":
            assert d["consent_allowed"] and d["chosen_action"] != "no_action"
            chosen = next(c for c in d["candidates"] if c["action"] == d["chosen_action"])
            assert chosen["reasons"] == []
    statuses = {d["status"] for d in logged}
    assert "queued" in statuses and "hitl" in statuses


def test_sensitive_customers_go_to_a_human_never_to_the_outbox(world: Workspace) -> None:
    svc = world.decisioning
    fired = svc.evaluate_triggers()
    # make two triggered adults of working age protected (vulnerable list), then decide again for them
    with world.engine.fork() as con:
        ctx = svc.register_context(con, svc.data_as_of())
        t = con.query(f"SELECT golden_id, age FROM {ctx.view}")
        ages = dict(zip(t.column(0).to_pylist(), t.column(1).to_pylist(), strict=True))
    adults = [
        f.golden_id
        for f in fired
        if ages.get(f.golden_id) is not None and 25 <= ages[f.golden_id] < 60
    ]
    protected = adults[:2]
    for g in protected:
        world.consent.suppress("vulnerable", "golden_id", g, reason="test: protected segment")
    from c360.consent import stage

    stage.run(world)  # refreshes gold.golden_consent (suppression flags)
    s = svc.decide(golden_ids=protected)
    assert s["fired"] == len(protected)
    new = _rows(world, decisions, decisions.c.decision_id.in_(s["decision_ids"]))
    for d in new:
        assert d["status"] == "hitl", d["rationale"]
        task = _rows(world, hitl_tasks, hitl_tasks.c.decision_id == d["decision_id"])
        assert task and "suitability.protected" in task[0]["reasons"]
        assert "suppressed.vulnerable" in task[0]["reasons"]
    # over every decision ever made: each minor / senior / protected customer is a HITL task, never queued
    sens = svc.settings
    all_d = _rows(world, decisions)
    flagged = 0
    for d in all_d:
        age = ages.get(d["golden_id"])
        is_protected = d["golden_id"] in protected and d["decision_id"] in s["decision_ids"]
        if (age is not None and (age < sens.minor_age or age >= sens.senior_age)) or is_protected:
            flagged += 1
            assert d["status"] == "hitl", (age, d["rationale"])
            assert _rows(world, hitl_tasks, hitl_tasks.c.decision_id == d["decision_id"])
            assert not _rows(world, outbox, outbox.c.decision_id == d["decision_id"])
    assert flagged >= 3
    queued = [d for d in all_d if d["status"] == "queued"]
    assert queued and all(
        _rows(world, outbox, outbox.c.decision_id == d["decision_id"]) for d in queued
    )


def test_hitl_cli_approve_reject(world: Workspace) -> None:
    tasks = world.decisioning.hitl.list()
    assert len(tasks) >= 2
    listed = _c360(world, "hitl", "list", "--json")
    assert {t["task_id"] for t in json.loads(listed.stdout)} == {t["task_id"] for t in tasks}
    a, b = tasks[0], tasks[1]
    shown = _c360(world, "hitl", "show", a["task_id"])
    assert shown.returncode == 0 and "candidates:" in shown.stdout
    r = json.loads(
        _c360(
            world, "hitl", "approve", a["task_id"], "--note", "spoke to customer", "--json"
        ).stdout
    )
    d = world.decisioning.log.get(a["decision_id"])
    sendable = d["chosen_action"] != "no_action" and d["arm"] != "holdout"
    assert (r["enqueued"] is not None) == sendable
    assert d["hitl"]["status"] == "approved" and d["hitl"]["note"] == "spoke to customer"
    again = _c360(world, "hitl", "approve", a["task_id"])
    assert again.returncode == 1 and "hitl.already_decided" in again.stderr
    _c360(world, "hitl", "reject", b["task_id"])
    assert not _rows(world, outbox, outbox.c.decision_id == b["decision_id"])
    assert world.decisioning.log.get(b["decision_id"])["hitl"]["status"] == "rejected"


def test_decisions_cli_show_and_explain(world: Workspace) -> None:
    rows = json.loads(_c360(world, "decisions", "show", "--status", "queued", "--json").stdout)
    assert rows and all(r["status"] == "queued" for r in rows)
    ex = _c360(world, "decisions", "explain", rows[0]["decision_id"])
    assert ex.returncode == 0
    for part in (
        "trigger",
        "consent decision",
        "candidates:",
        "rationale:",
        "tool calls:",
        "policy versions",
    ):
        assert part in ex.stdout
    bad = _c360(world, "decisions", "explain", "nope")
    assert bad.returncode == 1 and "decisioning.unknown_decision" in bad.stderr
    with pytest.raises(C360Error):
        world.decisioning.log.get("nope")
