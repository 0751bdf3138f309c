"""The one schema definition of every table identity resolution writes.

Other stages depend on these shapes (``gold.identity_links`` above all); the
writers cast to them so a drift is an error at write time, not a surprise later.
"""

from __future__ import annotations

import pyarrow as pa

from c360.errors import C360Error

PARTY_RECORDS = pa.schema(
    [
        ("record_id", pa.string()),  # "<source>:<source_key>"
        ("source", pa.string()),
        ("source_key", pa.string()),
        ("first_name", pa.string()),
        ("middle_name", pa.string()),
        ("last_name", pa.string()),
        ("suffix", pa.string()),
        ("first_key", pa.string()),  # nickname-canonical first name
        ("last_key", pa.string()),
        ("dob", pa.date32()),
        ("dob_ambiguous", pa.bool_()),  # day and month both ≤ 12 and different
        ("ssn_token", pa.string()),
        ("ssn_last4", pa.string()),
        ("ssn_variants", pa.list_(pa.string())),
        ("email", pa.string()),
        ("emails", pa.list_(pa.string())),
        ("phone", pa.string()),
        ("phones", pa.list_(pa.string())),
        ("street", pa.string()),
        ("city", pa.string()),
        ("state", pa.string()),
        ("zip", pa.string()),
        ("refs", pa.list_(pa.string())),  # "<source>:<key>" of referenced records
        ("updated_at", pa.timestamp("us", tz="UTC")),
        ("trust", pa.int32()),
        ("row_hash", pa.string()),
        ("no_identity_reason", pa.string()),
    ]
)

PAIRS = pa.schema(
    [
        ("record_id_l", pa.string()),
        ("record_id_r", pa.string()),
        ("match_weight", pa.float64()),
        ("match_probability", pa.float64()),
        ("rule", pa.string()),
        ("detail", pa.string()),  # JSON: per-comparison match weights
    ]
)

IDENTITY_LINKS = pa.schema(
    [
        ("source", pa.string()),
        ("source_key", pa.string()),
        ("golden_id", pa.string()),
        ("rule", pa.string()),
        ("probability", pa.float64()),
        ("run_id", pa.string()),
        ("is_current", pa.bool_()),
        ("record_id", pa.string()),
        ("reason", pa.string()),
        ("valid_from", pa.timestamp("us", tz="UTC")),
        ("valid_to", pa.timestamp("us", tz="UTC")),
    ]
)

IDENTITY_EVENTS = pa.schema(
    [
        ("event_id", pa.string()),
        ("run_id", pa.string()),
        ("event_type", pa.string()),  # create | merge | split | reassign | retire
        ("golden_id", pa.string()),
        ("related_golden_id", pa.string()),  # merge: the survivor; split: the origin
        ("record_ids", pa.list_(pa.string())),
        ("reason", pa.string()),
        ("at", pa.timestamp("us", tz="UTC")),
    ]
)

_ORIGIN = pa.struct(
    [
        ("source", pa.string()),
        ("source_key", pa.string()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)
#: ``gold.golden_customers.provenance``: where each attribute group survived from.
PROVENANCE = pa.struct(
    [(g, _ORIGIN) for g in ("name", "dob", "ssn_last4", "email", "phone", "address")]
)

GOLDEN_CUSTOMERS = pa.schema(
    [
        ("golden_id", pa.string()),
        ("first_name", pa.string()),
        ("middle_name", pa.string()),
        ("last_name", pa.string()),
        ("suffix", pa.string()),
        ("dob", pa.date32()),
        ("ssn_last4", pa.string()),
        ("email", pa.string()),
        ("phone", pa.string()),
        ("street", pa.string()),
        ("city", pa.string()),
        ("state", pa.string()),
        ("zip", pa.string()),
        ("emails", pa.list_(pa.string())),
        ("phones", pa.list_(pa.string())),
        ("addresses", pa.list_(pa.string())),
        ("provenance", PROVENANCE),  # per attribute group: the record it survived from
        ("record_count", pa.int64()),
        ("sources", pa.list_(pa.string())),
        ("run_id", pa.string()),
    ]
)


# silver.identity_generic: every value whose status is not the default (see rules.status_sql)
STATUS = pa.schema(
    [
        ("kind", pa.string()),
        ("value", pa.string()),
        ("people", pa.int64()),
        ("generic", pa.bool_()),
        ("ambiguous", pa.bool_()),
        ("one_person", pa.bool_()),
        ("household", pa.bool_()),  # a mailbox named for a couple or a family
        ("hard", pa.string()),  # the refusing attributes it was judged under (rules.hard_label)
    ]
)


def conform(table: pa.Table, schema: pa.Schema, name: str) -> pa.Table:
    """Select and cast ``table`` to ``schema``; a missing column is a clear error."""
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise C360Error(
            "identity.schema_mismatch",
            f"{name}: missing columns {', '.join(missing)}",
            {"table": name, "missing": missing},
        )
    return table.select(schema.names).cast(schema)
