"""Writing decisions: what a channel receives, and one transaction per batch of decisions.

Decision rows, HITL tasks, outbox messages (the transactional outbox: a queued decision
and its message are committed together) and experiment assignments (first one wins).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, func, select

from c360.activation import outbox
from c360.decisioning.catalogue import Catalogue
from c360.decisioning.steps import _now_us
from c360.decisioning.tables import decisions, hitl_tasks
from c360.experiments import assignments, experiments
from c360.settings.decisioning import DecisioningSettings
from c360.store import Store

EXPERIMENT = "nba"


def payload(cat: Catalogue, d: dict[str, Any]) -> dict[str, Any]:
    """What a channel receives: ids and the offer, never the customer's raw attributes."""
    a = cat.get(d["chosen_action"])
    return {
        "decision_id": d["decision_id"],
        "golden_id": d["golden_id"],
        "action": a.id,
        "title": a.description,
        "channel": d["channel"],
        "purpose": d["purpose"],
        "rationale": d["rationale"],
    }


Extra = Callable[[Connection, list[dict[str, Any]]], None]


def write(
    store: Store,
    settings: DecisioningSettings,
    results: list[dict[str, Any]],
    *,
    extra: Extra | None = None,
) -> None:
    """Decisions, HITL tasks, outbox messages and assignments: one transaction.

    ``extra(conn, decision_rows)`` runs in the same transaction (a caller's record of
    what it decided, e.g. the stream's firings), so both commit or neither does; it may
    raise to roll the decisions back.
    """
    if not results:
        return
    with store.begin() as conn:
        if extra is not None:
            extra(conn, [r["decision"] for r in results])
        if (
            conn.execute(
                select(func.count())
                .select_from(experiments)
                .where(experiments.c.experiment_id == EXPERIMENT)
            ).scalar_one()
            == 0
        ):
            conn.execute(
                experiments.insert(),
                [
                    {
                        "experiment_id": EXPERIMENT,
                        "salt": settings.experiment_salt,
                        "holdout_share": settings.holdout_share,
                        "description": "next-best-action holdout: no action, logged",
                        "created_at_us": _now_us(),
                    }
                ],
            )
        conn.execute(decisions.insert(), [r["decision"] for r in results])
        tasks = [r["task"] for r in results if "task" in r]
        if tasks:
            conn.execute(hitl_tasks.insert(), tasks)
        msgs = [r["message"] for r in results if "message" in r]
        if msgs:
            conn.execute(outbox.insert(), msgs)
        have = {
            g
            for (g,) in conn.execute(
                select(assignments.c.golden_id).where(
                    assignments.c.experiment_id == EXPERIMENT,
                    assignments.c.golden_id.in_([r["assignment"]["golden_id"] for r in results]),
                )
            )
        }
        new = {
            r["assignment"]["golden_id"]: r["assignment"]
            for r in results
            if r["assignment"]["golden_id"] not in have
        }
        if new:
            conn.execute(assignments.insert(), list(new.values()))
