"""Compile a masking decision to DuckDB SQL and run it over a table's Arrow dataset.

Each rule is a SQL template (:data:`RULE_SQL`); a read is one ``SELECT`` of
masked expressions with the role's row filters and the caller's equality
filters as bound parameters. Nested columns (lists, structs) are either clear
or NULL. The ``hash`` rule calls the workspace's keyed hash through a
vectorised DuckDB UDF, so equal values still join after masking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from c360.errors import C360Error

HASH_UDF = "c360_keyed_hash"

RULE_SQL: dict[str, str] = {
    "clear": "{c}",
    "mask": "CASE WHEN {c} IS NULL THEN NULL ELSE '****' END",
    "last4": "right(regexp_replace(CAST({c} AS VARCHAR), '[^0-9A-Za-z]', '', 'g'), 4)",
    "hash": HASH_UDF + "(CAST({c} AS VARCHAR))",
    "year_only": "year(TRY_CAST({c} AS DATE))",
    "null": "CASE WHEN false THEN {c} END",
}


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _nested(t: pa.DataType) -> bool:
    return bool(pa.types.is_nested(t))


def expression(column: str, rule: str, arrow_type: pa.DataType) -> str:
    if _nested(arrow_type) and rule != "clear":
        rule = "null"
    return RULE_SQL[rule].format(c=q(column)) + f" AS {q(column)}"


@dataclass
class Plan:
    """A compiled governed read: SQL, parameters and the rule of each column."""

    sql: str
    params: list[Any]
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
    params: list[Any] = []
    for col, value in row_filters:
        if value is None or col not in names:
            conds.append("false")
        else:
            conds.append(f"CAST({q(col)} AS VARCHAR) = ?")
            params.append(str(value))
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
        conds.append(f"{q(col)} IN ({', '.join('?' for _ in values)})")
        params += values
    sql = f"SELECT {', '.join(exprs)} FROM governed_source"
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    return Plan(sql, params, {c: rules[c] for c in wanted})


def _hash_udf(keyed_hash: Callable[[str], str]) -> Callable[[pa.Array], pa.Array]:
    def fn(arr: pa.Array) -> pa.Array:
        enc = pc.dictionary_encode(arr)
        if isinstance(enc, pa.ChunkedArray):
            enc = enc.combine_chunks()
        hashed = pa.array([keyed_hash(v) for v in enc.dictionary.to_pylist()], pa.string())
        return pc.take(hashed, enc.indices)

    return fn


def execute(
    plan: Plan, data: pads.Dataset | pa.Table, keyed_hash: Callable[[str], str]
) -> pa.Table:
    con = duckdb.connect()
    try:
        con.create_function(
            HASH_UDF,
            _hash_udf(keyed_hash),
            ["VARCHAR"],
            "VARCHAR",  # type: ignore[call-overload]
            type="arrow",
        )
        con.register("governed_source", data)
        return con.sql(plan.sql, params=plan.params).to_arrow_table()
    finally:
        con.close()
