"""``c360 stream status``: lag, freshness percentiles and totals from the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from c360.consent.vocab import now_us
from c360.stream.tables import (
    stream_applied,
    stream_batches,
    stream_firings,
    stream_identifiers,
    stream_inbox,
)

if TYPE_CHECKING:
    from c360.workspace import Workspace


def status(ws: Workspace, *, window_s: float = 3600.0) -> dict[str, Any]:
    """Consumer lag (events accepted, not yet applied), the age of the oldest of them,
    accept → applied latency p50/p99 over the last ``window_s``, event → decision latency
    p50/p99 of the stream's firings decided in that window (accepted → decision committed),
    and totals."""
    now = now_us()
    with ws.store.begin() as conn:
        done = int(conn.execute(select(func.max(stream_batches.c.last_position))).scalar() or 0)
        waiting = conn.execute(
            select(func.count(), func.min(stream_inbox.c.received_at_us)).where(
                stream_inbox.c.position > done
            )
        ).one()
        lat = sorted(
            (a - r) / 1000
            for r, a in conn.execute(
                select(stream_applied.c.received_at_us, stream_applied.c.applied_at_us).where(
                    stream_applied.c.applied_at_us >= now - int(window_s * 1e6)
                )
            )
        )
        totals = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(stream_batches.c.applied), 0),
                func.coalesce(func.sum(stream_batches.c.duplicates), 0),
                func.coalesce(func.sum(stream_batches.c.quarantined), 0),
                func.max(stream_batches.c.committed_at_us),
            )
        ).one()
        pending = conn.execute(
            select(func.count()).where(stream_batches.c.status == "pending")
        ).scalar()
        f = stream_firings
        dlat = sorted(
            (d - r) / 1000
            for r, d in conn.execute(
                select(f.c.received_at_us, f.c.decided_at_us).where(
                    f.c.decided_at_us >= now - int(window_s * 1e6)
                )
            )
        )
        firings: dict[str, int] = dict(
            conn.execute(select(f.c.status, func.count()).group_by(f.c.status)).all()
        )
        outcomes: dict[str, int] = dict(
            conn.execute(
                select(stream_identifiers.c.outcome, func.count()).group_by(
                    stream_identifiers.c.outcome
                )
            ).all()
        )

    def pct(q: float, xs: list[float] = lat) -> float | None:
        return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else None

    last = totals[4]
    return {
        "lag_events": int(waiting[0]),
        "oldest_waiting_s": round((now - waiting[1]) / 1e6, 3) if waiting[1] else 0.0,
        "freshness_window_s": window_s,
        "freshness_events": len(lat),
        "freshness_p50_ms": pct(0.5),
        "freshness_p99_ms": pct(0.99),
        "batches": int(totals[0]),
        "batches_pending_lake": int(pending or 0),
        "applied": int(totals[1]),
        "duplicates": int(totals[2]),
        "quarantined": int(totals[3]),
        "last_batch_s_ago": round((now - last) / 1e6, 3) if last else None,
        "identifiers": {k: int(v) for k, v in outcomes.items()},
        "firings": {k: int(v) for k, v in firings.items()},
        "decision_events": len(dlat),
        "decision_p50_ms": pct(0.5, dlat),
        "decision_p99_ms": pct(0.99, dlat),
    }
