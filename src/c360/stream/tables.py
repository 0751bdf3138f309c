"""Tables of the streaming intake: the store's inbox and apply log, and the lake's events zone.

Store (created by the frozen migration ``0900_stream``):

- ``stream_inbox`` — every event as it arrived (HTTP, NATS, replay), accepted or
  rejected, at an increasing ``position``. It is the intake buffer: the loop reads
  it in position order, and rows of batches committed to the lake are pruned.
- ``stream_applied`` — one row per event id ever applied, with the batch that
  applied it: deduplication by event id, and the record of what a batch did.
- ``stream_batches`` — one row per micro-batch: the inbox positions it covered
  (the checkpoint, written in the same transaction as the effects it produced),
  counts, checksum, latencies, and whether its lake commits have landed.
- ``stream_identifiers`` — identifiers the stream resolved or attached to a golden
  record (``attached``, ``new``, ``conflict``): the incremental identity decisions.
- ``stream_features`` — per golden record, the online features the stream keeps
  current (event counts, last login, last event time).
- ``stream_windows`` — per golden record and event window (``stream.trigger_window_seconds``
  of event time), the counters the stream triggers read.
- ``stream_firings`` — one row per (trigger, golden record, event window) that fired:
  the primary key is the exactly-once key, and the row names the decision taken for it
  (written in the decision's transaction) and the event → decision latency.

Created by the frozen migrations ``0900_stream`` and ``0910_stream_decisions``.

Lake: ``bronze.stream_events`` (every accepted event, duplicates included),
``silver.stream_events`` (each event id once, with its golden id) and
``quarantine.stream_events`` (refused events with ``_reason``).
"""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import JSON, BigInteger, Column, Float, Index, Integer, String, Table, Text

from c360.lakehouse.declarations import ColumnSpec, declare
from c360.store.schema import metadata

stream_inbox = Table(
    "stream_inbox",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(128)),
    Column("intake", String(16), nullable=False),  # http | nats | replay
    Column("status", String(10), nullable=False),  # accepted | rejected
    Column("code", String(60)),
    Column("reason", Text),
    Column("body", Text, nullable=False),
    Column("received_at_us", BigInteger, nullable=False),
    sqlite_autoincrement=True,  # positions are never reused after the inbox is pruned
)

stream_applied = Table(
    "stream_applied",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("batch_id", String(40), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("golden_id", String(64)),
    Column("received_at_us", BigInteger, nullable=False),
    Column("applied_at_us", BigInteger, nullable=False),
    Index("ix_stream_applied_batch", "batch_id"),
    Index("ix_stream_applied_at", "applied_at_us"),
)

stream_batches = Table(
    "stream_batches",
    metadata,
    Column("batch_id", String(40), primary_key=True),
    Column("first_position", BigInteger, nullable=False),
    Column("last_position", BigInteger, nullable=False),
    Column("events", Integer, nullable=False),
    Column("applied", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("checksum", String(64), nullable=False),
    Column("lag_events", BigInteger, nullable=False),
    Column("latency_p50_ms", Float),
    Column("latency_p99_ms", Float),
    Column("status", String(12), nullable=False),  # pending | committed
    Column("started_at_us", BigInteger, nullable=False),
    Column("committed_at_us", BigInteger),
)

stream_identifiers = Table(
    "stream_identifiers",
    metadata,
    Column("id_type", String(16), primary_key=True),
    Column("id_value", String(320), primary_key=True),
    Column("golden_id", String(64)),
    Column("outcome", String(10), nullable=False),  # attached | new | conflict
    Column("event_id", String(128), nullable=False),
    Column("recorded_at_us", BigInteger, nullable=False),
    Index("ix_stream_identifiers_golden", "golden_id"),
)

stream_features = Table(
    "stream_features",
    metadata,
    Column("golden_id", String(64), primary_key=True),
    Column("events", BigInteger, nullable=False),
    Column("logins", BigInteger, nullable=False),
    Column("failed_logins", BigInteger, nullable=False),
    Column("last_login_at_us", BigInteger),
    Column("last_event_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
)

stream_windows = Table(
    "stream_windows",
    metadata,
    Column("golden_id", String(64), primary_key=True),
    Column("window_start_us", BigInteger, primary_key=True),
    Column("events", Integer, nullable=False),
    Column("logins", Integer, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("sms_stops", Integer, nullable=False),
    Column("new_identifiers", Integer, nullable=False),
    Column("last_received_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
)

stream_firings = Table(
    "stream_firings",
    metadata,
    Column("trigger", String(80), primary_key=True),
    Column("golden_id", String(64), primary_key=True),
    Column("window_start_us", BigInteger, primary_key=True),
    Column("batch_id", String(40), nullable=False),
    Column("weight", Float, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("received_at_us", BigInteger, nullable=False),  # the latest event that fired it
    Column("fired_at_us", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # pending | decided | no_context
    Column("decision_id", String(32)),
    Column("decided_at_us", BigInteger),
    Index("ix_stream_firings_status", "status"),
    Index("ix_stream_firings_decided", "decided_at_us"),
)

ALL_TABLES = [
    stream_inbox,
    stream_applied,
    stream_batches,
    stream_identifiers,
    stream_features,
    stream_windows,
    stream_firings,
]

# ---------------------------------------------------------------------- lake schemas
EVENT_COLUMNS = [
    ("event_id", pa.string()),
    ("type", pa.string()),
    ("source", pa.string()),
    ("event_at", pa.timestamp("us", tz="UTC")),
    ("received_at", pa.timestamp("us", tz="UTC")),
    ("intake", pa.string()),
    ("identifiers", pa.string()),  # JSON object
    ("email", pa.string()),  # the identifiers again, one column per kind, for DSR
    ("phone", pa.string()),
    ("source_key", pa.string()),
    ("payload", pa.string()),  # JSON object
    ("_position", pa.int64()),
    ("_batch_id", pa.string()),
]
BRONZE_EVENTS = pa.schema(EVENT_COLUMNS)
SILVER_EVENTS = pa.schema([*EVENT_COLUMNS[:11], ("golden_id", pa.string()), *EVENT_COLUMNS[11:]])
QUARANTINE_EVENTS = pa.schema(
    [
        ("event_id", pa.string()),
        ("intake", pa.string()),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("code", pa.string()),
        ("_reason", pa.string()),
        ("_raw", pa.string()),
        ("_position", pa.int64()),
        ("_batch_id", pa.string()),
    ]
)
LAKE = "stream_events"

# ---------------------------------------------------------------------- declarations
_EVENT: dict[str, ColumnSpec] = {
    "event_id": "none",
    "type": "none",
    "source": "none",
    "event_at": "behavioural",
    "received_at": "none",
    "intake": "none",
    # identifiers and payload carry e-mails, phones and source keys as JSON text
    "identifiers": ("pii", "text"),
    "email": ("pii", "email"),
    "phone": ("pii", "phone"),
    "source_key": ("derived", "source_key"),
    "payload": ("pii", "text"),
    "_position": "none",
}
declare("bronze.stream_events", owner="stream", columns=_EVENT)
declare(
    "silver.stream_events",
    owner="stream",
    columns={**_EVENT, "golden_id": ("derived", "golden_id")},
)
declare(
    "quarantine.stream_events",
    owner="stream",
    columns={
        "event_id": "none",
        "intake": "none",
        "received_at": "none",
        "code": "none",
        "_raw": ("pii", "text"),
        "_position": "none",
    },
)
declare(
    "store:stream_inbox",
    owner="stream",
    columns={
        "position": "none",
        "event_id": "none",
        "intake": "none",
        "status": "none",
        "code": "none",
        "reason": "none",
        "body": ("pii", "text"),
        "received_at_us": "none",
    },
)
declare(
    "store:stream_applied",
    owner="stream",
    columns={
        "event_id": "none",
        "batch_id": "none",
        "position": "none",
        "golden_id": ("derived", "golden_id"),
        "received_at_us": "none",
        "applied_at_us": "none",
    },
)
declare(
    "store:stream_batches",
    owner="stream",
    columns=dict.fromkeys((c.name for c in stream_batches.columns), "none"),
)
declare(
    "store:stream_identifiers",
    owner="stream",
    typed=("id_type", "id_value"),
    columns={
        "id_type": "none",
        "id_value": "pii",
        "golden_id": ("derived", "golden_id"),
        "outcome": "derived",
        "event_id": "none",
        "recorded_at_us": "none",
    },
)
declare(
    "store:stream_features",
    owner="stream",
    columns={
        "golden_id": ("derived", "golden_id"),
        "events": "behavioural",
        "logins": "behavioural",
        "failed_logins": "behavioural",
        "last_login_at_us": "behavioural",
        "last_event_at_us": "behavioural",
        "updated_at_us": "none",
    },
)
declare(
    "store:stream_windows",
    owner="stream",
    columns={
        "golden_id": ("derived", "golden_id"),
        **dict.fromkeys(
            ("events", "logins", "failed_logins", "sms_stops", "new_identifiers"), "behavioural"
        ),
        "window_start_us": "none",
        "last_received_at_us": "none",
        "updated_at_us": "none",
    },
)
declare(
    "store:stream_firings",
    owner="stream",
    columns={
        "trigger": "none",
        "golden_id": ("derived", "golden_id"),
        "window_start_us": "none",
        "batch_id": "none",
        "weight": "none",
        "evidence": "behavioural",
        "received_at_us": "none",
        "fired_at_us": "none",
        "status": "none",
        "decision_id": "none",
        "decided_at_us": "none",
    },
)
