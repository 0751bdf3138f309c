"""Decisions: an index on (chosen_action, status) for the capacity count of every request.

Revision ID: 0810_decisions_capacity_index
"""

from alembic import op

revision = "0810_decisions_capacity_index"
down_revision = "0800_decisioning"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_decisions_action_status", "decisions", ["chosen_action", "status"])


def downgrade() -> None:
    op.drop_index("ix_decisions_action_status", table_name="decisions")
