"""Console sessions remember the API token they were opened with, so revoking or
expiring that token (or deactivating its principal) ends the session too.

Sessions opened before this revision do not know their token: they are ended, and
their users log in again.

Frozen DDL: this file must not import today's table definitions; a schema change is a
new revision.

Revision ID: 0230_session_token
"""

import sqlalchemy as sa
from alembic import op

revision = "0230_session_token"
down_revision = "0220_sessions_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM gov_console_sessions")
    with op.batch_alter_table("gov_console_sessions") as batch:
        batch.add_column(sa.Column("token_id", sa.String(32), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("gov_console_sessions") as batch:
        batch.drop_column("token_id")
