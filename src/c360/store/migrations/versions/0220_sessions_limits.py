"""Console sessions and rate-limit state in the store, shared by every server process.

Frozen DDL: this file must not import today's table definitions; a schema change is a
new revision.

Revision ID: 0220_sessions_limits
"""

import sqlalchemy as sa
from alembic import op

revision = "0220_sessions_limits"
down_revision = "0210_token_expiry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gov_console_sessions",
        sa.Column("sid_sha256", sa.String(64), primary_key=True),
        sa.Column("principal", sa.String(120), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("seen_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_gov_console_sessions_seen_us", "gov_console_sessions", ["seen_us"])
    op.create_table(
        "gov_rate_limits",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("tat_us", sa.BigInteger, nullable=False),
        sa.Column("wait_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_gov_rate_limits_tat_us", "gov_rate_limits", ["tat_us"])


def downgrade() -> None:
    op.drop_table("gov_rate_limits")
    op.drop_table("gov_console_sessions")
