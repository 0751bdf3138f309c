"""Serving projection: golden records keyed by golden id, lookup keys, and its state.

Frozen DDL: this file must not import today's table definitions; a schema change is a
new revision.

Revision ID: 0310_profiles
"""

import sqlalchemy as sa
from alembic import op

revision = "0310_profiles"
down_revision = "0300_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("golden_id", sa.String(64), primary_key=True),
        sa.Column("record", sa.LargeBinary, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "profile_keys",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(400), primary_key=True),
        sa.Column("golden_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_profile_keys_golden_id", "profile_keys", ["golden_id"])
    op.create_table(
        "profile_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("source_version", sa.BigInteger, nullable=False),
        sa.Column("schema", sa.LargeBinary, nullable=False),
        sa.Column("run_id", sa.String(40)),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("profile_state")
    op.drop_index("ix_profile_keys_golden_id", table_name="profile_keys")
    op.drop_table("profile_keys")
    op.drop_table("profiles")
