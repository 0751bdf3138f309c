"""Zones of the lakehouse and what each may hold (DESIGN.md §4)."""

from __future__ import annotations

from typing import Literal

Zone = Literal["bronze", "silver", "gold", "restricted", "quarantine"]

ZONES: dict[str, str] = {
    "bronze": "append-only raw rows with lineage columns, one table per source",
    "silver": "typed, contract-checked current state (snapshot sources) or facts (event sources)",
    "gold": "golden records, identity crosswalk, features, scores, audiences",
    "restricted": "raw SSN/TIN/PAN and raw quarantined lines; Privacy/Governance only",
    "quarantine": "every rejected row with its reason and batch",
}

# Lineage columns every bronze row carries.
LINEAGE_COLUMNS = ("_batch_id", "_source_file", "_row_number", "_ingested_at", "_row_hash")
