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

from c360.lakehouse.declarations import ColumnSpec, declare
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

consent_fact_members = Table(
    "consent_fact_members",
    metadata,
    Column("fact_id", String(32), primary_key=True),  # consent event or suppression entry
    Column("record_id", String(400), primary_key=True),  # "<source>:<source_key>"
    Column("fact_kind", String(12), nullable=False),  # event | suppression
    Column("golden_id", String(64), nullable=False),  # the id the fact was given against
    Column("recorded_at_us", BigInteger, nullable=False),
    Index("ix_consent_fact_members_golden", "golden_id"),
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
    consent_fact_members,
    contact_log,
    gate_decisions,
]


# ---------------------------------------------------------------------- declarations
_TYPED = ("id_type", "id_value")
declare(
    "store:consent_events",
    owner="consent",
    typed=_TYPED,
    columns={
        "event_id": "none",
        "id_type": "none",
        "id_value": "pii",
        "purpose": "none",
        "channel": "none",
        "status": "derived",
        "legal_basis": "none",
        "source_system": "none",
        "method": "none",
        "notice_hash": "none",
        "actor": "none",
        "evidence": "pii",
        "captured_at_us": "none",
        "effective_at_us": "none",
        "recorded_at_us": "none",
        "expires_at_us": "none",
        "capture_key": "derived",
    },
)
declare(
    "store:consent_current",
    owner="consent",
    typed=_TYPED,
    columns={
        "id_type": "none",
        "id_value": "pii",
        "purpose": "none",
        "channel": "none",
        "event_id": "none",
        "status": "derived",
        "method": "none",
        "effective_at_us": "none",
        "recorded_at_us": "none",
        "expires_at_us": "none",
    },
)
_SUPPRESSION_KEPT = (
    "a suppression list must remember whom not to contact; it holds hashes and masked hints "
    "only, and the erased subject is refused by ingestion anyway"
)
declare(
    "store:suppressions",
    owner="consent",
    retained=_SUPPRESSION_KEPT,
    columns={
        "entry_id": "none",
        "list_name": "none",
        "id_type": "none",
        "id_hash": "derived",
        "id_hint": "derived",
        "action": "none",
        "reason": "derived",
        "import_id": "none",
        "effective_at_us": "none",
        "recorded_at_us": "none",
        "expires_at_us": "none",
        "capture_key": "derived",
    },
)
declare(
    "store:suppression_imports",
    owner="consent",
    columns={
        "import_id": "none",
        "list_name": "none",
        "file": "none",
        "file_sha256": "none",
        "hashed": "none",
        "rows": "none",
        "matched": "none",
        "unmatched": "none",
        "recorded_at_us": "none",
    },
)
declare(
    "store:consent_index_meta",
    owner="consent",
    columns=dict.fromkeys(("id", "refreshed_at_us", "subjects", "identifiers"), "none"),
)
_INDEX_COLUMNS: dict[str, ColumnSpec] = {
    "golden_id": ("derived", "golden_id"),
    "id_type": "none",
    "id_value": "pii",
    "id_hash": "pii",
    "restrict_only": "derived",
}
_SUBJECT_COLUMNS: dict[str, ColumnSpec] = {
    "golden_id": ("derived", "golden_id"),
    "dob": "pii_sensitive",
    "state": "pii",
    "has_email": "derived",
    "has_phone": "derived",
    "refreshed_at_us": "none",
}
for _where in ("store:consent_subject_index", "gold.consent_subject_index"):
    declare(
        _where,
        owner="consent",
        typed=_TYPED,
        columns={**_INDEX_COLUMNS, "refreshed_at_us": "none"},
    )
for _where in ("store:consent_subjects", "gold.consent_subjects"):
    declare(_where, owner="consent", columns=_SUBJECT_COLUMNS)
declare(
    "gold.golden_consent",
    owner="consent",
    columns={
        "golden_id": ("derived", "golden_id"),
        "consent": "pii",
        "suppression_flags": "pii_sensitive",
        "consent_policy_version": "none",
        "consent_as_of": "none",
    },
)
declare(
    "store:consent_fact_members",
    owner="consent",
    columns={
        "fact_id": "none",
        "record_id": ("derived", "source_key"),
        "fact_kind": "none",
        "golden_id": ("derived", "golden_id"),
        "recorded_at_us": "none",
    },
)
declare(
    "store:contact_log",
    owner="consent",
    columns={
        "contact_id": "none",
        "golden_id": ("derived", "golden_id"),
        "channel": "none",
        "purpose": "none",
        "outcome": "behavioural",
        "contacted_at_us": "none",
        "decision_id": "none",
        "recorded_at_us": "none",
    },
)
declare(
    "store:gate_decisions",
    owner="consent",
    columns={
        "decision_id": "none",
        "kind": "none",
        "golden_id": ("derived", "golden_id"),
        "purpose": "none",
        "channel": "none",
        "at_us": "none",
        "known_at_us": "none",
        "activation": "none",
        "allowed": "derived",
        "reasons": "derived",
        "evidence": "pii",
        "policy_version": "none",
        "inputs": "pii",
        "decided_at_us": "none",
    },
)
