"""Governance: principals, API tokens, audit chain, DSR tombstones, legal holds, classes.

Revision ID: 0200_governance
"""

import sqlalchemy as sa
from alembic import op

revision = "0200_governance"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "gov_principals",
        sa.Column("name", sa.String(120), primary_key=True),
        sa.Column("role", sa.String(60), nullable=False),
        sa.Column("purposes", sa.JSON, nullable=False),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "gov_api_tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("principal", sa.String(120), nullable=False, index=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.String(40), nullable=False, index=True),
        sa.Column("actor", sa.String(200), nullable=False, index=True),
        sa.Column("action", sa.String(80), nullable=False, index=True),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    head = sa.table(
        "audit_head", sa.column("id"), sa.column("seq"), sa.column("hash"), sa.column("mac")
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS, "mac": "genesis"}])
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    op.create_table(
        "dsr_tombstones",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("source", sa.String(120)),
        sa.Column("request_id", sa.String(40), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dsr_legal_holds",
        sa.Column("hold_id", sa.String(40), primary_key=True),
        sa.Column("table_name", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(64)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "gov_column_classes",
        sa.Column("table_name", sa.String(200), primary_key=True),
        sa.Column("column_name", sa.String(200), primary_key=True),
        sa.Column("pii_class", sa.String(40), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("declared_by", sa.String(120), nullable=False),
    )


def downgrade() -> None:
    for name in (
        "gov_column_classes",
        "dsr_legal_holds",
        "dsr_tombstones",
        "audit_checkpoints",
        "audit_head",
        "audit_log",
        "gov_api_tokens",
        "gov_principals",
    ):
        op.drop_table(name)
