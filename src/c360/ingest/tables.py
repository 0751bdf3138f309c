"""Declarations of the tables ingestion writes beyond the contract-derived source zones.

Bronze, silver, quarantine and restricted ``<source>`` tables and the landing files
are declared by each source's contract (:func:`c360.lakehouse.declarations.for_contract`).
``restricted.pii_in_text`` holds the raw SSNs, card numbers, e-mails and phones the
PII detector found (and redacted) in free text, per source record.
"""

from __future__ import annotations

from c360.lakehouse.declarations import declare

PII_IN_TEXT = declare(
    "restricted.pii_in_text",
    owner="ingest",
    source_key=("source", "source_key"),
    typed=("kind", "value"),
    columns={
        "source": "none",
        "source_key": "derived",
        "column": "none",
        "kind": "none",
        "value": "pii_sensitive",
        "token": "pii_sensitive",
    },
)
