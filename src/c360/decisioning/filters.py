"""The small declarative filter language of audiences, triggers and eligibility rules.

A filter is a boolean SQL condition over named columns — ``age >= 65 AND state IN
('TX', 'CA')``, ``balance_change_30d <= -0.30 AND NOT has_card`` — parsed by sqlglot
and checked node by node against an allow-list: comparisons, AND/OR/NOT, IN,
BETWEEN, IS [NOT] NULL, arithmetic, literals and the known columns. Anything else
(functions, subqueries, ``*``, unknown columns) is a ``decisioning.filter_invalid``
error naming the offending part, so a filter can never read outside its base
relation or smuggle SQL. The compiled expression is rendered per dialect by sqlglot.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from c360.errors import C360Error

_ALLOWED: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Paren,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.In,
    exp.Between,
    exp.Is,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Tuple,
)


def compile_filter(text: str, columns: set[str], *, what: str = "filter") -> exp.Expression:
    """Parse and validate ``text``; returns the condition with every column quoted."""
    if not text or not text.strip():
        raise C360Error("decisioning.filter_invalid", f"{what}: empty condition")
    try:
        tree = sqlglot.parse_one(text, dialect="duckdb", into=exp.Condition)
    except (ParseError, ValueError) as exc:
        raise C360Error("decisioning.filter_invalid", f"{what}: cannot parse {text!r}") from exc
    for node in tree.walk():
        if not isinstance(node, _ALLOWED):
            raise C360Error(
                "decisioning.filter_invalid",
                f"{what}: {node.sql(dialect='duckdb')!r} ({type(node).__name__}) is not allowed; "
                "use comparisons, AND/OR/NOT, IN, BETWEEN, IS NULL over known columns",
            )
        if isinstance(node, exp.Column):
            if node.table:
                raise C360Error(
                    "decisioning.filter_invalid", f"{what}: qualified column {node.sql()!r}"
                )
            if node.name not in columns:
                raise C360Error(
                    "decisioning.filter_invalid",
                    f"{what}: unknown column {node.name!r} (known: {', '.join(sorted(columns))})",
                )
    return tree.transform(
        lambda n: exp.column(n.name, quoted=True) if isinstance(n, exp.Column) else n
    )


def render(condition: exp.Expression, dialect: str = "duckdb") -> str:
    return condition.sql(dialect=dialect)


def select_where(
    relation: str, condition: exp.Expression, columns: list[str] | None = None
) -> exp.Select:
    """``SELECT columns FROM relation WHERE condition`` built by sqlglot."""
    cols = [exp.column(c, quoted=True) for c in columns] if columns else [exp.Star()]
    return exp.select(*cols).from_(exp.to_table(relation, quoted=True)).where(condition)
