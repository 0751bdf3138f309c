"""Operational-store tables of governance: principals, tokens, console sessions, rate
limits, audit chain, DSR.

Declared against :data:`c360.store.schema.metadata`; the migration
``0200_governance`` creates them. The audit tables are append-only by
contract: nothing in c360 updates or deletes an ``audit_log`` row, and
``c360 audit verify`` detects anyone who does.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, String, Table, Text

from c360.lakehouse.declarations import declare
from c360.store.schema import metadata

principals = Table(
    "gov_principals",
    metadata,
    Column("name", String(120), primary_key=True),
    Column("role", String(60), nullable=False),
    Column("purposes", JSON, nullable=False),  # allowed subset of the role's purposes
    Column("attributes", JSON, nullable=False),  # e.g. {"region": "west", "queue": "cards"}
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_tokens = Table(
    "gov_api_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("principal", String(120), nullable=False, index=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),  # NULL: never (0210_token_expiry)
)

# console sessions (migration 0220_sessions_limits): the browser holds the session id, the
# store only its SHA-256, so a reader of the store cannot take over a session
console_sessions = Table(
    "gov_console_sessions",
    metadata,
    Column("sid_sha256", String(64), primary_key=True),
    Column("principal", String(120), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("seen_us", BigInteger, nullable=False, index=True),
    # the API token the session was opened with (0230_session_token): revoked, expired
    # or its principal deactivated, and the session ends
    Column("token_id", String(32), nullable=False, server_default=""),
)

# one row per caller and limit: the caller's theoretical arrival time (GCRA), so that every
# server process sees the same budget; ``key`` is a keyed hash (never a client address)
rate_limits = Table(
    "gov_rate_limits",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("tat_us", BigInteger, nullable=False, index=True),
    Column("wait_us", BigInteger, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", String(40), nullable=False, index=True),  # ISO-8601 UTC, hashed as written
    Column("actor", String(200), nullable=False, index=True),
    Column("action", String(80), nullable=False, index=True),
    Column("target", Text, nullable=False),
    Column("details", Text, nullable=False),  # canonical JSON, exactly as hashed
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),  # always 1
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("mac", String(64), nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("ts", String(40), nullable=False),
    Column("mac", String(64), nullable=False),
)

dsr_tombstones = Table(
    "dsr_tombstones",
    metadata,
    Column("id", String(64), primary_key=True),  # keyed hash of kind:value
    Column(
        "kind", String(40), nullable=False
    ),  # source_key | email | phone | ssn_token | golden_id
    Column("source", String(120)),
    Column("request_id", String(40), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

legal_holds = Table(
    "dsr_legal_holds",
    metadata,
    Column("hold_id", String(40), primary_key=True),
    Column("table_name", String(200), nullable=False),  # zone.table or store:<table>
    Column("subject", String(64)),  # keyed hash of an identifier, NULL = whole table
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True)),
)

column_classes = Table(
    "gov_column_classes",
    metadata,
    Column("table_name", String(200), primary_key=True),  # zone.table
    Column("column_name", String(200), primary_key=True),
    Column("pii_class", String(40), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("declared_by", String(120), nullable=False),
)


# ---------------------------------------------------------------------- declarations
declare(
    "store:gov_principals",
    owner="governance",
    columns=dict.fromkeys(
        ("name", "role", "purposes", "attributes", "active", "created_at"), "none"
    ),
)
declare(
    "store:gov_api_tokens",
    owner="governance",
    columns=dict.fromkeys(
        ("token_id", "principal", "token_sha256", "created_at", "revoked_at", "expires_at"),
        "none",
    ),
)
declare(
    "store:gov_console_sessions",
    owner="governance",
    columns=dict.fromkeys(
        ("sid_sha256", "principal", "purpose", "csrf", "created_us", "seen_us", "token_id"), "none"
    ),
)
declare(
    "store:gov_rate_limits",
    owner="governance",
    columns={"key": "derived", "tat_us": "none", "wait_us": "none"},
)
_AUDIT_KEPT = (
    "the audit chain is append-only evidence; it holds keyed hashes of identifiers, never "
    "clear personal data (the audit coverage test scans it)"
)
declare(
    "store:audit_log",
    owner="governance",
    retained=_AUDIT_KEPT,
    columns={
        "seq": "none",
        "ts": "none",
        "actor": "none",
        "action": "none",
        "target": "derived",
        "details": "derived",
        "prev_hash": "none",
        "hash": "none",
    },
)
declare(
    "store:audit_head",
    owner="governance",
    columns=dict.fromkeys(("id", "seq", "hash", "mac"), "none"),
)
declare(
    "store:audit_checkpoints",
    owner="governance",
    columns=dict.fromkeys(("seq", "hash", "ts", "mac"), "none"),
)
declare(
    "store:dsr_tombstones",
    owner="governance",
    retained="keyed hashes of an erased subject's identifiers, so that no copy ever comes back",
    columns={
        "id": "derived",
        "kind": "none",
        "source": "none",
        "request_id": "none",
        "created_at": "none",
    },
)
declare(
    "store:dsr_legal_holds",
    owner="governance",
    columns={
        "hold_id": "none",
        "table_name": "none",
        "subject": "derived",
        "reason": "none",
        "created_at": "none",
        "released_at": "none",
    },
)
declare(
    "store:gov_column_classes",
    owner="governance",
    columns=dict.fromkeys(
        ("table_name", "column_name", "pii_class", "owner", "declared_by"), "none"
    ),
)
# the workspace's own files: configuration, keys, and the containers of declared tables
for _glob, _what in (
    ("c360.yaml", "configuration"),
    (".gitignore", "configuration"),
    ("contracts/**", "source contracts"),
    (".c360/**", "key material"),
    ("lakehouse/**", "Delta tables, each declared as zone.table"),
    ("store/**", "the SQLite store, each table declared as store:<table>"),
    ("lineage/**", "OpenLineage events: dataset and job names, no personal data"),
):
    declare(f"file:{_glob}", owner="platform", columns={}, retained=None)
