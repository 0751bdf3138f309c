"""The customer context: one row per golden record that audiences, triggers and eligibility read.

Built on the workspace's engine (:class:`~c360.engine.Engine`) over the lakehouse as of an
explicit date: the golden record's
attributes (age, state, reachable addresses, which systems know the person), the
product holdings and deposit balances joined through ``gold.identity_links``, the
behavioural signals the packaged trigger needs (balance and digital-login change
over 30 days against the prior 30), every ``gold.features_<view>`` table
(columns as ``<view>__<column>``) and the latest ``gold.scores`` per model (as
``score_<model>``) where those exist. The column list is the vocabulary of the
filter language, so an audience can only name what the context provides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from c360.engine import AUTHORING_DIALECT, Engine, column, ident, literal
from c360.features import latest_snapshot_sql

if TYPE_CHECKING:
    from c360.lakehouse import Lakehouse

VIEW = "c360_customer_context"
IDENT = re.compile(r"^[a-z][a-z0-9_]*$")

_LINKS = """
  SELECT source, source_key, golden_id FROM gold__identity_links WHERE is_current
"""

_BASE = """
SELECT g.golden_id,
  CAST(date_diff('year', g.dob, $as_of) - CASE WHEN strftime($as_of, '%m%d') < strftime(g.dob, '%m%d')
       THEN 1 ELSE 0 END AS INTEGER) AS age,
  g.state,
  g.email IS NOT NULL AS has_email,
  g.phone IS NOT NULL AS has_phone,
  coalesce(g.record_count, 0) AS record_count,
  coalesce(array_length(g.sources), 0) AS n_sources,
  coalesce(list_contains(g.sources, 'core_customers'), false) AS is_core_customer,
  coalesce(list_contains(g.sources, 'card_holders'), false) AS has_card,
  coalesce(list_contains(g.sources, 'loan_borrowers'), false) AS has_loan,
  coalesce(list_contains(g.sources, 'policy_holders'), false) AS has_policy
FROM gold__golden_customers g
"""

_ACCOUNTS = """
WITH acc AS (
  SELECT l.golden_id, a.account_no, a.product, a.status
  FROM silver__core_accounts a JOIN _ctx_links l ON l.source = 'core_customers' AND l.source_key = a.customer_no
)
SELECT golden_id, count(*) FILTER (WHERE status = 'open') AS open_accounts,
       bool_or(product = 'mortgage' AND status = 'open') AS has_mortgage,
       bool_or(product = 'savings' AND status = 'open') AS has_savings
FROM acc GROUP BY golden_id
"""

_BALANCES = """
WITH acc AS (
  SELECT DISTINCT l.golden_id, a.account_no
  FROM silver__core_accounts a JOIN _ctx_links l ON l.source = 'core_customers' AND l.source_key = a.customer_no
  WHERE a.product IN ('checking', 'savings', 'cd', 'money_market')
),
now_b AS (
  SELECT account_no, arg_max(balance, as_of) AS b FROM silver__core_balances
  WHERE as_of <= $as_of GROUP BY account_no
),
then_b AS (
  SELECT account_no, arg_max(balance, as_of) AS b FROM silver__core_balances
  WHERE as_of <= $then GROUP BY account_no
)
SELECT acc.golden_id, CAST(sum(coalesce(n.b, 0)) AS DOUBLE) AS deposit_balance,
       CAST(sum(coalesce(t.b, 0)) AS DOUBLE) AS deposit_balance_30d_ago
FROM acc LEFT JOIN now_b n USING (account_no) LEFT JOIN then_b t USING (account_no)
GROUP BY acc.golden_id
"""

_LOGINS = """
SELECT l.golden_id,
  count(*) FILTER (WHERE CAST(d."at" AS DATE) > $then AND CAST(d."at" AS DATE) <= $as_of) AS logins_30d,
  count(*) FILTER (WHERE CAST(d."at" AS DATE) > $prior AND CAST(d."at" AS DATE) <= $then) AS logins_prior_30d
FROM silver__digital_logins d JOIN _ctx_links l ON l.source = 'core_customers' AND l.source_key = d.customer_no
WHERE d.success GROUP BY l.golden_id
"""


@dataclass
class Context:
    """The registered context view and what it contains."""

    view: str
    columns: list[str]
    as_of: date
    feature_views: list[str] = field(default_factory=list)
    score_models: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _date(d: date) -> str:
    return exp.cast(exp.Literal.string(d.isoformat()), exp.DataType.build("DATE")).sql(
        AUTHORING_DIALECT
    )


def _bind(sql: str, params: dict[str, date]) -> str:
    """Views cannot take prepared parameters: dates go in as sqlglot-rendered literals."""
    for k, v in params.items():
        sql = sql.replace(f"${k}", _date(v))
    return sql


# The columns the context reads, per lakehouse table. They are read into Arrow
# with string views normalised to strings: DuckDB pushes join-key range filters
# into a registered dataset scan, which Arrow cannot evaluate on string_view.
READS = {
    ("gold", "identity_links"): ["source", "source_key", "golden_id", "is_current"],
    ("gold", "golden_customers"): [
        "golden_id",
        "dob",
        "state",
        "email",
        "phone",
        "record_count",
        "sources",
    ],
    ("silver", "core_accounts"): ["account_no", "customer_no", "product", "status"],
    ("silver", "core_balances"): ["account_no", "as_of", "balance"],
    ("silver", "digital_logins"): ["customer_no", "at", "success"],
    ("gold", "golden_consent"): ["golden_id", "suppression_flags"],
}


def _normalise(t: pa.Table) -> pa.Table:
    fields = []
    for f in t.schema:
        if pa.types.is_string_view(f.type) or pa.types.is_large_string(f.type):
            f = f.with_type(pa.string())
        elif pa.types.is_list(f.type) and (
            pa.types.is_string_view(f.type.value_type)
            or pa.types.is_large_string(f.type.value_type)
        ):
            f = f.with_type(pa.list_(pa.string()))
        fields.append(f)
    return t.cast(pa.schema(fields))


def _exists(con: Engine, name: str) -> bool:
    return name in con.views()


def _sql(e: exp.Expression) -> str:
    return e.sql(dialect=AUTHORING_DIALECT)


def register(con: Engine, lakehouse: Lakehouse, as_of: date) -> Context:
    """Register the lakehouse views on the engine ``con`` and create the context view ``VIEW``."""
    con.register_lakehouse(lakehouse)
    for (zone, name), cols in READS.items():
        if lakehouse.exists(zone, name):
            con.register(f"{zone}__{name}", _normalise(lakehouse.read(zone, name, cols)))
    params = {
        "as_of": as_of,
        "then": as_of - timedelta(days=30),
        "prior": as_of - timedelta(days=60),
    }
    missing: list[str] = []
    con.create_view("_ctx_links", _LINKS)
    con.create_view("_ctx_base", _bind(_BASE, params))
    joins = ["_ctx_base b"]
    cols = ["b.*"]
    parts = [
        (
            "silver__core_accounts",
            _ACCOUNTS,
            "_ctx_accounts",
            [
                "coalesce(a.open_accounts, 0) AS open_accounts",
                "coalesce(a.has_mortgage, false) AS has_mortgage",
                "coalesce(a.has_savings, false) AS has_savings",
            ],
            "a",
        ),
        (
            "silver__core_balances",
            _BALANCES,
            "_ctx_balances",
            [
                "coalesce(bal.deposit_balance, 0) AS deposit_balance",
                "coalesce(bal.deposit_balance_30d_ago, 0) AS deposit_balance_30d_ago",
                "CASE WHEN coalesce(bal.deposit_balance_30d_ago, 0) > 0 THEN "
                "bal.deposit_balance / bal.deposit_balance_30d_ago - 1 END AS balance_change_30d",
            ],
            "bal",
        ),
        (
            "silver__digital_logins",
            _LOGINS,
            "_ctx_logins",
            [
                "coalesce(lg.logins_30d, 0) AS logins_30d",
                "coalesce(lg.logins_prior_30d, 0) AS logins_prior_30d",
                "CASE WHEN coalesce(lg.logins_prior_30d, 0) > 0 THEN "
                "CAST(coalesce(lg.logins_30d, 0) AS DOUBLE) / lg.logins_prior_30d - 1 END AS logins_change_30d",
            ],
            "lg",
        ),
    ]
    for source, sql, view, exprs, alias in parts:
        if _exists(con, source):
            con.create_view(view, _bind(sql, params))
            joins.append(f"LEFT JOIN {view} {alias} USING (golden_id)")
            cols += exprs
        else:
            missing.append(source.replace("__", "."))
            cols += [f"NULL AS {e.rsplit(' AS ', 1)[1]}" for e in exprs]
    if _exists(con, "gold__golden_consent"):
        joins.append(
            "LEFT JOIN (SELECT golden_id, suppression_flags FROM gold__golden_consent) gc USING (golden_id)"
        )
        cols.append("coalesce(gc.suppression_flags, []::VARCHAR[]) AS suppression_flags")
    else:
        missing.append("gold.golden_consent")
        cols.append("[]::VARCHAR[] AS suppression_flags")
    features: list[str] = []
    for info in lakehouse.tables(count_rows=False):
        if info.zone != "gold" or not info.name.startswith("features_"):
            continue
        name = info.name.removeprefix("features_")
        rel = f"gold__{info.name}"
        fcols = con.columns(rel)
        if "golden_id" not in fcols or not IDENT.match(name):
            continue
        alias = f"f_{len(features)}"
        if "as_of" in fcols:
            # each customer's latest snapshot that sees no later than the end of ``as_of``
            # (a day's snapshot is taken at the next midnight)
            rel = f"({latest_snapshot_sql(rel, as_of + timedelta(days=1))})"
        joins.append(f"LEFT JOIN {rel} {alias} USING (golden_id)")
        cols += [
            f"{_sql(column(c, alias))} AS {_sql(ident(f'{name}__{c}'))}"
            for c in fcols
            if c != "golden_id" and IDENT.match(c)
        ]
        features.append(name)
    models = _scores(con, joins, cols)
    con.create_view(VIEW, f"SELECT {', '.join(cols)} FROM {' '.join(joins)}")
    columns = con.columns(VIEW)
    return Context(VIEW, columns, as_of, features, models, missing)


def _scores(con: Engine, joins: list[str], cols: list[str]) -> list[str]:
    """Latest score per (golden_id, model) as ``score_<model>`` columns, if gold.scores exists."""
    if not _exists(con, "gold__scores"):
        return []
    have = set(con.columns("gold__scores"))
    model_col = next((c for c in ("model", "model_name") if c in have), None)
    if "golden_id" not in have or "score" not in have or model_col is None:
        return []
    order = next((c for c in ("scored_at", "as_of", "model_version") if c in have), None)
    pick = f"arg_max(score, {order})" if order else "max(score)"
    models = [
        m
        for m in con.query(f"SELECT DISTINCT {model_col} FROM gold__scores").column(0).to_pylist()
        if m and IDENT.match(str(m))
    ]
    if not models:
        return []
    pivots = ", ".join(
        f"{pick} FILTER (WHERE {model_col} = {_sql(literal(m))}) AS score_{m}" for m in models
    )
    con.create_view(
        "_ctx_scores", f"SELECT golden_id, {pivots} FROM gold__scores GROUP BY golden_id"
    )
    joins.append("LEFT JOIN _ctx_scores sc USING (golden_id)")
    cols += [f"sc.score_{m}" for m in models]
    return models
