"""Operational-store tables of decisioning: audiences, builds, the decision log, HITL tasks.

Append-only where it matters: an audience change is a new version, every build a
new row, every decision a new row; a HITL task's status is the only field that
changes (open → approved | rejected), and the decision log shows it by join.
Times are UTC epoch microseconds. The frozen migration ``0800_decisioning``
creates these (and the activation and experiment tables); a test checks both agree.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text

from c360.lakehouse.declarations import declare, declare_store
from c360.store.schema import metadata

audiences = Table(
    "audiences",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("filter", Text, nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("description", Text),
    Column("created_at_us", BigInteger, nullable=False),
    Column("created_by", String(120), nullable=False),
)

audience_builds = Table(
    "audience_builds",
    metadata,
    Column("build_id", String(32), primary_key=True),
    Column("name", String(80), nullable=False),
    Column("version", Integer, nullable=False),
    Column("as_of", String(10), nullable=False),
    Column("built_at_us", BigInteger, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("before", BigInteger, nullable=False),
    Column("after", BigInteger, nullable=False),
    Column("excluded", JSON, nullable=False),
    Column("gate_decision_id", String(32), nullable=False),
    Column("policy_version", String(80), nullable=False),
    Column("run_id", String(40)),
    Index("ix_audience_builds_name", "name", "built_at_us"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", String(32), primary_key=True),
    Column("golden_id", String(40), nullable=False),
    Column("trigger", String(80), nullable=False),
    Column("trigger_evidence", JSON, nullable=False),
    Column("as_of", String(10), nullable=False),
    Column("decided_at_us", BigInteger, nullable=False),
    Column("feature_hash", String(64), nullable=False),
    Column("models", JSON, nullable=False),
    Column("consent_decision_id", String(32)),
    Column("consent_allowed", Boolean, nullable=False),
    Column("consent_reasons", JSON, nullable=False),
    Column("candidates", JSON, nullable=False),
    Column("chosen_action", String(80), nullable=False),
    Column("purpose", String(40)),
    Column("channel", String(20)),
    Column("status", String(20), nullable=False),
    Column("rationale", Text, nullable=False),
    Column("llm", JSON),
    Column("experiment", String(80)),
    Column("arm", String(20)),
    Column("policy_versions", JSON, nullable=False),
    Column("steps", JSON, nullable=False),
    Column("run_id", String(40)),
    Index("ix_decisions_golden", "golden_id", "decided_at_us"),
    # capacity accounting counts decisions per action and status on every request
    Index("ix_decisions_action_status", "chosen_action", "status"),
)

hitl_tasks = Table(
    "hitl_tasks",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("decision_id", String(32), nullable=False, index=True),
    Column("golden_id", String(40), nullable=False),
    Column("action_id", String(80), nullable=False),
    Column("channel", String(20)),
    Column("reasons", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("decided_at_us", BigInteger),
    Column("decided_by", String(120)),
    Column("note", Text),
)

ALL_TABLES = (audiences, audience_builds, decisions, hitl_tasks)


# ---------------------------------------------------------------------- declarations
declare_store(audiences, owner="decisioning")
declare_store(audience_builds, owner="decisioning")
declare_store(
    decisions,
    owner="decisioning",
    default="derived",
    columns={
        "golden_id": ("derived", "golden_id"),
        "rationale": "pii",
        "llm": "pii",
        "trigger_evidence": "pii",
    },
)
declare_store(
    hitl_tasks,
    owner="decisioning",
    columns={"golden_id": ("derived", "golden_id"), "note": "pii", "reasons": "derived"},
)
declare(
    "gold.audiences",
    owner="decisioning",
    columns={
        "audience": "none",
        "audience_version": "none",
        "build_id": "none",
        "golden_id": ("derived", "golden_id"),
        "purpose": "none",
        "channel": "none",
        "as_of": "none",
        "built_at": "none",
    },
)
