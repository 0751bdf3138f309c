"""Streaming intake: inbox, apply log, micro-batches, streamed identifiers and features.

Frozen DDL: this file must not import today's table definitions; a schema change is a
new revision. ``tests/stream/test_tables.py`` checks it equals the declared tables.

Revision ID: 0900_stream
"""

import sqlalchemy as sa
from alembic import op

revision = "0900_stream"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_inbox",
        sa.Column("position", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(length=128), nullable=True),
        sa.Column("intake", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "stream_applied",
        sa.Column("event_id", sa.String(length=128), primary_key=True),
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("golden_id", sa.String(length=64), nullable=True),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
        sa.Column("applied_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_stream_applied_batch", "stream_applied", ["batch_id"])
    op.create_index("ix_stream_applied_at", "stream_applied", ["applied_at_us"])
    op.create_table(
        "stream_batches",
        sa.Column("batch_id", sa.String(length=40), primary_key=True),
        sa.Column("first_position", sa.BigInteger(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("lag_events", sa.BigInteger(), nullable=False),
        sa.Column("latency_p50_ms", sa.Float(), nullable=True),
        sa.Column("latency_p99_ms", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("started_at_us", sa.BigInteger(), nullable=False),
        sa.Column("committed_at_us", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "stream_identifiers",
        sa.Column("id_type", sa.String(length=16), primary_key=True),
        sa.Column("id_value", sa.String(length=320), primary_key=True),
        sa.Column("golden_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_stream_identifiers_golden", "stream_identifiers", ["golden_id"])
    op.create_table(
        "stream_features",
        sa.Column("golden_id", sa.String(length=64), primary_key=True),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("logins", sa.BigInteger(), nullable=False),
        sa.Column("failed_logins", sa.BigInteger(), nullable=False),
        sa.Column("last_login_at_us", sa.BigInteger(), nullable=True),
        sa.Column("last_event_at_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for name in (
        "stream_features",
        "stream_identifiers",
        "stream_batches",
        "stream_applied",
        "stream_inbox",
    ):
        op.drop_table(name)
