"""Decisioning, activation, experiments and KPI alerts: audiences, builds, decision log,
HITL tasks, outbox, deliveries, experiments, assignments, outcomes, alerts.

Frozen DDL: this file must not import today's table definitions; a schema change is a
new revision. ``tests/decisioning/test_migration.py`` checks it equals the declared tables.

Revision ID: 0800_decisioning
"""

import sqlalchemy as sa
from alembic import op

revision = "0800_decisioning"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

TABLES = (
    "audiences",
    "audience_builds",
    "decisions",
    "hitl_tasks",
    "outbox",
    "deliveries",
    "experiments",
    "assignments",
    "outcomes",
    "alerts",
)


def upgrade() -> None:
    op.create_table(
        "audiences",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filter", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("name", "version"),
    )
    op.create_table(
        "audience_builds",
        sa.Column("build_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.String(length=10), nullable=False),
        sa.Column("built_at_us", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("before", sa.BigInteger(), nullable=False),
        sa.Column("after", sa.BigInteger(), nullable=False),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("gate_decision_id", sa.String(length=32), nullable=False),
        sa.Column("policy_version", sa.String(length=80), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("build_id"),
    )
    op.create_index(
        "ix_audience_builds_name", "audience_builds", ["name", "built_at_us"], unique=False
    )
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("trigger", sa.String(length=80), nullable=False),
        sa.Column("trigger_evidence", sa.JSON(), nullable=False),
        sa.Column("as_of", sa.String(length=10), nullable=False),
        sa.Column("decided_at_us", sa.BigInteger(), nullable=False),
        sa.Column("feature_hash", sa.String(length=64), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("consent_decision_id", sa.String(length=32), nullable=True),
        sa.Column("consent_allowed", sa.Boolean(), nullable=False),
        sa.Column("consent_reasons", sa.JSON(), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("chosen_action", sa.String(length=80), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("llm", sa.JSON(), nullable=True),
        sa.Column("experiment", sa.String(length=80), nullable=True),
        sa.Column("arm", sa.String(length=20), nullable=True),
        sa.Column("policy_versions", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    op.create_index(
        "ix_decisions_golden", "decisions", ["golden_id", "decided_at_us"], unique=False
    )
    op.create_table(
        "hitl_tasks",
        sa.Column("task_id", sa.String(length=32), nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("action_id", sa.String(length=80), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("decided_at_us", sa.BigInteger(), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_hitl_tasks_decision_id", "hitl_tasks", ["decision_id"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("action_id", sa.String(length=80), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at_us", sa.BigInteger(), nullable=False),
        sa.Column("leased_until_us", sa.BigInteger(), nullable=True),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("message_id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at_us"], unique=False)
    op.create_index("ix_outbox_decision_id", "outbox", ["decision_id"], unique=False)
    op.create_table(
        "deliveries",
        sa.Column("attempt_id", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("adapter", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("gate_decision_id", sa.String(length=32), nullable=True),
        sa.Column("gate_allowed", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("receipt", sa.JSON(), nullable=True),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("attempt_id"),
    )
    op.create_index("ix_deliveries_message_id", "deliveries", ["message_id"], unique=False)
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.String(length=80), nullable=False),
        sa.Column("salt", sa.String(length=80), nullable=False),
        sa.Column("holdout_share", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("experiment_id"),
    )
    op.create_table(
        "assignments",
        sa.Column("experiment_id", sa.String(length=80), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("arm", sa.String(length=20), nullable=False),
        sa.Column("bucket", sa.Float(), nullable=False),
        sa.Column("covariate", sa.Float(), nullable=True),
        sa.Column("decision_id", sa.String(length=32), nullable=True),
        sa.Column("assigned_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", "golden_id"),
    )
    op.create_table(
        "outcomes",
        sa.Column("capture_key", sa.String(length=64), nullable=False),
        sa.Column("experiment_id", sa.String(length=80), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("observed_at_us", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("capture_key"),
    )
    op.create_index("ix_outcomes_experiment_id", "outcomes", ["experiment_id"], unique=False)
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(length=32), nullable=False),
        sa.Column("monitor", sa.String(length=80), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("notified", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("alert_id"),
    )
    op.create_index("ix_alerts_monitor", "alerts", ["monitor"], unique=False)


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
