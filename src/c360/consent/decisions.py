"""The decision log: recorded gate decisions (``gate_decisions``), read back for evidence.

Every point check with ``record=True`` (or ``consent.record_point_checks``) and every
recorded audience build writes one row here and one entry in the hash-chained audit
log, in the same transaction (:func:`c360.consent.gate.record_decision`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from c360.consent.tables import gate_decisions
from c360.consent.vocab import from_us, to_us
from c360.errors import C360Error
from c360.store import Store


def read_decisions(
    store: Store,
    *,
    golden_id: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Decisions newest first; ``since`` filters on when they were decided."""
    if limit < 1:
        raise C360Error("consent.bad_limit", f"limit must be at least 1, not {limit}")
    t = gate_decisions
    q = select(t).order_by(t.c.decided_at_us.desc(), t.c.decision_id).limit(limit)
    if golden_id is not None:
        q = q.where(t.c.golden_id == golden_id)
    if since is not None:
        q = q.where(t.c.decided_at_us >= to_us(since))
    with store.begin() as conn:
        rows = conn.execute(q).all()
    out = []
    for r in rows:
        m = r._mapping
        inputs = dict(m["inputs"] or {})
        out.append(
            {
                "decision_id": m["decision_id"],
                "kind": m["kind"],
                "golden_id": m["golden_id"],
                "purpose": m["purpose"],
                "channel": m["channel"],
                "address": inputs.pop("address", None),
                "at": _iso(m["at_us"]),
                "known_at": _iso(m["known_at_us"]),
                "activation": bool(m["activation"]),
                "allowed": bool(m["allowed"]),
                "reasons": list(m["reasons"]),
                "evidence": list(m["evidence"]),
                "policy_version": m["policy_version"],
                "decided_at": _iso(m["decided_at_us"]),
                "inputs": inputs,
            }
        )
    return out


def _iso(us: int | None) -> str | None:
    dt = from_us(us)
    return dt.isoformat() if dt else None
