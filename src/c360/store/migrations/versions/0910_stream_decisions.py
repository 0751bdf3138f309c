"""Stream triggers and decisions: per-window counters and the firing log.

Frozen DDL: this file must not import today's table definitions; a schema change is a
new revision. ``tests/stream/test_tables.py`` checks it equals the declared tables.

Revision ID: 0910_stream_decisions
"""

import sqlalchemy as sa
from alembic import op

revision = "0910_stream_decisions"
down_revision = "0900_stream"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_windows",
        sa.Column("golden_id", sa.String(length=64), primary_key=True),
        sa.Column("window_start_us", sa.BigInteger(), primary_key=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("logins", sa.Integer(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("sms_stops", sa.Integer(), nullable=False),
        sa.Column("new_identifiers", sa.Integer(), nullable=False),
        sa.Column("last_received_at_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "stream_firings",
        sa.Column("trigger", sa.String(length=80), primary_key=True),
        sa.Column("golden_id", sa.String(length=64), primary_key=True),
        sa.Column("window_start_us", sa.BigInteger(), primary_key=True),
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
        sa.Column("fired_at_us", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=True),
        sa.Column("decided_at_us", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_stream_firings_status", "stream_firings", ["status"])
    op.create_index("ix_stream_firings_decided", "stream_firings", ["decided_at_us"])


def downgrade() -> None:
    op.drop_table("stream_firings")
    op.drop_table("stream_windows")
