"""Operational-store tables of experiments: definitions, assignments and observed outcomes.

Assignment is a pure function of (salt, golden_id) so the table is a record, not
the source of truth: re-assigning gives the same arm. Outcomes carry a capture key
so re-capturing the same event appends nothing.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, String, Table, Text

from c360.lakehouse.declarations import declare_store
from c360.store.schema import metadata

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", String(80), primary_key=True),
    Column("salt", String(80), nullable=False),
    Column("holdout_share", Float, nullable=False),
    Column("description", Text),
    Column("created_at_us", BigInteger, nullable=False),
)

assignments = Table(
    "assignments",
    metadata,
    Column("experiment_id", String(80), primary_key=True),
    Column("golden_id", String(40), primary_key=True),
    Column("arm", String(20), nullable=False),
    Column("bucket", Float, nullable=False),
    Column("covariate", Float),
    Column("decision_id", String(32)),
    Column("assigned_at_us", BigInteger, nullable=False),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("capture_key", String(64), primary_key=True),
    Column("experiment_id", String(80), nullable=False, index=True),
    Column("golden_id", String(40), nullable=False),
    Column("metric", String(40), nullable=False),
    Column("value", Float, nullable=False),
    Column("observed_at_us", BigInteger, nullable=False),
    Column("source", String(40), nullable=False),
    Column("detail", JSON),
)

ALL_TABLES = (experiments, assignments, outcomes)


# ---------------------------------------------------------------------- declarations
declare_store(experiments, owner="experiments")
declare_store(assignments, owner="experiments", columns={"golden_id": ("derived", "golden_id")})
declare_store(
    outcomes,
    owner="experiments",
    columns={"golden_id": ("derived", "golden_id"), "detail": "derived"},
)
