"""Shared helpers of the streaming tests: pick customers from the real world's crosswalk."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from c360.consent.tables import consent_subject_index as idx
from c360.workspace import Workspace


def ts(delta_s: float = -60) -> str:
    return datetime.fromtimestamp(datetime.now(UTC).timestamp() + delta_s, UTC).isoformat()


def unique_values(ws: Workspace, id_type: str, limit: int = 400) -> list[tuple[str, str]]:
    """(golden_id, value) of identifiers of ``id_type`` held by exactly one golden record."""
    with ws.store.begin() as conn:
        rows = conn.execute(
            select(idx.c.id_value, func.min(idx.c.golden_id))
            .where(idx.c.id_type == id_type, idx.c.restrict_only.is_(False))
            .group_by(idx.c.id_value)
            .having(func.count(func.distinct(idx.c.golden_id)) == 1)
            .order_by(idx.c.id_value)
            .limit(limit)
        ).all()
    return [(g, v) for v, g in rows]


def allowed_by_email(ws: Workspace, n: int) -> list[tuple[str, str]]:
    """``n`` (golden_id, email) whose golden record the gate allows for marketing e-mail now."""
    out = []
    for g, email in unique_values(ws, "email", 2000):
        if ws.consent.check(g, "marketing", "email").allowed:
            out.append((g, email))
            if len(out) == n:
                return out
    raise AssertionError(f"only {len(out)} customers may be e-mailed; need {n}")


def source_key_of(ws: Workspace, golden_id: str) -> str:
    with ws.store.begin() as conn:
        return str(
            conn.execute(
                select(idx.c.id_value).where(
                    idx.c.golden_id == golden_id, idx.c.id_type == "source_key"
                )
            )
            .scalars()
            .first()
        )


def consent_event(eid: str, email: str, status: str = "revoked", **extra: Any) -> dict[str, Any]:
    return {
        "event_id": eid,
        "type": "consent",
        "source": "preference_centre",
        "timestamp": ts(),
        "identifiers": {"email": email, **extra},
        "payload": {"purpose": "marketing", "channel": "email", "status": status},
    }


def login(eid: str, key: str, ok: bool, at: str = "2026-01-02 10:00:00") -> dict[str, object]:
    """A `digital_logins` track event of source key ``key`` (``ok``: a successful login)."""
    return {
        "event_id": eid,
        "type": "track",
        "source": "digital_logins",
        "timestamp": ts(),
        "identifiers": {"source_key": key},
        "payload": {"login_id": eid, "customer_no": key.split(":", 1)[1], "at": at, "success": ok},
    }
