"""Features and models: the online projection of features and scores.

Revision ID: 0750_features_models
"""

import sqlalchemy as sa
from alembic import op

revision = "0750_features_models"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "online_features",
        sa.Column("golden_id", sa.String(40), primary_key=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("features", sa.JSON, nullable=False),
        sa.Column("versions", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "online_scores",
        sa.Column("golden_id", sa.String(40), primary_key=True),
        sa.Column("model", sa.String(80), primary_key=True),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("online_scores")
    op.drop_table("online_features")
