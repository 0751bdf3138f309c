"""Operational-store tables of the consent capability (SQLAlchemy Core).

The ledger (``consent_events``) and suppression entries are append-only: a
change of mind is a new row, a correction is a new row with a later
``recorded_at_us``. Times are UTC epoch microseconds (see :mod:`vocab`).
``consent_subject_index`` and ``consent_subjects`` are *derived* from the
identity tables and rebuilt by ``refresh_identity_index`` (which also copies
them to the lakehouse and stamps ``consent_index_meta``). ``consent_current``
is derived from the ledger: the event in force per identifier, purpose and
channel, maintained in the same transaction as every append. The derived
tables are the only consent tables ever rewritten.

The schema is created by the frozen migration ``0100_consent``; a test checks
that the migrated schema equals these definitions.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from c360.store.schema import metadata

consent_events = Table(
    "consent_events",
    metadata,
    Column("event_id", String(32), primary_key=True),
    Column("id_type", String(16), nullable=False),
    Column("id_value", String(320), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("status", String(10), nullable=False),
    Column("legal_basis", String(40), nullable=False),
    Column("source_system", String(80), nullable=False),
    Column("method", String(40), nullable=False),
    Column("notice_hash", String(64)),
    Column("actor", String(120), nullable=False),
    Column("evidence", Text),
    Column("captured_at_us", BigInteger, nullable=False),
    Column("effective_at_us", BigInteger, nullable=False),
    Column("recorded_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger),
    Column("capture_key", String(64), unique=True),
    Index("ix_consent_events_subject", "id_type", "id_value", "effective_at_us"),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("entry_id", String(32), primary_key=True),
    Column("list_name", String(60), nullable=False),
    Column("id_type", String(16), nullable=False),
    Column("id_hash", String(64), nullable=False),
    Column("id_hint", String(40)),
    Column("action", String(8), nullable=False),  # add | remove
    Column("reason", Text),
    Column("import_id", String(32)),
    Column("effective_at_us", BigInteger, nullable=False),
    Column("recorded_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger),
    Column("capture_key", String(64), unique=True),
    Index("ix_suppressions_hash", "id_hash", "list_name"),
)

suppression_imports = Table(
    "suppression_imports",
    metadata,
    Column("import_id", String(32), primary_key=True),
    Column("list_name", String(60), nullable=False),
    Column("file", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("hashed", Boolean, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("matched", Integer, nullable=False),
    Column("unmatched", Integer, nullable=False),
    Column("recorded_at_us", BigInteger, nullable=False),
)

consent_current = Table(
    "consent_current",
    metadata,
    Column("id_type", String(16), primary_key=True),
    Column("id_value", String(320), primary_key=True),
    Column("purpose", String(40), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("event_id", String(32), nullable=False),
    Column("status", String(10), nullable=False),
    Column("method", String(40), nullable=False),
    Column("effective_at_us", BigInteger, nullable=False),
    Column("recorded_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger),
    Index("ix_consent_current_pc", "purpose", "channel"),
)

consent_index_meta = Table(
    "consent_index_meta",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("refreshed_at_us", BigInteger, nullable=False),
    Column("subjects", BigInteger, nullable=False),
    Column("identifiers", BigInteger, nullable=False),
)

consent_subject_index = Table(
    "consent_subject_index",
    metadata,
    Column("golden_id", String(64), nullable=False),
    Column("id_type", String(16), nullable=False),
    Column("id_value", String(320), nullable=False),
    Column("id_hash", String(64), nullable=False),
    Column("restrict_only", Boolean, nullable=False),
    Index("ix_csi_golden", "golden_id"),
    Index("ix_csi_value", "id_type", "id_value"),
    Index("ix_csi_hash", "id_hash"),
)

consent_subjects = Table(
    "consent_subjects",
    metadata,
    Column("golden_id", String(64), primary_key=True),
    Column("dob", String(10)),
    Column("state", String(8)),
    Column("has_email", Boolean, nullable=False),
    Column("has_phone", Boolean, nullable=False),
    Column("refreshed_at_us", BigInteger, nullable=False),
)

contact_log = Table(
    "contact_log",
    metadata,
    Column("contact_id", String(32), primary_key=True),
    Column("golden_id", String(64), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("contacted_at_us", BigInteger, nullable=False),
    Column("decision_id", String(32)),
    Column("recorded_at_us", BigInteger, nullable=False),
    Index("ix_contact_log_golden", "golden_id", "contacted_at_us"),
)

gate_decisions = Table(
    "gate_decisions",
    metadata,
    Column("decision_id", String(32), primary_key=True),
    Column("kind", String(8), nullable=False),  # point | set
    Column("golden_id", String(64)),
    Column("purpose", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("known_at_us", BigInteger),
    Column("activation", Boolean, nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("policy_version", String(80), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("decided_at_us", BigInteger, nullable=False),
    Index("ix_gate_decisions_golden", "golden_id"),
)

ALL_TABLES = [
    consent_events,
    consent_current,
    consent_index_meta,
    suppressions,
    suppression_imports,
    consent_subject_index,
    consent_subjects,
    contact_log,
    gate_decisions,
]
