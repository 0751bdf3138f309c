"""Operational-store tables of activation: the transactional outbox and every delivery attempt.

A decision and its outbox row are written in one transaction (the outbox pattern):
nothing is sent from the decision path, the drain sends later and at least once,
and the idempotency key makes the receiver's view exactly once. ``deliveries`` is
append-only: one row per attempt with its outcome, the gate decision taken right
before it, and the receipt — the evidence of the zero-violation proof.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from c360.lakehouse.declarations import ColumnSpec, declare, declare_store
from c360.store.schema import metadata

outbox = Table(
    "outbox",
    metadata,
    Column("message_id", String(32), primary_key=True),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("decision_id", String(32), nullable=False, index=True),
    Column("golden_id", String(40), nullable=False),
    Column("action_id", String(80), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # pending | delivered | dead | blocked
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at_us", BigInteger, nullable=False),
    Column("leased_until_us", BigInteger),
    Column("created_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    Column("last_error", Text),
    Index("ix_outbox_due", "status", "next_attempt_at_us"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("attempt_id", String(32), primary_key=True),
    Column("message_id", String(32), nullable=False, index=True),
    Column("idempotency_key", String(64), nullable=False),
    Column("golden_id", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("adapter", String(20), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("outcome", String(20), nullable=False),  # delivered | failed | blocked | dead
    Column("gate_decision_id", String(32)),
    Column("gate_allowed", Boolean, nullable=False),
    Column("error", Text),
    Column("receipt", JSON),
    Column("at_us", BigInteger, nullable=False),
)

ALL_TABLES = (outbox, deliveries)


# ---------------------------------------------------------------------- declarations
declare_store(
    outbox,
    owner="activation",
    columns={"golden_id": ("derived", "golden_id"), "payload": "pii", "last_error": "pii"},
)
declare_store(
    deliveries,
    owner="activation",
    columns={"golden_id": ("derived", "golden_id"), "error": "pii", "receipt": "pii"},
)
# Files the channel adapters write under the workspace (default paths): batch exports for
# uploads (CSV, Parquet) and the agent-desktop feed (JSON lines). They name people only by
# golden id; a data-subject request finds and rewrites them like any declared file.
_EXPORT: dict[str, ColumnSpec] = {
    "key": "derived",
    "golden_id": ("derived", "golden_id"),
    "action": "none",
    "channel": "none",
    "purpose": "none",
    "title": "none",
}
declare("file:exports/*/*.csv", owner="activation", columns=_EXPORT)
declare("file:exports/*/*.parquet", owner="activation", columns=_EXPORT)
declare(
    "file:feeds/*.jsonl",
    owner="activation",
    columns={**_EXPORT, "decision_id": "derived", "rationale": "pii"},
)
