"""API tokens may expire: ``gov_api_tokens.expires_at`` (NULL = no expiry).

Revision ID: 0210_token_expiry
"""

import sqlalchemy as sa
from alembic import op

revision = "0210_token_expiry"
down_revision = "0200_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gov_api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gov_api_tokens") as batch:
        batch.drop_column("expires_at")
