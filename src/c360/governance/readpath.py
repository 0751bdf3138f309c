"""The one read path: SQL written against the lakehouse may name governed views only.

Audience SQL (and later any query a person or a downstream system sends) reads
lakehouse tables as ``<zone>__<name>`` views. :func:`vet_sql` parses it with
sqlglot and refuses a raw zone (``bronze__``, ``quarantine__``, ``restricted__``),
a file read (``read_csv``, ``read_parquet``, a quoted path) or anything that is
not a single read-only query, so a raw copy of personal data can never be
reached around the governed read.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from c360.governance.policy import denied

RAW_ZONES = ("bronze", "quarantine", "restricted")


def vet_sql(sql: str) -> list[str]:
    """Return the views ``sql`` reads; raise ``governance.raw_zone_refused`` and friends."""
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except ParseError as exc:
        raise denied("bad_query", f"the query does not parse: {exc}") from exc
    if len(statements) != 1 or statements[0] is None:
        raise denied("bad_query", "exactly one query is allowed")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise denied("bad_query", f"only a read-only query is allowed, not {tree.key.upper()}")
    names: list[str] = []
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or table.args.get("db"):
            raise denied(
                "file_read_refused",
                "read lakehouse views (<zone>__<table>), not files or other catalogues",
                table=table.sql("duckdb"),
            )
        name = table.name
        if any(c in name for c in "/\\.:"):
            raise denied("file_read_refused", f"{name!r} is a file; use lakehouse views")
        zone = name.split("__", 1)[0].lower() if "__" in name else ""
        if zone in RAW_ZONES:
            raise denied(
                "raw_zone_refused",
                f"{name} is in the raw zone {zone!r}; queries see governed views only",
                table=name,
            )
        names.append(name)
    for fn in tree.find_all(exp.Anonymous, exp.ReadCSV, exp.ReadParquet):
        fname = str(fn.this if isinstance(fn, exp.Anonymous) else fn.key).lower()
        if fname.startswith("read_") or "scan" in fname:
            raise denied("file_read_refused", f"{fname}() reads files; use lakehouse views")
    return sorted(set(names))
