"""Consent: ledger, current consent, suppressions, subject index, contact log, gate decisions.

Frozen DDL: this file must not import today's table definitions (a later edit
of ``c360.consent.tables`` would silently rewrite history). A schema change is
a new revision; ``tests/consent/test_migration.py`` checks that the migrated
schema equals ``c360.consent.tables``.

Revision ID: 0100_consent
"""

import sqlalchemy as sa
from alembic import op

revision = "0100_consent"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

TABLES = (
    "consent_events",
    "consent_current",
    "consent_index_meta",
    "suppressions",
    "suppression_imports",
    "consent_subject_index",
    "consent_subjects",
    "contact_log",
    "gate_decisions",
)


def upgrade() -> None:
    op.create_table(
        "consent_current",
        sa.Column("id_type", sa.String(length=16), nullable=False),
        sa.Column("id_value", sa.String(length=320), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("effective_at_us", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id_type", "id_value", "purpose", "channel"),
    )
    op.create_index(
        "ix_consent_current_pc", "consent_current", ["purpose", "channel"], unique=False
    )
    op.create_table(
        "consent_events",
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("id_type", sa.String(length=16), nullable=False),
        sa.Column("id_value", sa.String(length=320), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("legal_basis", sa.String(length=40), nullable=False),
        sa.Column("source_system", sa.String(length=80), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("notice_hash", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("captured_at_us", sa.BigInteger(), nullable=False),
        sa.Column("effective_at_us", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger(), nullable=True),
        sa.Column("capture_key", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
        sa.UniqueConstraint("capture_key"),
    )
    op.create_index(
        "ix_consent_events_subject",
        "consent_events",
        ["id_type", "id_value", "effective_at_us"],
        unique=False,
    )
    op.create_table(
        "consent_index_meta",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("refreshed_at_us", sa.BigInteger(), nullable=False),
        sa.Column("subjects", sa.BigInteger(), nullable=False),
        sa.Column("identifiers", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "consent_subject_index",
        sa.Column("golden_id", sa.String(length=64), nullable=False),
        sa.Column("id_type", sa.String(length=16), nullable=False),
        sa.Column("id_value", sa.String(length=320), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("restrict_only", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_csi_golden", "consent_subject_index", ["golden_id"], unique=False)
    op.create_index("ix_csi_hash", "consent_subject_index", ["id_hash"], unique=False)
    op.create_index("ix_csi_value", "consent_subject_index", ["id_type", "id_value"], unique=False)
    op.create_table(
        "consent_subjects",
        sa.Column("golden_id", sa.String(length=64), nullable=False),
        sa.Column("dob", sa.String(length=10), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=True),
        sa.Column("has_email", sa.Boolean(), nullable=False),
        sa.Column("has_phone", sa.Boolean(), nullable=False),
        sa.Column("refreshed_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("golden_id"),
    )
    op.create_table(
        "contact_log",
        sa.Column("contact_id", sa.String(length=32), nullable=False),
        sa.Column("golden_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("contacted_at_us", sa.BigInteger(), nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=True),
        sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("contact_id"),
    )
    op.create_index(
        "ix_contact_log_golden", "contact_log", ["golden_id", "contacted_at_us"], unique=False
    )
    op.create_table(
        "gate_decisions",
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("golden_id", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("known_at_us", sa.BigInteger(), nullable=True),
        sa.Column("activation", sa.Boolean(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("policy_version", sa.String(length=80), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("decided_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    op.create_index("ix_gate_decisions_golden", "gate_decisions", ["golden_id"], unique=False)
    op.create_table(
        "suppression_imports",
        sa.Column("import_id", sa.String(length=32), nullable=False),
        sa.Column("list_name", sa.String(length=60), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("hashed", sa.Boolean(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("unmatched", sa.Integer(), nullable=False),
        sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("import_id"),
    )
    op.create_table(
        "suppressions",
        sa.Column("entry_id", sa.String(length=32), nullable=False),
        sa.Column("list_name", sa.String(length=60), nullable=False),
        sa.Column("id_type", sa.String(length=16), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("id_hint", sa.String(length=40), nullable=True),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("import_id", sa.String(length=32), nullable=True),
        sa.Column("effective_at_us", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger(), nullable=True),
        sa.Column("capture_key", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("entry_id"),
        sa.UniqueConstraint("capture_key"),
    )
    op.create_index("ix_suppressions_hash", "suppressions", ["id_hash", "list_name"], unique=False)


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
