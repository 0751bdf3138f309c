"""Compile a masking decision to SQL and run it on an engine over a table's Arrow dataset.

Each rule is a SQL template (:data:`RULE_SQL`, authoring dialect); a read is one
``SELECT`` of masked expressions with the role's row filters and the caller's
equality filters as literals written by sqlglot, so the same plan runs on any
:class:`~c360.engine.Engine`. Nested columns (lists, structs) are either clear or
NULL. The ``hash`` rule selects the value as text and the workspace's keyed hash is
applied to the Arrow result (once per distinct value), so equal values still join
after masking and no engine has to call Python from SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from c360.engine import AUTHORING_DIALECT, Engine, ident, literal
from c360.errors import C360Error

RULE_SQL: dict[str, str] = {
    "clear": "{c}",
    "mask": "CASE WHEN {c} IS NULL THEN NULL ELSE '****' END",
    "last4": "right(regexp_replace(CAST({c} AS VARCHAR), '[^0-9A-Za-z]', '', 'g'), 4)",
    "hash": "CAST({c} AS VARCHAR)",  # hashed after the query: see :func:`execute`
    "year_only": "year(TRY_CAST({c} AS DATE))",
    "null": "CASE WHEN false THEN {c} END",
}


def q(name: str) -> str:
    """``name`` as a quoted identifier of the authoring dialect (sqlglot quotes it)."""
    return ident(name).sql(dialect=AUTHORING_DIALECT)


def _lit(value: Any) -> str:
    return literal(value).sql(dialect=AUTHORING_DIALECT)


def _nested(t: pa.DataType) -> bool:
    return bool(pa.types.is_nested(t))


def expression(column: str, rule: str, arrow_type: pa.DataType) -> str:
    if _nested(arrow_type) and rule != "clear":
        rule = "null"
    return RULE_SQL[rule].format(c=q(column)) + f" AS {q(column)}"


@dataclass
class Plan:
    """A compiled governed read: SQL (authoring dialect) and the rule of each column."""

    sql: str
    rules: dict[str, str]


def compile_read(
    schema: pa.Schema,
    rules: Mapping[str, str],
    *,
    columns: Sequence[str] | None,
    row_filters: Sequence[tuple[str, Any]],
    where: Mapping[str, Any] | None,
) -> Plan:
    """``row_filters``: (column, value) pairs; a value of ``None`` denies every row."""
    names = [f.name for f in schema]
    wanted = list(columns) if columns else names
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise C360Error(
            "governance.unknown_column",
            f"unknown column(s): {', '.join(unknown)}",
            {"columns": unknown},
            http_status=400,
        )
    exprs = [expression(c, rules[c], schema.field(c).type) for c in wanted]
    conds: list[str] = []
    for col, value in row_filters:
        if value is None or col not in names:
            conds.append("false")
        else:
            conds.append(f"CAST({q(col)} AS VARCHAR) = {_lit(str(value))}")
    for col, value in (where or {}).items():
        if col not in names:
            raise C360Error(
                "governance.unknown_column",
                f"unknown filter column {col!r}",
                {"column": col},
                http_status=400,
            )
        if rules.get(col) != "clear":
            raise C360Error(
                "governance.filter_on_masked",
                f"cannot filter on {col!r}: it is masked ({rules.get(col)}) for you",
                {"column": col},
                http_status=403,
            )
        values = list(value) if isinstance(value, list | tuple | set) else [value]
        if not values:
            conds.append("false")
            continue
        conds.append(f"{q(col)} IN ({', '.join(_lit(v) for v in values)})")
    sql = f"SELECT {', '.join(exprs)} FROM governed_source"
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    return Plan(sql, {c: rules[c] for c in wanted})


def _hashed(arr: pa.ChunkedArray, keyed_hash: Callable[[str], str]) -> pa.Array:
    """``keyed_hash`` of every value (nulls stay null), computed once per distinct value."""
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    hashed = pa.array([keyed_hash(v) for v in enc.dictionary.to_pylist()], pa.string())
    return pc.take(hashed, enc.indices)


def execute(
    plan: Plan,
    data: pads.Dataset | pa.Table,
    keyed_hash: Callable[[str], str],
    engine: Engine,
) -> pa.Table:
    """Run ``plan`` on ``engine`` (a fork: the source is registered as ``governed_source``)."""
    with engine.temp_views(governed_source=data):
        out = engine.query(plan.sql)
    for i, name in enumerate(out.column_names):
        if plan.rules.get(name) == "hash" and not _nested(out.schema.field(i).type):
            text = out.column(i).cast(pa.string())
            out = out.set_column(i, pa.field(name, pa.string()), _hashed(text, keyed_hash))
    return out
