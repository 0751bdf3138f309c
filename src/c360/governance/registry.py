"""The registry of tables that hold personal data, and how a person is found in each.

DSR export/erase and retention walk this registry. Source tables are derived
from the contracts (key columns, identity mapping: emails, phones, SSN); gold
tables and operational-store tables are registered by the capability that owns
them (``register_lake_table`` / ``register_store_table``, e.g. consent registers
``consent_events``). Identifier kinds: ``source_key`` (qualified by source),
``golden_id``, ``email``, ``phone``, ``ssn`` (raw, restricted only), ``ssn_token``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from c360.workspace import Workspace

STRONG = ("source_key", "golden_id", "ssn_token", "ssn")


@dataclass(frozen=True)
class PersonalTable:
    table: str  # zone.table, or store:<name>
    columns: dict[str, str]  # column -> identifier kind
    source: str | None = None  # for source_key columns
    key: tuple[str, ...] = field(default=())  # the source's key columns, joined by '|'


_LAKE: dict[str, PersonalTable] = {
    "gold.identity_links": PersonalTable(
        "gold.identity_links", {"golden_id": "golden_id"}, key=("source", "source_key")
    ),
    "gold.golden_customers": PersonalTable(
        "gold.golden_customers",
        {"golden_id": "golden_id", "email": "email", "phone": "phone", "ssn_token": "ssn_token"},
    ),
    "gold.scores": PersonalTable("gold.scores", {"golden_id": "golden_id"}),
    "gold.audiences": PersonalTable("gold.audiences", {"golden_id": "golden_id"}),
    # SSNs/card numbers found in free text, per (source, source_key) of the row they were in
    "restricted.pii_in_text": PersonalTable(
        "restricted.pii_in_text",
        {"value": "ssn", "token": "ssn_token"},
        key=("source", "source_key"),
    ),
}
_STORE: dict[str, PersonalTable] = {}


def register_lake_table(table: str, columns: dict[str, str]) -> None:
    _LAKE[table] = PersonalTable(table, dict(columns))


def register_store_table(name: str, columns: dict[str, str]) -> None:
    _STORE[name] = PersonalTable(f"store:{name}", dict(columns))


def lake_tables(ws: Workspace) -> list[PersonalTable]:
    """Every lakehouse table known to hold personal data (contract-derived + registered)."""
    out = dict(_LAKE)
    for source, c in ws.contracts().items():
        cols: dict[str, str] = {}
        ident = c.identity
        for k in c.key:
            cols[k] = "source_key"
        if ident:
            for e in ident.emails:
                cols[e] = "email"
            for p in ident.phones:
                cols[p] = "phone"
        for spec in c.columns:
            if spec.tokenize in ("ssn", "tin"):
                cols[spec.name + "_token"] = "ssn_token"
            elif not ident and spec.pii == "pii" and "email" in spec.name.lower():
                cols[spec.name] = "email"
            elif not ident and spec.pii == "pii" and "phone" in spec.name.lower():
                cols[spec.name] = "phone"
        for zone in ("bronze", "silver", "quarantine", "restricted"):
            zcols = dict(cols)
            if zone == "restricted":
                zcols = {k: v for k, v in cols.items() if v in ("source_key", "ssn_token")}
                for spec in c.columns:
                    if spec.tokenize in ("ssn", "tin"):
                        zcols[spec.name] = "ssn"
            out[f"{zone}.{source}"] = PersonalTable(f"{zone}.{source}", zcols, source, tuple(c.key))
    out["gold.identity_links"] = PersonalTable(
        "gold.identity_links", {"golden_id": "golden_id"}, None, ("source", "source_key")
    )
    return sorted(out.values(), key=lambda t: t.table)


def store_tables() -> list[PersonalTable]:
    return sorted(_STORE.values(), key=lambda t: t.table)
