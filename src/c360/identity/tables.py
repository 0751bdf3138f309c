"""Tables identity resolution writes: the steward review queue and constraints (store), and
the declarations of every table and file identity writes (silver, gold, the model's files).

``review_tasks`` holds pairs that scored in the review band; a decision turns
into a row of ``link_constraints`` (must-link on approve, cannot-link on
reject) that every later run honours. Both tables are append-only in spirit:
a task changes status once; a constraint is deactivated, never deleted.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, Integer, String, Table, Text

from c360.lakehouse.declarations import declare
from c360.store.schema import metadata

review_tasks = Table(
    "review_tasks",
    metadata,
    Column("task_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), nullable=False),
    Column("record_id_l", String(400), nullable=False, index=True),
    Column("record_id_r", String(400), nullable=False, index=True),
    Column("golden_id_l", String(40)),
    Column("golden_id_r", String(40)),
    Column("probability", Float, nullable=False),
    Column("match_weight", Float, nullable=False),
    Column("detail", JSON),
    Column("status", String(20), nullable=False),  # open|approved|rejected|superseded|undone|closed
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(200)),
    Column("reason", Text),
)

link_constraints = Table(
    "link_constraints",
    metadata,
    Column("constraint_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # must_link | cannot_link
    Column("record_id_l", String(400), nullable=False, index=True),
    Column("record_id_r", String(400), nullable=False, index=True),
    Column("task_id", Integer),
    Column("created_by", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False),
)


# ---------------------------------------------------------------------- declarations
_NAME = "pii"
_SK = ("derived", "source_key")  # "<source>:<key>"
PARTY_RECORDS_DECL = declare(
    "silver.party_records",
    owner="identity",
    source_key=("source", "source_key"),
    columns={
        "record_id": _SK,
        "source": "none",
        "source_key": "derived",
        "first_name": _NAME,
        "middle_name": _NAME,
        "last_name": _NAME,
        "suffix": _NAME,
        "first_key": _NAME,
        "last_key": _NAME,
        "dob": "pii_sensitive",
        "dob_ambiguous": "derived",
        "ssn_token": ("pii_sensitive", "ssn_token"),
        "ssn_last4": "pii_sensitive",
        "ssn_variants": "pii_sensitive",
        "email": ("pii", "email"),
        "emails": ("pii", "email"),
        "phone": ("pii", "phone"),
        "phones": ("pii", "phone"),
        "street": "pii",
        "city": "pii",
        "state": "pii",
        "zip": "pii",
        "refs": "derived",
        "updated_at": "none",
        "trust": "none",
        "row_hash": "derived",
        "no_identity_reason": "none",
    },
)
declare(
    "silver.identity_pairs",
    owner="identity",
    columns={
        "record_id_l": _SK,
        "record_id_r": _SK,
        "match_weight": "derived",
        "match_probability": "derived",
        "rule": "none",
        "detail": "derived",
    },
)
declare(
    "silver.identity_generic",
    owner="identity",
    typed=("kind", "value"),
    typed_alias={"ssn": "ssn_token"},
    columns={
        "kind": "none",
        "value": "pii",
        "people": "derived",
        "generic": "derived",
        "ambiguous": "derived",
        "one_person": "derived",
        "household": "derived",
        "hard": "none",
    },
)
declare(
    "silver.identity_components",
    owner="identity",
    columns={"record_id": _SK, "component": "derived"},
)
declare(
    "gold.identity_links",
    owner="identity",
    source_key=("source", "source_key"),
    columns={
        "source": "none",
        "source_key": "derived",
        "golden_id": ("derived", "golden_id"),
        "rule": "derived",
        "probability": "derived",
        "run_id": "none",
        "is_current": "none",
        "record_id": _SK,
        "reason": "derived",
        "valid_from": "none",
        "valid_to": "none",
    },
)
declare(
    "gold.identity_events",
    owner="identity",
    columns={
        "event_id": "none",
        "run_id": "none",
        "event_type": "none",
        "golden_id": ("derived", "golden_id"),
        "related_golden_id": "derived",
        "record_ids": ("derived", "source_key"),
        "reason": "derived",
        "at": "none",
    },
)
declare(
    "gold.golden_customers",
    owner="identity",
    columns={
        "golden_id": ("derived", "golden_id"),
        "first_name": _NAME,
        "middle_name": _NAME,
        "last_name": _NAME,
        "suffix": _NAME,
        "dob": "pii_sensitive",
        "ssn_last4": "pii_sensitive",
        "email": ("pii", "email"),
        "phone": ("pii", "phone"),
        "street": "pii",
        "city": "pii",
        "state": "pii",
        "zip": "pii",
        "emails": ("pii", "email"),
        "phones": ("pii", "phone"),
        "addresses": "pii",
        "provenance": "pii",
        "record_count": "derived",
        "sources": "none",
        "run_id": "none",
    },
)
declare(
    "store:review_tasks",
    owner="identity",
    columns={
        "task_id": "none",
        "run_id": "none",
        "record_id_l": _SK,
        "record_id_r": _SK,
        "golden_id_l": ("derived", "golden_id"),
        "golden_id_r": ("derived", "golden_id"),
        "probability": "derived",
        "match_weight": "derived",
        "detail": "derived",
        "status": "none",
        "created_at": "none",
        "decided_at": "none",
        "decided_by": "none",
        "reason": "pii",
    },
)
declare(
    "store:link_constraints",
    owner="identity",
    columns={
        "constraint_id": "none",
        "kind": "none",
        "record_id_l": _SK,
        "record_id_r": _SK,
        "task_id": "none",
        "created_by": "none",
        "reason": "pii",
        "created_at": "none",
        "active": "none",
    },
)
# The identity model: term frequencies per value (names, emails, phones, streets) and the
# trained parameters (no personal data). Erasure rewrites the term frequencies.
TF_DECL = declare(
    "file:models/identity/splink-*.tf_*.parquet",
    owner="identity",
    columns={
        "first_name": _NAME,
        "last_key": _NAME,
        "email": ("pii", "email"),
        "phone": ("pii", "phone"),
        "street": "pii",
        **{f"tf_{c}": "derived" for c in ("first_name", "last_key", "email", "phone", "street")},
    },
)
# Blocking keys held by many records (ADR 0077): a name, or a zip and a first name, joined
# by a unit separator; a key is common because many people hold it
declare(
    "file:models/identity/splink-*.common_keys.parquet",
    owner="identity",
    columns={"kind": "none", "key": _NAME},
)
declare("file:models/identity/*.json", owner="identity", columns={})
# Exports kept under the workspace (``exports/``): what `c360 export crosswalk` writes.
declare(
    "file:exports/crosswalk*",
    owner="identity",
    source_key=("source", "source_key"),
    columns={
        "source": "none",
        "source_key": "derived",
        "golden_id": ("derived", "golden_id"),
        "rule": "derived",
        "probability": "derived",
        "run_id": "none",
    },
)
