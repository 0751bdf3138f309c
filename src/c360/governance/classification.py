"""The classification catalogue: every column of every table carries a class.

Where a class comes from, strongest first:

1. ``governance.classes`` in c360.yaml (an operator's override);
2. declarations by the stage that writes the table
   (:func:`c360.lakehouse.declarations.declare`, where the table is created) and
   runtime declarations (``GovernanceService.declare``, stored in ``gov_column_classes``);
3. the source contract (``ColumnSpec.pii``), including the ``<col>_token``,
   ``<col>_last4`` and ``<col>_variants`` columns that replace a tokenised one;
4. lineage/housekeeping columns (class ``none``);
5. name patterns (:data:`PATTERNS`);
6. otherwise ``unclassified``, which is governed as ``pii`` (fail closed).

The PII detector's findings (store ``pii_findings``) then raise a column's
class if they found something more sensitive than it was declared as.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from c360.governance._ws import table_schema
from c360.governance.tables import column_classes
from c360.lakehouse.declarations import registered
from c360.settings.governance import SEVERITY, GovernanceSettings
from c360.store.schema import pii_findings

if TYPE_CHECKING:
    from c360.workspace import Workspace

LINEAGE = {
    "_batch_id",
    "_source_file",
    "_row_number",
    "_ingested_at",
    "_row_hash",
    "_reason",
    "_line",
    "_delete",
    "_run_id",
}
TOKEN_SUFFIXES = ("_token", "_last4", "_variants")
TOKEN_CLASS = {"ssn": "pii_sensitive", "tin": "pii_sensitive", "pan": "pci_adjacent"}
FINDING_CLASS = {
    "ssn": "pii_sensitive",
    "pan": "pci_adjacent",
    "email": "pii",
    "phone": "pii",
    "account": "financial",
}

PATTERNS: list[tuple[str, str]] = [
    ("*ssn*", "pii_sensitive"),
    ("tin", "pii_sensitive"),
    ("tin_*", "pii_sensitive"),
    ("*_tin", "pii_sensitive"),
    ("*dob*", "pii_sensitive"),
    ("*birth*", "pii_sensitive"),
    ("pan", "pci_adjacent"),
    ("pan_*", "pci_adjacent"),
    ("*_pan", "pci_adjacent"),
    ("*card_number*", "pci_adjacent"),
    ("*email*", "pii"),
    ("*phone*", "pii"),
    ("*mobile*", "pii"),
    ("*name", "pii"),
    ("*address*", "pii"),
    ("street*", "pii"),
    ("zip*", "pii"),
    ("postcode", "pii"),
    ("city", "pii"),
    ("*balance*", "financial"),
    ("*amount*", "financial"),
    ("*income*", "financial"),
    ("*limit*", "financial"),
    ("*score*", "derived"),
    ("*propensity*", "derived"),
    ("*login*", "behavioural"),
    ("*_count", "behavioural"),
]


@dataclass(frozen=True)
class ColumnInfo:
    table: str
    column: str
    pii_class: str  # one of PiiClass, or "unclassified"
    origin: str
    owner: str
    findings: tuple[str, ...] = ()

    @property
    def effective(self) -> str:
        """The class masking uses: unclassified columns are governed as ``pii``."""
        return "pii" if self.pii_class == "unclassified" else self.pii_class


@dataclass
class TableEntry:
    table: str
    owner: str
    exists: bool
    columns: dict[str, ColumnInfo] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)  # column -> arrow type (existing tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "owner": self.owner,
            "exists": self.exists,
            "columns": [
                asdict(c) | {"findings": list(c.findings), "type": self.types.get(c.column)}
                for c in self.columns.values()
            ],
        }


def _max(a: str, b: str) -> str:
    return a if SEVERITY.get(a, 4) >= SEVERITY.get(b, 4) else b


def _pattern(column: str) -> str | None:
    low = column.lower()
    for glob, cls in PATTERNS:
        if fnmatch.fnmatchcase(low, glob):
            return cls
    return None


class Catalogue:
    """Classes of every column of every table in the lakehouse plus declared tables."""

    def __init__(
        self, ws: Workspace, settings: GovernanceSettings, only: Iterable[str] | None = None
    ) -> None:
        self._ws = ws
        self._s = settings
        self.tables: dict[str, TableEntry] = {}
        self._runtime_owner: dict[str, str] = {}
        self._build(set(only) if only is not None else None)

    # ------------------------------------------------------------------ build
    def _declared(self) -> dict[str, dict[str, tuple[str, str]]]:
        out: dict[str, dict[str, tuple[str, str]]] = {
            d.name: {c: (k, d.owner) for c, k in d.classes.items()}
            for d in registered()
            if d.kind == "lake" and "*" not in d.name
        }
        with self._ws.store.begin() as conn:
            for row in conn.execute(select(column_classes)):
                out.setdefault(row.table_name, {})[row.column_name] = (row.pii_class, row.owner)
                if row.owner:  # a runtime declaration names the table's current owner
                    self._runtime_owner[row.table_name] = row.owner
        return out

    def _findings(self) -> dict[tuple[str, str], set[str]]:
        out: dict[tuple[str, str], set[str]] = {}
        with self._ws.store.begin() as conn:
            rows = conn.execute(
                select(
                    pii_findings.c.source, pii_findings.c.column_name, pii_findings.c.kind
                ).distinct()
            )
            for source, col, kind in rows:
                out.setdefault((source, col), set()).add(kind)
        return out

    def owner_of(self, table: str, default: str = "") -> str:
        for glob, owner in self._s.owners.items():
            if fnmatch.fnmatchcase(table, glob):
                return owner
        return default or "unowned"

    def _build(self, only: set[str] | None) -> None:
        ws = self._ws
        contracts = ws.contracts()
        declared = self._declared()
        findings = self._findings()
        present: dict[str, dict[str, str]] = {}
        if only is None:
            qualified = [i.qualified for i in ws.lakehouse.tables(count_rows=False)]
        else:
            qualified = [t for t in only if ws.lakehouse.exists(*t.split(".", 1))]
        for table in qualified:
            schema = table_schema(ws, *table.split(".", 1))
            present[table] = {f.name: str(f.type) for f in schema}
        names = sorted(set(present) | set(declared) | set(self._s.classes))
        if only is not None:
            names = [n for n in names if n in only]
        for table in names:
            zone, _, name = table.partition(".")
            contract = (
                contracts.get(name)
                if zone in ("bronze", "silver", "restricted", "quarantine")
                else None
            )
            decl = declared.get(table, {})
            decl_owner = self._runtime_owner.get(table) or next(
                (o for _, o in decl.values() if o), ""
            )
            owner = self.owner_of(table, decl_owner or (contract.owner if contract else ""))
            entry = TableEntry(table, owner, table in present, types=present.get(table, {}))
            cols = present.get(table) or list(decl) or list(self._s.classes.get(table, {}))
            for col in cols:
                cls, origin = self._resolve(table, col, decl, contract)
                found = tuple(sorted(findings.get((name, col), set()))) if contract else ()
                for kind in found:
                    upgraded = _max(cls, FINDING_CLASS.get(kind, "pii"))
                    if upgraded != cls:
                        cls, origin = upgraded, origin + "+finding"
                entry.columns[col] = ColumnInfo(table, col, cls, origin, owner, found)
            self.tables[table] = entry

    def _resolve(
        self, table: str, col: str, decl: dict[str, tuple[str, str]], contract: Any
    ) -> tuple[str, str]:
        override = self._s.classes.get(table, {}).get(col)
        if override:
            return override, "config"
        if col in decl:
            return decl[col][0], "declared"
        if contract is not None:
            specs = {c.name: c for c in contract.columns}
            if col in specs:
                spec = specs[col]
                base = TOKEN_CLASS.get(spec.tokenize or "", "none")
                return _max(spec.pii, base), "contract"
            for suffix in TOKEN_SUFFIXES:
                stem = col[: -len(suffix)] if col.endswith(suffix) else None
                if stem and stem in specs and specs[stem].tokenize:
                    spec = specs[stem]
                    return _max(spec.pii, TOKEN_CLASS[spec.tokenize or ""]), "contract:token"
        if col in LINEAGE:
            return "none", "lineage"
        pat = _pattern(col)
        if pat:
            return pat, "pattern"
        return "unclassified", "unclassified"

    # ------------------------------------------------------------------ queries
    def table(self, zone: str, name: str) -> TableEntry | None:
        return self.tables.get(f"{zone}.{name}")

    def column(self, zone: str, name: str, column: str) -> ColumnInfo:
        entry = self.tables.get(f"{zone}.{name}")
        if entry and column in entry.columns:
            return entry.columns[column]
        cls, origin = self._resolve(f"{zone}.{name}", column, {}, self._ws.contracts().get(name))
        return ColumnInfo(f"{zone}.{name}", column, cls, origin, "unowned")

    def entries(self, tables: Iterable[str] | None = None) -> list[TableEntry]:
        keys = sorted(self.tables) if tables is None else [t for t in tables if t in self.tables]
        return [self.tables[k] for k in keys]
