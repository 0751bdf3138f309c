"""Operational-store tables of identity resolution: the steward review queue and constraints.

``review_tasks`` holds pairs that scored in the review band; a decision turns
into a row of ``link_constraints`` (must-link on approve, cannot-link on
reject) that every later run honours. Both tables are append-only in spirit:
a task changes status once; a constraint is deactivated, never deleted.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, Integer, String, Table, Text

from c360.store.schema import metadata

review_tasks = Table(
    "review_tasks",
    metadata,
    Column("task_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), nullable=False),
    Column("record_id_l", String(400), nullable=False, index=True),
    Column("record_id_r", String(400), nullable=False, index=True),
    Column("golden_id_l", String(40)),
    Column("golden_id_r", String(40)),
    Column("probability", Float, nullable=False),
    Column("match_weight", Float, nullable=False),
    Column("detail", JSON),
    Column("status", String(20), nullable=False),  # open | approved | rejected | superseded
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(200)),
    Column("reason", Text),
)

link_constraints = Table(
    "link_constraints",
    metadata,
    Column("constraint_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # must_link | cannot_link
    Column("record_id_l", String(400), nullable=False, index=True),
    Column("record_id_r", String(400), nullable=False, index=True),
    Column("task_id", Integer),
    Column("created_by", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False),
)
