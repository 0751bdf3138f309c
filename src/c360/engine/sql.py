"""SQL built and quoted by sqlglot, rendered per dialect.

Stage SQL is authored once in :data:`AUTHORING_DIALECT` (DuckDB's) or built as
sqlglot expressions, then rendered for the engine that runs it. Identifiers and
literals always go through these helpers, so no module quotes SQL by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.time import format_time

from c360.errors import C360Error

AUTHORING_DIALECT = "duckdb"


def ident(name: str) -> exp.Identifier:
    """A quoted identifier (a column, view or table name), whatever characters it holds."""
    return exp.to_identifier(name, quoted=True)


def column(name: str, table_alias: str | None = None) -> exp.Column:
    """A quoted, optionally qualified column reference."""
    return exp.column(ident(name), table=ident(table_alias) if table_alias else None)


def table(name: str, *, schema: str | None = None) -> exp.Table:
    """A quoted table or view reference (``schema.name`` when a schema is given)."""
    return exp.Table(this=ident(name), db=ident(schema) if schema else None)


def literal(value: Any) -> exp.Expression:
    """A SQL literal for a Python value (strings escaped by sqlglot)."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


@lru_cache(maxsize=8192)
def quoted(name: str) -> str:
    """``name`` as a quoted identifier of the authoring dialect, as text (sqlglot quotes
    it). Cached: one ingest batch asks for its few column names tens of thousands of
    times, ~0.1 ms each."""
    return ident(name).sql(AUTHORING_DIALECT)


def sql_literal(value: Any) -> str:
    """``value`` as a literal of the authoring dialect, as text (sqlglot escapes it)."""
    if isinstance(value, str):
        return _string_literal(value)
    return literal(value).sql(AUTHORING_DIALECT)


@lru_cache(maxsize=8192)
def _string_literal(value: str) -> str:
    return literal(value).sql(AUTHORING_DIALECT)


def render(sql: str | exp.Expr, dialect: str = AUTHORING_DIALECT, *, pretty: bool = False) -> str:
    """Render ``sql`` (an expression, or text in the authoring dialect) for ``dialect``,
    with that dialect's rewrites (:data:`_REWRITES`) applied either way."""
    if isinstance(sql, exp.Expr):
        return _render_tree(sql, dialect, pretty)
    if dialect == AUTHORING_DIALECT and not pretty:
        return sql
    return _transpile(sql, dialect, pretty)


@lru_cache(maxsize=512)
def _transpile(sql: str, dialect: str, pretty: bool) -> str:
    return ";\n".join(_render_tree(tree, dialect, pretty) for tree in parse_statements(sql))


def _render_tree(tree: exp.Expr, dialect: str, pretty: bool) -> str:
    """One parsed or built statement in ``dialect`` (the tree itself is left unchanged)."""
    fix = _REWRITES.get(dialect)
    try:
        return (tree.transform(fix) if fix is not None else tree).sql(
            dialect=dialect, pretty=pretty, unsupported_level=sqlglot.ErrorLevel.RAISE
        )
    except sqlglot.errors.SqlglotError as exc:
        raise C360Error(
            "engine.sql_unsupported",
            f"SQL cannot be rendered for {dialect}: {str(exc).splitlines()[0]}",
            {"dialect": dialect},
        ) from exc


def _spark_time_format(fmt: str) -> str:
    """A DuckDB ``strptime`` format as the Java pattern Spark's parsers take: each
    ``%`` directive mapped by sqlglot, literal text with letters quoted (``'T'``)."""
    duck = Dialect.get_or_raise(AUTHORING_DIALECT)
    spark = Dialect.get_or_raise("spark")
    out = []
    for directive, text in re.findall(r"(%-?[A-Za-z%])|([^%]+|%)", fmt):
        if directive == "%%":
            text = "%"
        elif directive:
            python = format_time(directive, duck.TIME_MAPPING, duck.TIME_TRIE) or directive
            out.append(
                format_time(python, spark.INVERSE_TIME_MAPPING, spark.INVERSE_TIME_TRIE) or python
            )
            continue
        out.append("'" + text.replace("'", "''") + "'" if re.search("[A-Za-z']", text) else text)
    return "".join(out)


def _for_spark(node: exp.Expression) -> exp.Expression:
    """Authoring-dialect forms sqlglot passes through unchanged but Spark does not have."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "try_strptime":
        value, fmt = node.expressions
        if isinstance(fmt, exp.Literal) and fmt.is_string:
            pattern = exp.Literal.string(_spark_time_format(fmt.this))
            return exp.Anonymous(this="try_to_timestamp", expressions=[value, pattern])
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "hash":
        # 64 bits like DuckDB's hash (Spark's own hash is a 32-bit murmur3); the values
        # differ between engines, so a row hash is only compared within one engine
        return exp.Anonymous(this="xxhash64", expressions=node.expressions)
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "epoch_us":
        return _epoch_us(node)
    if isinstance(node, exp.ToDays):
        # DuckDB's to_days(n): an interval of n days (sqlglot passes the name through)
        return exp.Anonymous(this="make_dt_interval", expressions=[node.this.transform(_for_spark)])
    if isinstance(node, exp.DateDiff) and node.args.get("date_part_boundary"):
        return _boundaries(node)
    if (
        isinstance(node, exp.Anonymous)
        and str(node.this).lower() == "date_sub"
        and len(node.expressions) == 3
        and isinstance(node.expressions[0], exp.Literal)
        and node.expressions[0].is_string
    ):  # DuckDB's date_sub(part, start, end): whole parts between, as Spark's datediff counts
        part, start, end = node.expressions
        return exp.DateDiff(
            this=end.transform(_for_spark),
            expression=start.transform(_for_spark),
            unit=exp.var(part.name.upper()),
        )
    if isinstance(node, exp.Div) and any(map(_decimal_literal, (node.this, node.expression))):
        # Spark divides by a decimal literal in DECIMAL, rounded to six places (7 / 7.0 is
        # exact, 10 / 7.0 is not); DuckDB divides in DOUBLE
        div = node.copy()
        for side in ("this", "expression"):
            value = div.args[side]
            div.set(
                side,
                exp.cast(value, "DOUBLE")
                if _decimal_literal(value)
                else value.transform(_for_spark),
            )
        return div
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_list(node.this)
    if (
        isinstance(node, exp.Filter)
        and isinstance(node.this, exp.ArrayAgg)
        and isinstance(node.this.this, exp.Order)
    ):  # list(v ORDER BY k) FILTER (WHERE c): the filter goes on the inner aggregate
        return _ordered_list(node.this.this, node.expression)
    if isinstance(node, exp.Select) and (positioned := _positions(node)) is not None:
        return positioned
    if isinstance(node, exp.JSONObject) and all(
        isinstance(kv, exp.JSONKeyValue) and isinstance(kv.this, exp.Literal)
        for kv in node.expressions
    ):  # json_object('k', v, …): a struct of the pairs as JSON, NULL members kept
        fields = [_named(_inner(kv.expression), kv.this.this) for kv in node.expressions]
        options = exp.Anonymous(
            this="map",
            expressions=[exp.Literal.string("ignoreNullFields"), exp.Literal.string("false")],
        )
        return exp.Anonymous(this="to_json", expressions=[exp.Struct(expressions=fields), options])
    if isinstance(node, exp.In) and isinstance(node.this, exp.Tuple):
        query = node.args.get("query")
        select = query.this if isinstance(query, exp.Subquery) else query
        if (
            isinstance(select, exp.Select)
            and len(select.expressions) == 1
            and isinstance(select.expressions[0], exp.Tuple)
        ):  # (a, b) IN (SELECT (x, y) …): DuckDB compares rows; Spark takes the columns
            select = select.copy()
            select.set("expressions", select.expressions[0].expressions)
            return exp.In(
                this=node.this.copy(),
                query=exp.Subquery(this=select) if isinstance(query, exp.Subquery) else select,
            ).transform(_for_spark)
    if (
        isinstance(node, exp.Window)
        and isinstance(node.this, exp.RowNumber)
        and not node.args.get("partition_by")
        and not node.args.get("order")
        and not node.args.get("alias")  # OVER w names a window: its partition and order
    ):  # row_number() OVER (): a row id; Spark wants an order, its ids are unique, not 1…n
        return exp.Anonymous(this="monotonically_increasing_id", expressions=[])
    if isinstance(node, exp.RegexpFullMatch):
        value, pattern = node.this, node.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            # anchored at the very end (\z): Java's ``$`` also matches before a final newline
            whole = exp.Literal.string(f"^(?:{pattern.this})\\z")
            return exp.RegexpLike(this=value, expression=whole)
    if isinstance(node, exp.Array) and len(node.expressions) == 1:
        comp = node.expressions[0]
        if isinstance(comp, exp.Comprehension):
            # [expr FOR i IN seq IF cond] -> transform(filter(seq, i -> cond), i -> expr)
            var = comp.args["expression"]
            items = comp.args["iterator"]
            cond = comp.args.get("condition")
            if cond is not None:
                items = exp.Anonymous(
                    this="filter",
                    expressions=[items, exp.Lambda(this=cond, expressions=[var.copy()])],
                )
            return exp.Anonymous(
                this="transform",
                expressions=[items, exp.Lambda(this=comp.this, expressions=[var.copy()])],
            )
    return node


def _boundaries(node: exp.DateDiff) -> exp.Expression:
    """DuckDB's ``date_diff(part, a, b)`` counts the part's boundaries crossed (31 December
    to 1 January is a year); Spark's ``datediff(part, a, b)`` counts whole parts. Whole
    parts between the two values truncated to the part are the boundaries crossed."""
    unit = node.args.get("unit")
    part = unit.name.upper() if unit is not None else "DAY"

    def trunc(value: exp.Expression) -> exp.Expression:
        return exp.Anonymous(
            this="date_trunc",
            expressions=[exp.Literal.string(part), value.transform(_for_spark)],
        )

    return exp.DateDiff(
        this=trunc(node.this), expression=trunc(node.expression), unit=exp.var(part)
    )


def _decimal_literal(node: exp.Expression) -> bool:
    """A number literal written with a point or an exponent (a DECIMAL to Spark)."""
    return (
        isinstance(node, exp.Literal)
        and not node.is_string
        and any(c in node.this.lower() for c in ".e")
    )


def _positions(select: exp.Select) -> exp.Expression | None:
    """``SELECT k, unnest(xs) AS x, generate_subscripts(xs, 1) AS i FROM t`` (each element
    with its 1-based position; DuckDB's fastest form) for Spark: ``posexplode`` in a
    subquery, the position plus one outside. ``None`` for a select without positions."""
    subs = [
        e
        for e in select.expressions
        if isinstance(e, exp.Alias)
        and isinstance(e.this, exp.Anonymous)
        and str(e.this.this).lower() == "generate_subscripts"
    ]
    if not subs:
        return None
    unsupported = sqlglot.errors.UnsupportedError(
        "generate_subscripts renders for Spark only beside one unnest of the same list, "
        "in a select from one table without joins or grouping"
    )
    if len(subs) != 1:
        raise unsupported
    (sub,) = subs
    array, *dimension = sub.this.expressions
    explodes = [
        e
        for e in select.expressions
        if isinstance(e, exp.Alias) and isinstance(e.this, exp.Explode) and e.this.this == array
    ]
    if (
        len(explodes) != 1
        or dimension != [exp.Literal.number(1)]
        or any(select.args.get(k) for k in ("joins", "group", "having", "order", "distinct"))
    ):
        raise unsupported
    (element,) = explodes
    pos = "_c360_pos"
    inner = select.copy()
    inner.set(
        "expressions",
        [
            exp.Star(),
            exp.Aliases(
                this=exp.Anonymous(this="posexplode", expressions=[element.this.this.copy()]),
                expressions=[ident(pos), exp.to_identifier(element.alias)],
            ),
        ],
    )
    outer: list[exp.Expr] = []
    for e in select.expressions:
        if e is sub:
            one = exp.Literal.number(1)
            outer.append(exp.alias_(exp.Add(this=column(pos), expression=one), sub.alias))
        elif e is element:
            outer.append(exp.column(exp.to_identifier(element.alias)))
        else:  # the subquery's columns are unqualified
            outer.append(
                e.copy().transform(
                    lambda n: exp.column(n.this.copy()) if isinstance(n, exp.Column) else n
                )
            )
    return exp.select(*outer).from_(
        exp.Subquery(this=inner.transform(_for_spark), alias=exp.TableAlias(this=ident("_c360_u")))
    )


def _epoch_us(node: exp.Anonymous) -> exp.Expression:
    """``epoch_us(ts)`` for Spark. DuckDB's reads a naive timestamp as UTC, Spark's
    ``unix_micros`` reads it in the session time zone; so the value is taken as a naive
    timestamp (``TIMESTAMP_NTZ``: a zoned value is first seen on the session's clock, a
    string's offset is ignored, as DuckDB's cast to ``TIMESTAMP`` does) and counted in
    microseconds from ``1970-01-01 00:00:00`` on the same clock. The two agree for any
    session time zone; a zoned argument, which DuckDB counts from the true epoch, agrees
    under a UTC session (the default)."""
    value = _inner(node.expressions[0])
    naive = exp.DataType.build("timestampntz")
    if not (isinstance(value, exp.Cast) and value.to.is_type(exp.DataType.Type.TIMESTAMPNTZ)):
        value = exp.Cast(this=value.copy(), to=naive)
    origin = exp.Cast(this=exp.Literal.string("1970-01-01 00:00:00"), to=naive)
    return exp.Anonymous(
        this="timestampdiff", expressions=[exp.Var(this="MICROSECOND"), origin, value.copy()]
    )


def _inner(node: exp.Expression) -> exp.Expression:
    """A copy of ``node`` with the Spark rewrites applied inside it (a rewritten node's
    children are not visited by the transform that replaced it)."""
    return node.copy().transform(_for_spark)


def _ordered_list(order: exp.Order, where: exp.Expression | None = None) -> exp.Expression:
    """``list(value ORDER BY k1, k2 …)`` for Spark, whose ``collect_list`` has no order:
    the value travels in a struct behind its sort keys (each led by an is-null flag, so
    NULL keys sort last as in DuckDB), ``array_sort`` orders the structs, and ``transform``
    takes the values back out; no rows give NULL, as in DuckDB. With ``DISTINCT`` the keys
    must be the value itself (and Spark leaves NULL values out)."""
    value, keys = order.this, order.expressions
    if any(k.args.get("desc") or k.args.get("nulls_first") for k in keys):
        raise sqlglot.errors.UnsupportedError(
            "list(... ORDER BY ...) renders for Spark with ascending keys, NULLS LAST only"
        )
    if isinstance(value, exp.Distinct):
        (item,) = value.expressions
        if any(k.this != item for k in keys):
            raise sqlglot.errors.UnsupportedError(
                "list(DISTINCT x ORDER BY ...) renders for Spark ordered by x only"
            )
        # Spark's collect_list leaves NULL out (DuckDB's list keeps one)
        return exp.Anonymous(
            this="array_sort", expressions=[_filtered(exp.ArrayAgg(this=_inner(value)), where)]
        )
    fields: list[exp.Expression] = []
    for i, k in enumerate(keys):
        fields.append(_named(exp.Is(this=_inner(k.this), expression=exp.Null()), f"_n{i}"))
        fields.append(_named(_inner(k.this), f"_k{i}"))
    fields.append(_named(_inner(value), "_v"))
    packed = _filtered(exp.ArrayAgg(this=exp.Struct(expressions=fields)), where)
    # no rows (or none through the filter): DuckDB's list is NULL, Spark's collect_list []
    size = exp.Anonymous(this="size", expressions=[packed.copy()])
    packed = exp.If(
        this=exp.GT(this=size, expression=exp.Literal.number(0)), true=packed, false=exp.Null()
    )
    elem = exp.to_identifier("_e")
    return exp.Anonymous(
        this="transform",
        expressions=[
            exp.Anonymous(this="array_sort", expressions=[packed]),
            exp.Lambda(this=exp.column("_v", table="_e"), expressions=[elem]),
        ],
    )


def _filtered(agg: exp.Expression, where: exp.Expression | None) -> exp.Expression:
    return agg if where is None else exp.Filter(this=agg, expression=_inner(where))


def _named(value: exp.Expression, name: str) -> exp.Alias:
    return exp.Alias(this=value, alias=exp.to_identifier(name))


_REWRITES = {"spark": _for_spark, "databricks": _for_spark}


# ---------------------------------------------------------------- working-table statements
# DuckDB keeps a run's working tables as tables it can define macros over, update and
# delete from; an engine without those (Spark's temporary views) recomputes the table
# instead. These turn each such statement into the query whose rows are the table after it.

Macro = tuple[list[str], exp.Expr]
"""A SQL macro: its parameter names and its body."""


def parse_statements(sql: str) -> list[exp.Expr]:
    """The statements of authoring-dialect text, parsed."""
    try:
        return [t for t in sqlglot.parse(sql, read=AUTHORING_DIALECT) if t is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise C360Error(
            "engine.sql_unsupported",
            f"SQL cannot be parsed: {str(exc).splitlines()[0]}",
            {"dialect": AUTHORING_DIALECT},
        ) from exc


def macro_of(create: exp.Create) -> tuple[str, Macro] | None:
    """``(name, (params, body))`` of a ``CREATE MACRO`` statement (``None`` for anything else)."""
    if str(create.args.get("kind") or "").upper() != "MACRO":
        return None
    udf = create.this
    if not isinstance(udf, exp.UserDefinedFunction) or isinstance(create.expression, exp.Query):
        raise C360Error(
            "engine.sql_unsupported",
            "only scalar macros (CREATE MACRO name(args) AS expression) can be inlined",
            {},
        )
    params = [p.name for p in udf.expressions]
    return udf.this.name.lower(), (params, create.expression)


def inline_macros(tree: exp.Expr, macros: dict[str, Macro]) -> exp.Expr:
    """``tree`` with every call of a macro replaced by its body, the arguments in place of
    its parameters (wrapped in parentheses, so precedence holds; macros calling macros
    are inlined too)."""
    if not macros:
        return tree

    def expand(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in macros:
            params, body = macros[str(node.this).lower()]
            if len(node.expressions) != len(params):
                raise C360Error(
                    "engine.sql_unsupported",
                    f"macro {node.this} takes {len(params)} arguments, "
                    f"called with {len(node.expressions)}",
                    {},
                )
            args = {
                p: exp.Paren(this=inline_macros(a.copy(), macros))
                for p, a in zip(params, node.expressions, strict=True)
            }

            def bind(n: exp.Expr) -> exp.Expr:
                if isinstance(n, exp.Column) and not n.table and n.name in args:
                    return args[n.name].copy()
                return n

            return exp.Paren(this=inline_macros(body.copy().transform(bind), macros))
        return node

    return tree.transform(expand)


def target_of(stmt: exp.Expr) -> str:
    """The name of the table a ``CREATE``/``INSERT``/``UPDATE``/``DELETE`` writes."""
    target = stmt.this
    if isinstance(target, exp.Schema):
        target = target.this
    if not isinstance(target, exp.Table):
        raise C360Error("engine.sql_unsupported", f"no table named in {stmt.sql()[:80]!r}", {})
    return target.name


def _kept(where: exp.Expr | None) -> exp.Expr:
    return exp.func("coalesce", exp.Paren(this=where.copy()), exp.false()) if where else exp.true()


def delete_as_query(stmt: exp.Delete) -> exp.Select:
    """The rows left by ``DELETE FROM t WHERE c``: those for which ``c`` is not true."""
    where = stmt.args.get("where")
    keep = exp.not_(_kept(where.this if where else None))
    return exp.select("*").from_(table(target_of(stmt))).where(keep)


def update_as_query(stmt: exp.Update, columns: list[str]) -> exp.Select:
    """The rows after ``UPDATE t SET a = e … WHERE c`` (no ``FROM``): each set column
    ``CASE WHEN c THEN e ELSE a END``, the others as they were, in the table's order."""
    if stmt.args.get("from_") or stmt.args.get("from"):
        raise C360Error("engine.sql_unsupported", "UPDATE … FROM is not emulated", {})
    where = stmt.args.get("where")
    sets = {}
    for eq in stmt.expressions:
        sets[eq.this.name] = eq.expression
    unknown = set(sets) - set(columns)
    if unknown:
        raise C360Error(
            "engine.sql_unsupported", f"UPDATE sets unknown column(s) {sorted(unknown)}", {}
        )
    out: list[exp.Expr] = []
    for name in columns:
        if name not in sets:
            out.append(column(name))
            continue
        value = sets[name].copy()
        if where is not None:
            value = exp.Case(ifs=[exp.If(this=_kept(where.this), true=value)], default=column(name))
        out.append(exp.alias_(value, ident(name)))
    return exp.select(*out).from_(table(target_of(stmt)))


def insert_as_query(stmt: exp.Insert, columns: list[str]) -> exp.Query:
    """The rows after ``INSERT INTO t [(cols)] query``: the table's rows, then the new
    ones with each named column in its place (NULL for a column not named)."""
    target = stmt.this
    named = (
        [c.name for c in target.expressions] if isinstance(target, exp.Schema) else list(columns)
    )
    source = stmt.expression
    if not isinstance(source, exp.Query):
        raise C360Error("engine.sql_unsupported", "INSERT … VALUES is not emulated", {})
    aligned = exp.select(
        *[
            exp.alias_(column(f"_c{named.index(c)}") if c in named else exp.null(), ident(c))
            for c in columns
        ]
    ).from_(
        exp.Subquery(
            this=source.copy(),
            alias=exp.TableAlias(
                this=ident("_new"), columns=[ident(f"_c{i}") for i in range(len(named))]
            ),
        )
    )
    return exp.union(
        exp.select(*[column(c) for c in columns]).from_(table(target_of(stmt))),
        aligned,
        distinct=False,
    )


def unions_by_name(tree: exp.Expr, columns_of: Callable[[exp.Expr], list[str]]) -> exp.Expr:
    """``tree`` with every ``UNION [ALL] BY NAME`` written positionally: each side selects
    the union's columns (first side's order, then new ones as they appear), NULL where it
    has none. ``columns_of`` gives a query's output columns."""

    def align(node: exp.Expr) -> exp.Expr:
        if not (isinstance(node, exp.Union) and node.args.get("by_name")):
            return node
        sides = [unions_by_name(s, columns_of) for s in _union_sides(node)]
        names = [columns_of(s) for s in sides]
        order: list[str] = []
        for cols in names:
            order.extend(c for c in cols if c not in order)
        parts = [
            exp.select(
                *[exp.alias_(column(c) if c in cols else exp.null(), ident(c)) for c in order]
            ).from_(exp.Subquery(this=side, alias=exp.TableAlias(this=ident(f"_s{i}"))))
            for i, (side, cols) in enumerate(zip(sides, names, strict=True))
        ]
        out: exp.Expr = parts[0]
        for p in parts[1:]:
            out = exp.union(out, p, distinct=bool(node.args.get("distinct")))
        return out

    return tree.transform(align)


def _union_sides(node: exp.Union) -> list[exp.Expr]:
    """The queries of a chain of ``BY NAME`` unions of one kind, left to right."""
    sides: list[exp.Expr] = []
    for side in (node.this, node.expression):
        if (
            isinstance(side, exp.Union)
            and side.args.get("by_name")
            and side.args.get("distinct") == node.args.get("distinct")
        ):
            sides.extend(_union_sides(side))
        else:
            sides.append(side.copy())
    return sides
