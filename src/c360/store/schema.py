"""Tables of the operational store (SQLAlchemy Core).

One ``MetaData`` for the whole product; each capability declares its tables in
its own module against :data:`metadata` and ships an Alembic migration for
them under ``c360/store/migrations/versions``. Writes that matter are
append-only or versioned.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text

from c360.lakehouse.declarations import declare

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(40), primary_key=True),
    Column("kind", String(40), nullable=False),
    # running | succeeded | failed | partial | interrupted
    Column("status", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("stages", JSON, nullable=False, default=list),
    Column("summary", JSON),
    Column("error", Text),
)

ingest_batches = Table(
    "ingest_batches",
    metadata,
    Column("batch_id", String(40), primary_key=True),
    Column("source", String(120), nullable=False, index=True),
    Column("file", Text, nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("status", String(20), nullable=False),  # running | loaded | failed
    Column("rows_in", BigInteger),
    Column("rows_loaded", BigInteger),
    Column("rows_quarantined", BigInteger),
    Column("error", Text),
    Column("warnings", JSON),
    Column("run_id", String(40)),
    Column("attempts", Integer, nullable=False, default=1),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

pii_findings = Table(
    "pii_findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", String(40), nullable=False, index=True),
    Column("source", String(120), nullable=False),
    Column("column_name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("declared", String(40), nullable=False),  # the contract's class for the column
    Column("rows", BigInteger, nullable=False),
    Column("redacted", Integer, nullable=False),
    Column("sample_rows", JSON),
)


# ---------------------------------------------------------------------- declarations
declare("store:alembic_version", owner="platform", columns={"version_num": "none"})
declare(
    "store:runs",
    owner="platform",
    columns=dict.fromkeys(
        ("run_id", "kind", "status", "started_at", "finished_at", "stages", "summary", "error"),
        "none",
    ),
)
declare(
    "store:ingest_batches",
    owner="ingest",
    columns=dict.fromkeys((c.name for c in ingest_batches.columns), "none"),
)
declare(
    "store:pii_findings",
    owner="ingest",
    columns={c.name: "none" for c in pii_findings.columns},
)
