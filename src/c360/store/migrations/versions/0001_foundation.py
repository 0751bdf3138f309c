"""Foundation: runs, ingest batches, PII findings.

Revision ID: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("stages", sa.JSON, nullable=False),
        sa.Column("summary", sa.JSON),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "ingest_batches",
        sa.Column("batch_id", sa.String(40), primary_key=True),
        sa.Column("source", sa.String(120), nullable=False, index=True),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("file_size", sa.BigInteger, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rows_in", sa.BigInteger),
        sa.Column("rows_loaded", sa.BigInteger),
        sa.Column("rows_quarantined", sa.BigInteger),
        sa.Column("error", sa.Text),
        sa.Column("warnings", sa.JSON),
        sa.Column("run_id", sa.String(40)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "pii_findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(40), nullable=False, index=True),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("column_name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("declared", sa.String(40), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("redacted", sa.Integer, nullable=False),
        sa.Column("sample_rows", sa.JSON),
    )


def downgrade() -> None:
    op.drop_table("pii_findings")
    op.drop_table("ingest_batches")
    op.drop_table("runs")
