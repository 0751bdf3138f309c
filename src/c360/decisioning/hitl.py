"""The human-in-the-loop queue: sensitive customers' decisions wait here instead of activation.

A task is created with the decision (same transaction) carrying the reasons it needs a
human (``suitability.minor|senior|protected`` and the gate's suppression reasons).
``approve`` enqueues the proposed action in the outbox — which still passes the consent
gate at send time, so approval can never override consent — unless the proposal is
``no_action`` or the customer is in the experiment's holdout; ``reject`` closes the task.
Both are audited; the decision log shows the outcome by join.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from c360.activation import message_row, outbox
from c360.decisioning.tables import decisions, hitl_tasks
from c360.errors import C360Error

if TYPE_CHECKING:
    from c360.decisioning.service import DecisioningService

OPEN, APPROVED, REJECTED = "open", "approved", "rejected"


def _now_us() -> int:
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def task_row(
    decision_id: str, golden_id: str, action: str, channel: str | None, reasons: list[str]
) -> dict[str, Any]:
    return {
        "task_id": uuid.uuid4().hex,
        "decision_id": decision_id,
        "golden_id": golden_id,
        "action_id": action,
        "channel": channel,
        "reasons": reasons,
        "status": OPEN,
        "created_at_us": _now_us(),
        "decided_at_us": None,
        "decided_by": None,
        "note": None,
    }


class Hitl:
    def __init__(self, svc: DecisioningService) -> None:
        self.svc = svc

    def list(self, status: str | None = OPEN, limit: int = 100) -> list[dict[str, Any]]:
        q = select(hitl_tasks).order_by(hitl_tasks.c.created_at_us).limit(limit)
        if status:
            q = q.where(hitl_tasks.c.status == status)
        with self.svc.ws.store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def show(self, task_id: str) -> dict[str, Any]:
        with self.svc.ws.store.engine.connect() as conn:
            t = (
                conn.execute(select(hitl_tasks).where(hitl_tasks.c.task_id == task_id))
                .mappings()
                .first()
            )
        if t is None:
            raise C360Error("hitl.unknown_task", f"no HITL task {task_id!r}")
        return {**dict(t), "decision": self.svc.log.get(t["decision_id"])}

    def _close(self, task_id: str, status: str, actor: str, note: str | None) -> dict[str, Any]:
        task = self.show(task_id)
        if task["status"] != OPEN:
            raise C360Error("hitl.already_decided", f"task {task_id} is already {task['status']}")
        d = task["decision"]
        now = _now_us()
        enqueued = None
        with self.svc.ws.store.begin() as conn:
            n = conn.execute(
                update(hitl_tasks)
                .where(hitl_tasks.c.task_id == task_id, hitl_tasks.c.status == OPEN)
                .values(status=status, decided_at_us=now, decided_by=actor, note=note)
            ).rowcount
            if n != 1:
                raise C360Error("hitl.already_decided", f"task {task_id} was decided concurrently")
            sendable = d["chosen_action"] != "no_action" and d["channel"] and d["arm"] != "holdout"
            if status == APPROVED and sendable:
                row = message_row(
                    decision_id=d["decision_id"],
                    golden_id=d["golden_id"],
                    action_id=d["chosen_action"],
                    channel=d["channel"],
                    purpose=d["purpose"],
                    payload=self.svc.agent.payload(d),
                    now_us=now,
                )
                conn.execute(outbox.insert(), [row])
                enqueued = row["message_id"]
        self.svc.audit(
            actor,
            f"hitl.{status}",
            task_id,
            {"decision_id": d["decision_id"], "enqueued": enqueued},
        )
        return {**self.show(task_id), "enqueued": enqueued}

    def approve(
        self, task_id: str, *, actor: str = "cli", note: str | None = None
    ) -> dict[str, Any]:
        with self.svc.ws.write_lock("hitl"):
            return self._close(task_id, APPROVED, actor, note)

    def reject(
        self, task_id: str, *, actor: str = "cli", note: str | None = None
    ) -> dict[str, Any]:
        with self.svc.ws.write_lock("hitl"):
            return self._close(task_id, REJECTED, actor, note)


def outcome_of(conn: Any, decision_id: str) -> dict[str, Any] | None:
    t = (
        conn.execute(select(hitl_tasks).where(hitl_tasks.c.decision_id == decision_id))
        .mappings()
        .first()
    )
    return (
        None
        if t is None
        else {
            k: t[k] for k in ("task_id", "status", "reasons", "decided_by", "decided_at_us", "note")
        }
    )


__all__ = ["Hitl", "decisions", "outcome_of", "task_row"]
