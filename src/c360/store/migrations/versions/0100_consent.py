"""Consent: ledger, suppressions, subject index, contact log, gate decisions.

Revision ID: 0100_consent
"""

from alembic import op

from c360.consent import tables

revision = "0100_consent"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in tables.ALL_TABLES:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(tables.ALL_TABLES):
        table.drop(bind, checkfirst=True)
