"""Finding one data subject in any declared table: identifiers, match SQL, delete predicates.

A subject is a closed set of normalised identifiers (:class:`Identifiers`). For a
declaration (:class:`~c360.lakehouse.declarations.Declaration`) this module
compiles, per column that can find people, a condition over the table's rows in
the authoring dialect (:func:`conditions`), run on a :class:`~c360.engine.Engine`; the raw values that matched then become an exact
SQL predicate (:func:`predicate`) that a targeted Delta ``delete`` or a store
``DELETE`` can run, built and quoted with sqlglot.

Strong identifiers (golden id, source key, SSN token) found in a matched row are
followed (:func:`expand`) only in tables about one person per row: a table with
two columns of the same kind (a pair of records, a review task) relates two
people, so its other side is never pulled in. Lists (``emails``) find rows but
are never followed either.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from c360.engine import Engine
from c360.engine import quoted as ident
from c360.engine import sql_literal as lit
from c360.lakehouse.declarations import Declaration
from c360.tokens import digits

STRONG = ("golden_id", "source_key", "ssn_token", "ssn")
# one form per mailbox, as identity and consent fold them: Gmail ignores dots and +tags
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


def fold_email(email: str) -> str:
    local, _, domain = email.rpartition("@")
    if domain in GMAIL_DOMAINS:
        return local.split("+", 1)[0].replace(".", "") + "@gmail.com"
    return email


def fold_email_sql(expr: str) -> str:
    local = f"regexp_extract({expr}, '^(.*)@[^@]*$', 1)"
    domain = f"regexp_extract({expr}, '@([^@]*)$', 1)"
    return (
        f"CASE WHEN {domain} IN ({', '.join(lit(d) for d in GMAIL_DOMAINS)}) "
        f"THEN replace(split_part({local}, '+', 1), '.', '') || '@gmail.com' ELSE {expr} END"
    )


def _email_sql(c: str) -> str:
    return fold_email_sql(f"lower(trim(CAST({c} AS VARCHAR)))")


NORM_SQL: dict[str, Any] = {
    "email": _email_sql,
    "phone": lambda c: f"right(regexp_replace(CAST({c} AS VARCHAR), '[^0-9]', '', 'g'), 10)",
    "ssn": lambda c: f"regexp_replace(CAST({c} AS VARCHAR), '[^0-9]', '', 'g')",
    "ssn_token": lambda c: f"CAST({c} AS VARCHAR)",
    "golden_id": lambda c: f"CAST({c} AS VARCHAR)",
    "source_key": lambda c: f"CAST({c} AS VARCHAR)",
}


def normalise(kind: str, value: Any) -> str | None:
    """The form identifiers of ``kind`` are compared in (the Python twin of :data:`NORM_SQL`)."""
    if value is None or str(value).strip() == "":
        return None
    v = str(value)
    if kind == "email":
        return fold_email(v.strip().lower())
    if kind == "phone":
        return (digits(v) or "")[-10:] or None
    if kind == "ssn":
        return digits(v) or None
    return v


@dataclass
class Identifiers:
    """The subject: normalised identifier values by kind."""

    values: dict[str, set[str]] = field(default_factory=dict)

    def add(self, kind: str, value: Any) -> bool:
        v = normalise(kind, value)
        if v is None:
            return False
        s = self.values.setdefault(kind, set())
        if v in s:
            return False
        s.add(v)
        return True

    def of(self, kind: str) -> list[str]:
        return sorted(self.values.get(kind, ()))

    def in_list(self, kind: str) -> str:
        """A SQL list literal of the kind's values (``['a', 'b']``)."""
        return "[" + ", ".join(lit(v) for v in self.of(kind)) + "]"


@dataclass(frozen=True)
class Condition:
    """How one column (or column group) of a table finds the subject."""

    columns: tuple[str, ...]
    sql: str
    kind: str  # identifier kind, or "key" / "typed"
    is_list: bool = False


def _key_expr(decl: Declaration, names: set[str]) -> str | None:
    if decl.key and decl.source and all(k in names for k in decl.key):
        parts = ", ".join(f"CAST({ident(k)} AS VARCHAR)" for k in decl.key)
        return f"{lit(decl.source + ':')} || concat_ws('|', {parts})"
    if decl.source_key and all(c in names for c in decl.source_key):
        s, k = (ident(c) for c in decl.source_key)
        return f"CAST({s} AS VARCHAR) || ':' || CAST({k} AS VARCHAR)"
    return None


def conditions(decl: Declaration, schema: pa.Schema, ids: Identifiers) -> list[Condition]:
    """Every condition by which ``decl``'s rows can be the subject's, given ``schema``."""
    names = set(schema.names)
    out: list[Condition] = []
    for col, kind in decl.finds.items():
        if col not in names:
            continue
        is_list = pa.types.is_list(schema.field(col).type) or pa.types.is_large_list(
            schema.field(col).type
        )
        if kind == "text":
            if not ids.of("email"):
                continue
            x = "lower(CAST(x AS VARCHAR))" if is_list else f"lower(CAST({ident(col)} AS VARCHAR))"
            hit = " OR ".join(f"contains({x}, {lit(e)})" for e in ids.of("email"))
        elif not ids.of(kind):
            continue
        else:
            x = "x" if is_list else ident(col)
            hit = f"list_contains({ids.in_list(kind)}, {NORM_SQL[kind](x)})"
        sql = f"len(list_filter({ident(col)}, x -> {hit})) > 0" if is_list else hit
        out.append(Condition((col,), f"coalesce({sql}, false)", kind, is_list))
    for col, src in decl.refs.items():
        if col in names and ids.of("source_key"):
            ref = f"{lit(src + ':')} || CAST({ident(col)} AS VARCHAR)"
            sql = f"coalesce(list_contains({ids.in_list('source_key')}, {ref}), false)"
            out.append(Condition((col,), sql, "ref"))
    key = _key_expr(decl, names)
    if key is not None and ids.of("source_key"):
        cols = decl.key if decl.key else tuple(decl.source_key or ())
        sql = f"coalesce(list_contains({ids.in_list('source_key')}, {key}), false)"
        out.append(Condition(tuple(cols), sql, "key"))
    if decl.typed and all(c in names for c in decl.typed):
        tcol, vcol = decl.typed
        alias = {**{k: k for k in (*STRONG, "email", "phone")}, **decl.typed_alias}
        parts = []
        for table_type, kind in sorted(alias.items()):
            if kind in NORM_SQL and ids.of(kind):
                parts.append(
                    f"({ident(tcol)} = {lit(table_type)} AND "
                    f"list_contains({ids.in_list(kind)}, {NORM_SQL[kind](ident(vcol))}))"
                )
        if parts:
            out.append(Condition((tcol, vcol), f"coalesce({' OR '.join(parts)}, false)", "typed"))
    return out


def where(conds: list[Condition], *, lists: bool = True) -> str:
    picked = [c.sql for c in conds if lists or not c.is_list]
    return "(" + " OR ".join(picked) + ")" if picked else "false"


def single_person(decl: Declaration) -> bool:
    """A row holds one person unless two scalar columns find the same kind (a pair)."""
    counts = Counter(k for k in decl.finds.values() if k in STRONG)
    counts["source_key"] += len(decl.refs)
    return all(n <= 1 for n in counts.values())


def expand(ids: Identifiers, decl: Declaration, rows: pa.Table, engine: Engine) -> bool:
    """Add the strong identifiers of matched ``rows``; returns whether the subject grew."""
    if not single_person(decl) or rows.num_rows == 0:
        return False
    grew = False
    for col, kind in decl.finds.items():
        if kind not in STRONG or col not in rows.column_names:
            continue
        if pa.types.is_list(rows.schema.field(col).type):
            continue
        for v in pc.unique(rows[col]).to_pylist():
            grew |= ids.add(kind, v)
    names = set(rows.column_names)
    for col, src in decl.refs.items():
        if col in names:
            for v in pc.unique(rows[col]).to_pylist():
                if v is not None:
                    grew |= ids.add("source_key", f"{src}:{v}")
    key = _key_expr(decl, names)
    if key is not None:
        with engine.temp_views(expand_rows=rows):
            keys = engine.query(f"SELECT DISTINCT {key} FROM expand_rows")
        for v in keys.column(0).to_pylist():
            grew |= ids.add("source_key", v)
    return grew


def predicate(engine: Engine, view: str, conds: list[Condition], dialect: str) -> str | None:
    """An exact predicate over raw stored values for the rows matched by scalar conditions.

    Runs each condition over ``view`` and collects the distinct raw values of its
    columns, so the statement deletes exactly those rows (no normalisation needed
    by the engine that runs it). ``None`` when nothing matched.
    """
    ors: list[Any] = []
    for c in conds:
        if c.is_list:
            continue
        cols = ", ".join(ident(x) for x in c.columns)
        found = engine.query(f"SELECT DISTINCT {cols} FROM {ident(view)} WHERE {c.sql}")
        rows = [tuple(r.values()) for r in found.to_pylist()]
        if not rows:
            continue
        if len(c.columns) == 1:
            col = exp.column(c.columns[0], quoted=True)
            vals = [exp.convert(r[0]) for r in rows if r[0] is not None]
            if vals:
                ors.append(exp.In(this=col, expressions=vals))
            continue
        for r in rows:
            ors.append(
                exp.and_(
                    *[
                        exp.EQ(this=exp.column(name, quoted=True), expression=exp.convert(v))
                        for name, v in zip(c.columns, r, strict=True)
                    ]
                )
            )
    if not ors:
        return None
    node = ors[0] if len(ors) == 1 else exp.or_(*ors)
    return node.sql(dialect)
