"""Consent: the member records of a golden record when a golden-level fact was given.

Frozen DDL (see ``0100_consent``); ``tests/consent/test_migration.py`` checks that
the migrated schema equals ``c360.consent.tables``.

Revision ID: 0110_consent_fact_members
"""

import sqlalchemy as sa
from alembic import op

revision = "0110_consent_fact_members"
down_revision = "0100_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_fact_members",
        sa.Column("fact_id", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=400), nullable=False),
        sa.Column("fact_kind", sa.String(length=12), nullable=False),
        sa.Column("golden_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("fact_id", "record_id"),
    )
    op.create_index(
        "ix_consent_fact_members_golden", "consent_fact_members", ["golden_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("consent_fact_members")
