"""KPI trends over runs: what the dashboard plots next to the current KPIs.

Decisions per run by status (batch runs and on-demand contexts), audience build times
in build order, delivery attempts by outcome, and accepted/declined answers to offered
decisions. Counts only: no customer identifier leaves this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from c360.activation import deliveries
from c360.decisioning import audience_builds, decisions
from c360.experiments import outcomes

if TYPE_CHECKING:
    from c360.workspace import Workspace


def trends(ws: Workspace) -> dict[str, Any]:
    with ws.store.engine.connect() as conn:
        by_run = conn.execute(
            select(
                func.coalesce(decisions.c.run_id, "adhoc"),
                decisions.c.status,
                func.count(),
                func.min(decisions.c.decided_at_us),
            ).group_by(func.coalesce(decisions.c.run_id, "adhoc"), decisions.c.status)
        ).all()
        builds = conn.execute(
            select(
                audience_builds.c.name, audience_builds.c.built_at_us, audience_builds.c.seconds
            ).order_by(audience_builds.c.built_at_us)
        ).all()
        attempts = conn.execute(
            select(deliveries.c.outcome, func.count()).group_by(deliveries.c.outcome)
        ).all()
        answers = conn.execute(
            select(outcomes.c.value, func.count())
            .where(outcomes.c.source.in_(["api", "console"]))
            .group_by(outcomes.c.value)
        ).all()
    first: dict[str, int] = {}
    runs: dict[str, dict[str, int]] = {}
    for run, status, n, t0 in by_run:
        runs.setdefault(run, {})[status] = int(n)
        first[run] = min(first.get(run, t0), t0)
    order = sorted(runs, key=lambda r: first[r])
    return {
        "decisions_by_run": [{"run": r, "by_status": runs[r]} for r in order],
        "audience_builds": [
            {"audience": name, "built_at_us": at, "seconds": float(sec)} for name, at, sec in builds
        ],
        "delivery_attempts": {str(k): int(v) for k, v in attempts},
        "answers": {
            "accepted": int(sum(n for v, n in answers if v >= 0.5)),
            "declined": int(sum(n for v, n in answers if v < 0.5)),
        },
    }
