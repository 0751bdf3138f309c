"""What a steward needs to decide whether two records are one person.

:func:`pair_evidence` is the one computation behind ``c360 identity explain``, the review
task page of the console and ``GET /v1/review/tasks/{id}``. On top of
:meth:`~c360.identity.service.IdentityService.explain` (rules, band, refusing constraint)
it adds, from the stored tables:

* **comparisons** — each Splink comparison with the two values (masked through the
  governed read path), the comparison level the pair falls in (evaluated with the saved
  model's own level conditions), its match weight and what it means: evidence *for* or
  *against* a match, **missing** (a side has no value: Splink's null level) or
  **neutral** (both sides have a value but it carries no evidence: a discounted
  identifier the matcher blanked out, or a level whose weight is within
  :data:`NEUTRAL_WEIGHT` of zero); plus Splink's **prior** (the probability that two
  random records match, as a match weight);
* **shared** — each email, phone and address of either record and the *other* golden
  records holding it (what usually exposes a wrong household merge);
* **path** — when the two records are linked, the chain of links that joins them (record
  ids, rule and weight of each hop), so a link made only through a third record shows;
* for deterministic rules, **which identifier** the rule used.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from c360.identity import constraints, model
from c360.identity.display import display_value
from c360.identity.household import household_mailbox
from c360.identity.pipeline import read_or_empty
from c360.identity.schema import PAIRS, PARTY_RECORDS, STATUS

if TYPE_CHECKING:
    from c360.identity.service import IdentityService

#: |match weight| below this (in bits, a Bayes factor within ~7% of 1) carries no evidence.
NEUTRAL_WEIGHT = 0.1
#: Other golden records listed by id per shared value (the count is always given).
MAX_LISTED = 10

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


def pair_evidence(
    service: IdentityService,
    key1: str,
    key2: str,
    *,
    role: str,
    actor: str,
    task: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything :mod:`this module <c360.identity.evidence>` describes, for two records.

    Values shown are read for ``role`` with purpose ``stewardship`` (masked, audited).
    ``task``: the review task on the pair, whose rule (e.g. a review pair through a
    shared identifier, never stored as a scored pair) joins the evidence.
    """
    ws = service.ws
    out = service.explain(key1, key2)
    a, b = out["records"]
    sides = service.sides(a, b, role=role, actor=actor, extra=["emails", "phones"])
    out["compare"] = service.compare_rows(*sides)
    party = read_or_empty(ws, "silver", "party_records", PARTY_RECORDS)
    rows = {
        r["record_id"]: r
        for r in party.filter(pc.is_in(party["record_id"], pa.array([a, b]))).to_pylist()
    }
    raw = (rows[a], rows[b])
    links = service.links()
    golden_of = dict(
        zip(links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True)
    )
    status = read_or_empty(ws, "silver", "identity_generic", STATUS)
    loaded = model.load_model(ws.root / "models" / "identity")
    task_rule = ((task or {}).get("detail") or {}).get("rule")
    if task_rule and all(e["rule"] != task_rule for e in out["evidence"]):
        out["evidence"].append(
            {
                "record_id_l": a,
                "record_id_r": b,
                "match_weight": task["match_weight"],  # type: ignore[index]
                "match_probability": task["probability"],  # type: ignore[index]
                "rule": task_rule,
                "detail": (task or {}).get("detail", {}).get("detail"),
                "from_task": True,
            }
        )
        if out["band"] == "not compared":
            th = ws.config.identity.thresholds
            p = float(task["probability"])  # type: ignore[index]
            out["band"] = (
                "auto_link" if p >= th.auto_link else "review" if p >= th.review else "reject"
            )
    splink_row = next((e for e in out["evidence"] if e["rule"] == "splink"), None)
    for e in out["evidence"]:
        e["identifier"] = identifier(e["rule"], raw, sides)
        if isinstance(e["detail"], dict) and isinstance(e["detail"].get("held"), str):
            e["why"], e["detail"] = e["detail"]["held"], None
    out["prior"] = prior(loaded[1]) if loaded else None
    out["comparisons"] = comparisons(
        loaded[1] if loaded else None, raw, sides, status, splink_row, out["compare"]
    )
    out["scored"] = splink_row is not None
    out["total_weight"] = None
    if splink_row is not None and out["prior"] is not None:
        out["total_weight"] = round(
            out["prior"]["match_weight"]
            + sum(c["weight"] or 0.0 for c in out["comparisons"] or []),
            2,
        )
    out["shared"] = shared_identifiers(party, golden_of, status, raw, sides)
    out["path"] = None
    if out["linked"]:
        pairs = read_or_empty(ws, "silver", "identity_pairs", PAIRS)
        must, _ = constraints.active(ws)
        members = {r for r, g in golden_of.items() if g == golden_of[a]}
        out["path"] = link_path(pairs, members, must, a, b, ws.config.identity.thresholds.auto_link)
        for hop in out["path"] or []:
            ends = tuple(
                r
                for r in party.filter(
                    pc.is_in(party["record_id"], pa.array([hop["from"], hop["to"]]))
                ).to_pylist()
            )
            hop["identifier"] = identifier(hop["rule"], _ordered(ends, hop), None)
    out["constraint"] = constraints.on_pair(ws, a, b)
    return out


def _ordered(rows: tuple[dict[str, Any], ...], hop: dict[str, Any]) -> tuple[Any, Any]:
    by_id = {r["record_id"]: r for r in rows}
    return by_id.get(hop["from"]), by_id.get(hop["to"])


# ---------------------------------------------------------------------- prior, comparisons
def prior(settings: dict[str, Any]) -> dict[str, float] | None:
    """Splink's prior: P(two random records match) and the same as a match weight."""
    lam = settings.get("probability_two_random_records_match")
    if lam is None or not 0.0 < float(lam) < 1.0:
        return None
    lam = float(lam)
    return {"probability": lam, "match_weight": round(math.log2(lam / (1.0 - lam)), 2)}


def _levels(
    settings: dict[str, Any], raw: tuple[dict[str, Any], dict[str, Any]], unusable: pa.Table
) -> dict[str, int] | None:
    """Index of the comparison level each comparison falls in, evaluated with the saved
    model's own SQL conditions on the two records' match input (as Splink scores them);
    None when a record takes no part in matching."""
    from c360.identity.model import MATCH_INPUT_SQL

    con = duckdb.connect()
    try:
        table = pa.Table.from_pylist(list(raw), schema=PARTY_RECORDS)
        con.register("party_src", table)
        con.execute("CREATE TABLE party AS SELECT *, false AS is_new FROM party_src")
        con.register("unusable", unusable)
        con.execute("CREATE TABLE mi AS " + MATCH_INPUT_SQL)
        cols = [c[0] for c in con.execute("DESCRIBE mi").fetchall()]
        ids = [r["record_id"] for r in raw]
        if con.execute("SELECT count(*) FROM mi").fetchall()[0][0] < 2:
            return None
        pair = ", ".join(f'l."{c}" AS "{c}_l", r."{c}" AS "{c}_r"' for c in cols)
        con.execute(
            f"CREATE TABLE p AS SELECT {pair} FROM mi l, mi r "
            "WHERE l.unique_id = ? AND r.unique_id = ?",
            ids,
        )
        cases = []
        names = []
        for comp in settings.get("comparisons", []):
            whens = []
            for i, level in enumerate(comp.get("comparison_levels", [])):
                cond = str(level.get("sql_condition", "ELSE"))
                whens.append(
                    f"ELSE {i}" if cond.strip().upper() == "ELSE" else f"WHEN {cond} THEN {i}"
                )
            if not any(w.startswith("ELSE") for w in whens):
                whens.append("ELSE NULL")
            cases.append(f"CASE {' '.join(whens)} END")
            names.append(str(comp.get("output_column_name")))
        got = con.execute(f"SELECT {', '.join(cases)} FROM p").fetchall()[0]
        return dict(zip(names, got, strict=True))
    finally:
        con.close()


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
    levels = _levels(settings, raw, unusable)
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


# ---------------------------------------------------------------------- shared identifiers
def _holders(
    party: pa.Table, golden_of: dict[str, str], kind: str, values: list[str]
) -> dict[str, set[str]]:
    """value → golden ids of every record holding it (any of a record's emails/phones;
    an address is ``street|zip``)."""
    if not values:
        return {}
    wanted = pa.array(values, pa.string())
    if kind == "address":
        keys = pc.binary_join_element_wise(party["street"], party["zip"], "|")
        hit = pc.is_in(keys, value_set=wanted)
        recs, vals = party["record_id"].filter(hit), keys.filter(hit)
    else:
        lists = party[f"{kind}s"].combine_chunks()
        flat = pc.list_flatten(lists)
        parent = pc.list_parent_indices(lists)
        hit = pc.is_in(flat, value_set=wanted)
        recs = pc.take(party["record_id"], parent.filter(hit))
        vals = flat.filter(hit)
    out: dict[str, set[str]] = {}
    for r, v in zip(recs.to_pylist(), vals.to_pylist(), strict=True):
        g = golden_of.get(r)
        if g is not None:
            out.setdefault(v, set()).add(g)
    return out


def _values(row: dict[str, Any], kind: str) -> list[str]:
    if kind == "address":
        return [f"{row['street']}|{row['zip']}"] if row["street"] and row["zip"] else []
    return [v for v in (row[f"{kind}s"] or []) if v]


def _shown(raw: dict[str, Any], side: dict[str, Any], kind: str, value: str) -> str:
    """``value`` as ``side`` (the governed, masked read of the same record) shows it."""
    if kind == "address":
        street, zip_ = side.get("street"), side.get("zip")
        if street is None:
            return "(masked)"
        return f"{display_value('street', street)}, {zip_ if zip_ is not None else '(masked)'}"
    masked = side.get(f"{kind}s")
    raw_list = raw[f"{kind}s"] or []
    if masked is None or len(masked) != len(raw_list):
        return "(masked)"
    shown = masked[raw_list.index(value)]
    return "(masked)" if shown is None else str(shown)


def shared_identifiers(
    party: pa.Table,
    golden_of: dict[str, str],
    status: pa.Table,
    raw: tuple[dict[str, Any], dict[str, Any]],
    sides: tuple[dict[str, Any], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Every email, phone and address of either record, which of the two hold it, and the
    *other* golden records (neither record's own) holding it too."""
    own = {golden_of.get(r["record_id"]) for r in raw} - {None}
    flags = {(s["kind"], s["value"]): s for s in status.to_pylist()}
    out: list[dict[str, Any]] = []
    for kind in ("email", "phone", "address"):
        values = sorted({v for r in raw for v in _values(r, kind)})
        holders = _holders(party, golden_of, kind, values)
        for v in values:
            held = [i for i, r in enumerate(raw) if v in _values(r, kind)]
            others = sorted(holders.get(v, set()) - own)
            notes = []
            st = flags.get((kind, v))
            if st and st["generic"]:
                notes.append(f"generic: held by {st['people']} people")
            elif st and st["ambiguous"]:
                notes.append("ambiguous: two of its holders cannot be one person")
            if kind == "email" and household_mailbox(v):
                notes.append("household mailbox")
            out.append(
                {
                    "kind": kind,
                    "value": _shown(raw[held[0]], sides[held[0]], kind, v),
                    "held_by": ["left" if i == 0 else "right" for i in held],
                    "other_golden_ids": others[:MAX_LISTED],
                    "other_golden_count": len(others),
                    "note": "; ".join(notes) or None,
                }
            )
    # the fact a steward looks for first: values shared with other golden records
    out.sort(key=lambda s: (-s["other_golden_count"], s["kind"]))
    return out


# ---------------------------------------------------------------------- rules and paths
def identifier(
    rule: str,
    raw: tuple[Any, Any],
    sides: tuple[dict[str, Any], dict[str, Any]] | None,
) -> dict[str, Any] | None:
    """Which identifier a deterministic rule (or a review pair through a shared value)
    used: ``{kind, values}``; values are shown only when ``sides`` (a governed read of
    the two records) is given. None for Splink and for unknown rules."""
    ra, rb = raw
    rule = rule.split(":", 1)[1] if rule.startswith(("shared_id:", "held:")) else rule
    if rule == "splink" or ra is None or rb is None:
        return None
    if rule == "reference":
        named = rb["record_id"] if rb["record_id"] in (ra["refs"] or []) else ra["record_id"]
        return {"kind": "source reference", "values": [named]}
    kinds = {
        "ssn": ["ssn"],
        "email": ["email"],
        "phone": ["phone"],
        "rare_id": ["email", "phone", "ssn"],
        "email_typo": ["email"],
    }.get(rule, [])
    if not kinds:
        return None
    if rule == "email_typo":
        values = sorted({*(ra["emails"] or []), *(rb["emails"] or [])})
        shown = (
            [
                _shown(
                    ra if v in (ra["emails"] or []) else rb,
                    sides[0] if v in (ra["emails"] or []) else sides[1],
                    "email",
                    v,
                )
                for v in values
            ]
            if sides
            else []
        )
        return {"kind": "email (one keystroke apart)", "values": shown}
    for kind in kinds:
        if kind == "ssn":
            if ra["ssn_token"] and ra["ssn_token"] == rb["ssn_token"]:
                last4 = sides[0].get("ssn_last4") if sides else None
                return {"kind": "SSN", "values": [f"last four {last4}"] if last4 else []}
            continue
        common = sorted(set(ra[f"{kind}s"] or []) & set(rb[f"{kind}s"] or []))
        if common:
            shown = [_shown(ra, sides[0], kind, v) for v in common] if sides else []
            return {"kind": kind, "values": shown}
    return {"kind": kinds[0], "values": []}


def link_path(
    pairs: pa.Table,
    members: set[str],
    must: list[tuple[str, str]],
    a: str,
    b: str,
    auto_link: float,
) -> list[dict[str, Any]] | None:
    """The shortest chain of links (pairs at or above ``auto_link``, or steward
    must-links) between ``a`` and ``b`` inside their golden record, strongest hop first
    among equals; None when the stored pairs hold no such chain."""
    ids = pa.array(sorted(members), pa.string())
    inside = pc.and_(pc.is_in(pairs["record_id_l"], ids), pc.is_in(pairs["record_id_r"], ids))
    edges = pairs.filter(
        pc.and_(inside, pc.greater_equal(pairs["match_probability"], auto_link))
    ).to_pylist()
    edges += [
        {
            "record_id_l": x,
            "record_id_r": y,
            "rule": "steward must-link",
            "match_weight": None,
            "match_probability": 1.0,
        }
        for x, y in must
        if x in members and y in members
    ]
    adj: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for e in sorted(edges, key=lambda e: -(e["match_weight"] or math.inf)):
        adj.setdefault(e["record_id_l"], []).append((e["record_id_r"], e))
        adj.setdefault(e["record_id_r"], []).append((e["record_id_l"], e))
    came: dict[str, tuple[str, dict[str, Any]] | None] = {a: None}
    queue = deque([a])
    while queue and b not in came:
        node = queue.popleft()
        for nxt, e in adj.get(node, []):
            if nxt not in came:
                came[nxt] = (node, e)
                queue.append(nxt)
    if b not in came:
        return None
    hops = []
    node = b
    while (step := came[node]) is not None:
        prev, e = step
        hops.append(
            {
                "from": prev,
                "to": node,
                "rule": e["rule"],
                "match_weight": e["match_weight"],
                "probability": e["match_probability"],
            }
        )
        node = prev
    return hops[::-1]
