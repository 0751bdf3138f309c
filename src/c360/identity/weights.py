"""Splink's evidence on two records, comparison by comparison, in words.

Each comparison's **level** is evaluated with the saved model's own SQL conditions on the
two records' match input (built as the run builds it, with the values the run set aside
blanked), so it is the level Splink scored; its **weight** is the run's stored weight
(term-frequency adjusted) when Splink scored the pair, else the model's level weight.
The state is said in words: evidence *for* or *against* a match, **missing** (Splink's
null level because a side has no value) or **neutral** (both sides have a value but it
carries no evidence: set aside as generic, ambiguous or a household mailbox, or a level
within :data:`NEUTRAL_WEIGHT` of zero). See :mod:`c360.identity.evidence`.
"""

from __future__ import annotations

import math
import uuid
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from c360.engine.sql import AUTHORING_DIALECT, column, ident
from c360.identity.household import household_mailbox
from c360.identity.schema import PARTY_RECORDS

if TYPE_CHECKING:
    from c360.engine import Engine

#: |match weight| below this (in bits, a Bayes factor within ~7% of 1) carries no evidence.
NEUTRAL_WEIGHT = 0.1

#: Splink comparison → (match-input column tested for null, compared field shown).
COMPARISON_FIELDS = {
    "first_name": ("first_key", "first_name"),
    "last_name": ("last_key", "last_name"),
    "dob": ("dob", "dob"),
    "ssn": ("ssn_token", "ssn_last4"),
    "email": ("email", "email"),
    "phone": ("phone", "phone"),
    "street": ("street", "street"),
    "zip": ("zip", "zip"),
}

STATE_LABELS = {
    "for": "for a match",
    "against": "against a match",
    "missing": "missing",
    "neutral": "neutral",
    "not_scored": "not scored",
}


def _q(node: exp.Expression) -> str:
    """An identifier or column quoted by sqlglot, as authoring-dialect text."""
    return node.sql(AUTHORING_DIALECT)


def prior(settings: dict[str, Any]) -> dict[str, float] | None:
    """Splink's prior: P(two random records match) and the same as a match weight."""
    lam = settings.get("probability_two_random_records_match")
    if lam is None or not 0.0 < float(lam) < 1.0:
        return None
    lam = float(lam)
    return {"probability": lam, "match_weight": round(math.log2(lam / (1.0 - lam)), 2)}


def _levels(
    engine: Engine,
    settings: dict[str, Any],
    raw: tuple[dict[str, Any], dict[str, Any]],
    unusable: pa.Table,
) -> dict[str, int] | None:
    """Index of the comparison level each comparison falls in, evaluated with the saved
    model's own SQL conditions on the two records' match input (as Splink scores them);
    None when a record takes no part in matching."""
    from c360.identity.model import MATCH_INPUT_SQL

    tag = uuid.uuid4().hex[:12]
    views = {f"c360_ev_party_{tag}": pa.Table.from_pylist(list(raw), schema=PARTY_RECORDS)}
    views[f"c360_ev_unusable_{tag}"] = unusable
    # CTEs named as MATCH_INPUT_SQL expects shadow any view of the same name
    inputs = (
        f"WITH party AS (SELECT *, false AS is_new FROM c360_ev_party_{tag}), "
        f"unusable AS (SELECT * FROM c360_ev_unusable_{tag}), "
        # which blocking keys are common decides no comparison level
        "common_keys AS (SELECT CAST(NULL AS VARCHAR) AS kind, CAST(NULL AS VARCHAR) AS key"
        f" WHERE false), mi AS ({MATCH_INPUT_SQL})"
    )
    with engine.temp_views(**views) as eng:
        mi = eng.query(f"{inputs} SELECT * FROM mi")
        if mi.num_rows < 2:
            return None
        # the two records as Splink's ``_l`` / ``_r`` columns (``l`` the smaller id, as in
        # a dedupe run)
        pair = ", ".join(
            f"{_q(column(c, 'l'))} AS {_q(ident(c + '_l'))}, {_q(column(c, 'r'))} AS {_q(ident(c + '_r'))}"
            for c in mi.column_names
        )
        cases, names = [], []
        for comp in settings.get("comparisons", []):
            whens = []
            for i, level in enumerate(comp.get("comparison_levels", [])):
                cond = str(level.get("sql_condition", "ELSE")).strip()
                whens.append(f"ELSE {i}" if cond.upper() == "ELSE" else f"WHEN {cond} THEN {i}")
            if not any(w.startswith("ELSE") for w in whens):
                whens.append("ELSE NULL")
            name = str(comp.get("output_column_name"))
            cases.append(f"CASE {' '.join(whens)} END AS {_q(ident(name))}")
            names.append(name)
        got = eng.query(
            f"{inputs}, p AS (SELECT {pair} FROM mi l, mi r WHERE l.unique_id < r.unique_id) "
            f"SELECT {', '.join(cases)} FROM p"
        )
    row = got.to_pylist()[0]
    return {n: row[n] for n in names}


def _unusable(status: pa.Table, raw: tuple[dict[str, Any], dict[str, Any]]) -> pa.Table:
    """The values the matcher blanked out for these records: generic or ambiguous (from
    ``silver.identity_generic``) and household mailboxes, as the run computed them."""
    rows = [
        {"kind": s["kind"], "value": s["value"]}
        for s in status.to_pylist()
        if s["generic"] or s["ambiguous"]
    ]
    rows += [
        {"kind": "email", "value": e}
        for r in raw
        for e in (r["emails"] or [])
        if household_mailbox(e)
    ]
    return pa.Table.from_pylist(
        rows, schema=pa.schema([("kind", pa.string()), ("value", pa.string())])
    )


def _discount_reason(kind: str, value: str | None, status: dict[tuple[str, str], Any]) -> str:
    st = status.get((kind, value or ""), {})
    if st.get("generic"):
        return f"a generic value, held by {st.get('people')} people"
    if st.get("ambiguous"):
        return "an ambiguous value: two of its holders cannot be one person"
    if kind == "email" and household_mailbox(value):
        return "a household mailbox, named for a couple or a family"
    return "a discounted value"


def comparisons(
    engine: Engine,
    settings: dict[str, Any] | None,
    raw: tuple[dict[str, Any], dict[str, Any]],
    sides: tuple[dict[str, Any], dict[str, Any]],
    status: pa.Table,
    scored: dict[str, Any] | None,
    compare: list[dict[str, Any]],
) -> list[dict[str, Any]] | None:
    """One row per Splink comparison: values, level, weight, state and a note in words."""
    if settings is None:
        return None
    unusable = _unusable(status, raw)
    levels = _levels(engine, settings, raw, unusable)
    if levels is None:
        return None
    blanked = set(zip(unusable["kind"].to_pylist(), unusable["value"].to_pylist(), strict=True))
    shown = {c["field"]: c for c in compare}
    flags = {(s["kind"], s["value"]): s for s in status.to_pylist()}
    weights = (scored or {}).get("detail") or {}
    out = []
    for comp in settings.get("comparisons", []):
        name = str(comp.get("output_column_name"))
        column, field = COMPARISON_FIELDS.get(name, (name, name))
        level_list = comp.get("comparison_levels", [])
        idx = levels.get(name)
        level = level_list[idx] if idx is not None and idx < len(level_list) else {}
        weight: float | None = None
        source = None
        if scored is not None and name in weights:
            weight, source = float(weights[name]), "run"
        elif level.get("is_null_level"):
            weight, source = 0.0, "null level"
        elif level.get("m_probability") and level.get("u_probability"):
            weight = round(math.log2(level["m_probability"] / level["u_probability"]), 2)
            source = "model"
        row: dict[str, Any] = {
            "comparison": name,
            "field": field,
            "left": shown.get(field, {}).get("left"),
            "right": shown.get(field, {}).get("right"),
            "level": "null level"
            if level.get("is_null_level")
            else str(level.get("label_for_charts", "")),
            "weight": weight,
            "weight_from": source,
        }
        if level.get("is_null_level"):
            blank = [r[column] is None for r in raw]
            if any(blank):
                row["state"] = "missing"
                row["note"] = (
                    "neither record has a value"
                    if all(blank)
                    else f"the {'left' if blank[0] else 'right'} record has no value"
                )
            else:
                kind = {"ssn_token": "ssn"}.get(column, column)
                reasons = [
                    f"the {side} value is {_discount_reason(kind, r[column], flags)}"
                    for side, r in zip(("left", "right"), raw, strict=True)
                    if (kind, r[column]) in blanked
                ]
                if raw[0][column] == raw[1][column] and reasons:
                    reasons = [reasons[0].replace("the left value", "their shared value")]
                row["state"] = "neutral"
                row["note"] = "carries no evidence: " + (
                    "; ".join(reasons) or "the matcher set the value aside"
                )
        elif weight is None:
            row["state"] = "not_scored"
            row["note"] = "no weight: this level was never observed when the model was trained"
        elif abs(weight) < NEUTRAL_WEIGHT:
            row["state"] = "neutral"
            row["note"] = "carries no evidence: this level is as common among non-matches"
        else:
            row["state"] = "for" if weight > 0 else "against"
            row["note"] = (
                f"{2 ** abs(weight):,.1f} times more likely if "
                f"{'the same person' if weight > 0 else 'different people'}"
            )
        row["state_label"] = STATE_LABELS[str(row["state"])]
        out.append(row)
    return out
