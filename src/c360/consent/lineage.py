"""Golden-level facts remember whom they were given for; absorbed ids point at their survivor.

A consent event or suppression entry recorded against a *golden_id* is stored
with the member records (``source:source_key``) that golden record had at that
moment, as the subject index knew them (``consent_fact_members``). When
identity later splits the record, :mod:`c360.consent.subjects` sends each fact
to the part holding its members; a fact whose members ended up in several parts
cannot be given an owner and applies restrictively to all of them (denials and
suppressions to every part, grants to none) until a steward resolves it.

An id absorbed by a merge is an alias row of its survivor in the index;
:func:`resolve` finds that survivor so callers holding an old id are redirected
rather than told the subject is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from c360.consent.tables import (
    consent_events,
    consent_fact_members,
    consent_subject_index,
    consent_subjects,
)


def resolve(conn: Connection, golden_id: str) -> str | None:
    """The golden id ``golden_id`` stands for today: itself if it is a subject, the one
    survivor that absorbed it, or None (unknown, or split so that no single part owns it)."""
    idx, subj = consent_subject_index.c, consent_subjects.c
    if conn.execute(select(subj.golden_id).where(subj.golden_id == golden_id)).first():
        return golden_id
    rows = conn.execute(
        select(idx.golden_id)
        .where(
            idx.id_type == "golden_id",
            idx.id_value == golden_id,
            idx.golden_id != golden_id,
            idx.restrict_only.is_(False),
        )
        .distinct()
    ).all()
    return str(rows[0][0]) if len(rows) == 1 else None


def members_of(conn: Connection, golden_id: str) -> list[str]:
    """Member records (``source:source_key``) of the record ``golden_id`` stands for today."""
    owner = resolve(conn, golden_id)
    if owner is None:
        return []
    idx = consent_subject_index.c
    q = select(idx.id_value).where(
        idx.golden_id == owner, idx.id_type == "source_key", idx.restrict_only.is_(False)
    )
    return sorted({str(v) for (v,) in conn.execute(q)})


def record(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Store the members of every golden-level row just inserted into ``table`` (same transaction).

    ``table``: ``consent_events`` or ``suppressions``. Suppression rows hold only a hash of
    the identifier, so a golden-level entry's id is looked up among the index's golden ids.
    """
    kind = "event" if table is consent_events else "suppression"
    out: list[dict[str, Any]] = []
    cache: dict[str, list[str]] = {}
    for r in rows:
        if r.get("id_type") != "golden_id":
            continue
        gid = r.get("id_value") if kind == "event" else _golden_of_hash(conn, r["id_hash"])
        if not gid:
            continue
        if gid not in cache:
            cache[gid] = members_of(conn, gid)
        fact_id = r["event_id"] if kind == "event" else r["entry_id"]
        out.extend(
            {
                "fact_id": fact_id,
                "record_id": m,
                "fact_kind": kind,
                "golden_id": gid,
                "recorded_at_us": r["recorded_at_us"],
            }
            for m in cache[gid]
        )
    if out:
        conn.execute(consent_fact_members.insert(), out)
    return len(out)


def _golden_of_hash(conn: Connection, id_hash: str) -> str | None:
    idx = consent_subject_index.c
    row = conn.execute(
        select(idx.id_value).where(idx.id_hash == id_hash, idx.id_type == "golden_id").limit(1)
    ).first()
    return str(row[0]) if row else None
