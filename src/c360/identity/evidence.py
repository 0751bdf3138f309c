"""What a steward needs to decide whether two records are one person.

:func:`pair_evidence` is the one computation behind ``c360 identity explain``, the review
task page of the console and ``GET /v1/review/tasks/{id}``. On top of
:meth:`~c360.identity.service.IdentityService.explain` (rules, band, refusing constraint)
it adds, from the stored tables:

* **comparisons** — each Splink comparison with the two values (masked through the
  governed read path), the level the pair falls in, its match weight and what it means
  in words: *for* or *against* a match, **missing** or **neutral**; plus Splink's
  **prior** (see :mod:`c360.identity.weights`);
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

import pyarrow as pa
import pyarrow.compute as pc

from c360.identity import constraints, model
from c360.identity.display import display_value
from c360.identity.household import household_mailbox
from c360.identity.pipeline import read_or_empty
from c360.identity.schema import PAIRS, PARTY_RECORDS, STATUS
from c360.identity.weights import comparisons, prior

if TYPE_CHECKING:
    from c360.identity.service import IdentityService

#: Other golden records listed by id per shared value (the count is always given).
MAX_LISTED = 10


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
    party = read_or_empty(ws, "silver", "party_records", PARTY_RECORDS)
    out = service.explain(key1, key2, party=party)
    a, b = out["records"]
    sides = service.sides(a, b, role=role, actor=actor, extra=["emails", "phones"])
    out["compare"] = service.compare_rows(*sides)
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
    if task is not None:
        _add_task_rule(out, task, ws.config.identity.thresholds)
    splink_row = next((e for e in out["evidence"] if e["rule"] == "splink"), None)
    for e in out["evidence"]:
        e["identifier"] = identifier(e["rule"], raw, sides)
        if isinstance(e["detail"], dict) and isinstance(e["detail"].get("held"), str):
            e["why"], e["detail"] = e["detail"]["held"], None
    out["prior"] = prior(loaded[1]) if loaded else None
    out["comparisons"] = comparisons(
        ws.engine, loaded[1] if loaded else None, raw, sides, status, splink_row, out["compare"]
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
        on_path = {r for h in out["path"] or [] for r in (h["from"], h["to"])}
        ends = {
            r["record_id"]: r
            for r in party.filter(
                pc.is_in(party["record_id"], pa.array(sorted(on_path), pa.string()))
            ).to_pylist()
        }
        for hop in out["path"] or []:
            # the kind only: a third record's values are not read for this person
            hop["identifier"] = identifier(hop["rule"], (ends[hop["from"]], ends[hop["to"]]), None)
    out["constraint"] = constraints.on_pair(ws, a, b)
    return out


def _add_task_rule(out: dict[str, Any], task: dict[str, Any], thresholds: Any) -> None:
    """A review task's own pair (``shared_id:<kind>``, ``held:<rule>``) is never a stored
    scored pair: it joins the evidence from the task, and sets the band."""
    detail = task.get("detail") or {}
    rule = detail.get("rule")
    if not rule or any(e["rule"] == rule for e in out["evidence"]):
        return
    a, b = out["records"]
    p = float(task["probability"])
    out["evidence"].append(
        {
            "record_id_l": a,
            "record_id_r": b,
            "match_weight": float(task["match_weight"]),
            "match_probability": p,
            "rule": rule,
            "detail": detail.get("detail"),
            "from_task": True,
        }
    )
    if out["band"] == "not compared":
        th = thresholds
        out["band"] = "auto_link" if p >= th.auto_link else "review" if p >= th.review else "reject"


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
        near = [
            (x, y)
            for x in ra["emails"] or []
            for y in rb["emails"] or []
            if x != y and _one_edit(x, y)
        ]
        shown = (
            [
                f"{_shown(ra, sides[0], 'email', x)} ~ {_shown(rb, sides[1], 'email', y)}"
                for x, y in near
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


def _one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` one insertion, deletion, substitution or adjacent swap apart."""
    if abs(len(a) - len(b)) > 1:
        return False
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :] or (
            a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2 :] == b[i + 2 :]
        )
    long, short = (a, b) if len(a) > len(b) else (b, a)
    return long[:i] + long[i + 1 :] == short


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
