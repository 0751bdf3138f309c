"""Identity: steward review tasks and link constraints.

Revision ID: 0300_identity
"""

import sqlalchemy as sa
from alembic import op

revision = "0300_identity"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_tasks",
        sa.Column("task_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("record_id_l", sa.String(400), nullable=False, index=True),
        sa.Column("record_id_r", sa.String(400), nullable=False, index=True),
        sa.Column("golden_id_l", sa.String(40)),
        sa.Column("golden_id_r", sa.String(40)),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("match_weight", sa.Float, nullable=False),
        sa.Column("detail", sa.JSON),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("reason", sa.Text),
    )
    op.create_table(
        "link_constraints",
        sa.Column("constraint_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("record_id_l", sa.String(400), nullable=False, index=True),
        sa.Column("record_id_r", sa.String(400), nullable=False, index=True),
        sa.Column("task_id", sa.Integer),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("link_constraints")
    op.drop_table("review_tasks")
