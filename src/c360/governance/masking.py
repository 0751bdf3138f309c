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

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import sqlglot
from sqlglot import exp

from c360.engine import AUTHORING_DIALECT, Engine
from c360.engine import quoted as q
from c360.errors import C360Error

RULE_SQL: dict[str, str] = {
    "clear": "{c}",
    "mask": "CASE WHEN {c} IS NULL THEN NULL ELSE '****' END",
    "last4": "right(regexp_replace(CAST({c} AS VARCHAR), '[^0-9A-Za-z]', '', 'g'), 4)",
    "hash": "CAST({c} AS VARCHAR)",  # hashed after the query: see :func:`execute`
    "year_only": "year(TRY_CAST({c} AS DATE))",
    "null": "CASE WHEN false THEN {c} END",
}


def _nested(t: pa.DataType) -> bool:
    return bool(pa.types.is_nested(t))


def expression(column: str, rule: str, arrow_type: pa.DataType) -> str:
    if _nested(arrow_type) and rule != "clear":
        rule = "null"
    return RULE_SQL[rule].format(c=q(column)) + f" AS {q(column)}"


@dataclass
class Plan:
    """A compiled governed read: SQL (authoring dialect, ``?`` for each parameter), its
    parameters and the rule of each column. Parameters become literals written by sqlglot
    when the plan runs on an engine (:func:`execute`).

    ``conds`` says what the SQL's ``WHERE`` does, condition by condition (``false``;
    ``text_eq`` column, one parameter; ``in`` column, n parameters), so that
    :func:`prepare` can compile the same plan for a few rows held in memory.
    """

    sql: str
    params: list[Any]
    rules: dict[str, str]
    conds: tuple[tuple[str, str, int], ...] = ()
    rows: RowProgram | None = None  # set by prepare() when every column allows it

    def bind(self, params: list[Any]) -> Plan:
        return Plan(self.sql, params, self.rules, self.conds, self.rows)


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
    shape: list[tuple[str, str, int]] = []
    for col, value in row_filters:
        if value is None or col not in names:
            conds.append("false")
            shape.append(("false", col, 0))
        else:
            conds.append(f"CAST({q(col)} AS VARCHAR) = ?")
            params.append(str(value))
            shape.append(("text_eq", col, 1))
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
            shape.append(("false", col, 0))
            continue
        conds.append(f"{q(col)} IN ({', '.join('?' for _ in values)})")
        params += values
        shape.append(("in", col, len(values)))
    sql = f"SELECT {', '.join(exprs)} FROM governed_source"
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    return Plan(sql, params, {c: rules[c] for c in wanted}, tuple(shape))


# ---------------------------------------------------------------------- a few rows in memory
#: The rules of :data:`RULE_SQL` for one Python value, where the column's type makes the
#: SQL's meaning plain (strings; dates for ``year_only``); any other type keeps the engine.
#: ``tests/governance/test_masking.py`` checks both forms give the same answer.
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
Cell = Callable[[Any, Callable[[str], str]], Any]


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _cell(rule: str, t: pa.DataType) -> Cell | None:
    if _nested(t) and rule != "clear":
        rule = "null"
    if rule == "clear":
        return lambda v, _h: v
    if rule == "null":
        return lambda _v, _h: None
    if rule == "mask":
        return lambda v, _h: None if v is None else "****"
    if rule == "last4" and _is_text(t):
        return lambda v, _h: None if v is None else _NOT_ALNUM.sub("", v)[-4:]
    if rule == "hash" and _is_text(t):
        return lambda v, h: None if v is None else h(v)
    if rule == "year_only" and (pa.types.is_date32(t) or pa.types.is_date64(t)):
        return lambda v, _h: None if v is None else v.year
    return None


@dataclass(frozen=True)
class RowProgram:
    """A plan compiled for rows held in memory: one function per column, the conditions,
    and the Arrow schema DuckDB gives the same plan's answer (so both answers are alike)."""

    cells: tuple[tuple[str, str, Cell], ...]  # (output column, input column, function)
    conds: tuple[tuple[str, str, int], ...]
    schema: pa.Schema

    def run(self, data: pa.Table, params: list[Any], keyed_hash: Callable[[str], str]) -> pa.Table:
        out = []
        for row in data.to_pylist():
            if self._keep(row, params):
                out.append({name: fn(row[src], keyed_hash) for name, src, fn in self.cells})
        return pa.Table.from_pylist(out, schema=self.schema)

    def _keep(self, row: dict[str, Any], params: list[Any]) -> bool:
        i = 0
        for kind, col, n in self.conds:
            if kind == "false":
                return False
            value, args = row.get(col), params[i : i + n]
            i += n
            if value is None or value not in args:
                return False
        return True


def prepare(
    plan: Plan, schema: pa.Schema, keyed_hash: Callable[[str], str], engine: Engine
) -> Plan:
    """``plan`` with a :class:`RowProgram` for a few rows of ``schema`` held in memory,
    when every column's rule and every condition's column allow it (else unchanged)."""
    cells = []
    for name, rule in plan.rules.items():
        fn = _cell(rule, schema.field(name).type)
        if fn is None:
            return plan
        cells.append((name, name, fn))
    for kind, col, _n in plan.conds:
        if kind != "false" and not _is_text(schema.field(col).type):
            return plan
    out = execute(plan, schema.empty_table(), keyed_hash, engine).schema
    program = RowProgram(tuple(cells), plan.conds, out)
    return Plan(plan.sql, plan.params, plan.rules, plan.conds, program)


#: Up to this many rows in memory, a prepared plan runs in Python: one engine query costs
#: more than masking a record by hand.
SMALL = 64


def _hashed(arr: pa.ChunkedArray, keyed_hash: Callable[[str], str]) -> pa.Array:
    """``keyed_hash`` of every value (nulls stay null), computed once per distinct value."""
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    hashed = pa.array([keyed_hash(v) for v in enc.dictionary.to_pylist()], pa.string())
    return pc.take(hashed, enc.indices)


def _bound(plan: Plan) -> str:
    """The plan's SQL with its parameters as literals (sqlglot writes and escapes them)."""
    if not plan.params:
        return plan.sql
    tree = exp.replace_placeholders(_parsed(plan.sql), *plan.params)
    return tree.sql(dialect=AUTHORING_DIALECT)


@lru_cache(maxsize=512)
def _parsed(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read=AUTHORING_DIALECT)  # type: ignore[return-value]


def execute(
    plan: Plan,
    data: pads.Dataset | pa.Table,
    keyed_hash: Callable[[str], str],
    engine: Engine,
) -> pa.Table:
    """Run ``plan`` over ``data``: a few rows held in memory by its prepared program, else on
    a fork of ``engine`` (the source registered as ``governed_source``)."""
    if plan.rows is not None and isinstance(data, pa.Table) and data.num_rows <= SMALL:
        return plan.rows.run(data, plan.params, keyed_hash)
    with engine.fork() as eng, eng.temp_views(governed_source=data):
        out = eng.query(_bound(plan))
    for i, name in enumerate(out.column_names):
        if plan.rules.get(name) == "hash" and not _nested(out.schema.field(i).type):
            text = out.column(i).cast(pa.string())
            out = out.set_column(i, pa.field(name, pa.string()), _hashed(text, keyed_hash))
    return out
