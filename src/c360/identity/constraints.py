"""Steward review: tasks for the review band, decisions as link constraints, audited.

Approving a task adds a must-link, rejecting adds a cannot-link; every later
run (incremental or ``--full``) reads the active constraints and honours them.
An approved merge can be undone (:func:`undo`): the must-link is replaced by a
cannot-link, so the next run splits the records again and each part takes back
its former golden id. Consent may raise tasks of its own (:func:`raise_consent_task`:
a golden-level fact whose owner a split could not decide); they are closed, not
approved or rejected. Decisions are written to the workspace's audit log (``ws.audit``, with keyed
hashes of the record ids, never the source keys) and to the task row itself
(who, when, why).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from c360.errors import C360Error, NotFoundError
from c360.identity.tables import link_constraints, review_tasks

if TYPE_CHECKING:
    from c360.workspace import Workspace

#: ``run_id`` prefix of tasks consent raises (not a pair to link: never approved or rejected).
CONSENT_TASK = "consent:"


def active(ws: Workspace) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(must_links, cannot_links)`` currently in force."""
    with ws.store.begin() as conn:
        rows = conn.execute(
            select(
                link_constraints.c.kind,
                link_constraints.c.record_id_l,
                link_constraints.c.record_id_r,
            ).where(link_constraints.c.active.is_(True))
        ).all()
    must = [(r.record_id_l, r.record_id_r) for r in rows if r.kind == "must_link"]
    cannot = [(r.record_id_l, r.record_id_r) for r in rows if r.kind == "cannot_link"]
    return must, cannot


def on_pair(ws: Workspace, a: str, b: str) -> dict[str, Any] | None:
    """The steward decision in force on records ``a`` and ``b`` (either order), if any:
    ``{constraint_id, kind, created_by, reason, created_at, task_id}``."""
    left, right = sorted((a, b))
    with ws.store.begin() as conn:
        row = conn.execute(
            select(link_constraints)
            .where(
                link_constraints.c.record_id_l == left,
                link_constraints.c.record_id_r == right,
                link_constraints.c.active.is_(True),
            )
            .order_by(link_constraints.c.constraint_id.desc())
        ).first()
    if row is None:
        return None
    keep = ("constraint_id", "kind", "created_by", "reason", "created_at", "task_id")
    return {k: row._mapping[k] for k in keep}


def _task(row: Any) -> dict[str, Any]:
    """A task row as a dict, its ``detail`` decoded once (older rows held JSON text inside)."""
    task = dict(row._mapping)
    detail = task.get("detail")
    if isinstance(detail, dict) and isinstance(detail.get("detail"), str):
        task["detail"] = {**detail, "detail": json.loads(detail["detail"])}
    return task


def impact(task: dict[str, Any]) -> float:
    """The task's expected impact (see :mod:`c360.identity.review`); 0 for older rows."""
    detail = task.get("detail") or {}
    return float(detail.get("impact", 0.0)) if isinstance(detail, dict) else 0.0


def list_tasks(ws: Workspace, status: str | None = "open", limit: int = 50) -> list[dict[str, Any]]:
    """Tasks by expected impact (highest first), then probability."""
    q = select(review_tasks)
    if status:
        q = q.where(review_tasks.c.status == status)
    with ws.store.begin() as conn:
        tasks = [_task(r) for r in conn.execute(q).all()]
    tasks.sort(key=lambda t: (-impact(t), -t["probability"], t["task_id"]))
    return tasks[:limit]


def count_tasks(ws: Workspace, status: str = "open") -> int:
    from sqlalchemy import func

    with ws.store.begin() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(review_tasks)
                .where(review_tasks.c.status == status)
            ).scalar()
            or 0
        )


def get_task(ws: Workspace, task_id: int) -> dict[str, Any]:
    with ws.store.begin() as conn:
        row = conn.execute(select(review_tasks).where(review_tasks.c.task_id == task_id)).first()
    if row is None:
        raise NotFoundError("identity.task_not_found", f"review task {task_id} does not exist")
    return _task(row)


def add_constraint(
    ws: Workspace, kind: str, a: str, b: str, *, actor: str, reason: str, task_id: int | None = None
) -> int:
    """Record a must-link or cannot-link between two records (``source:key``)."""
    if kind not in ("must_link", "cannot_link"):
        raise C360Error("identity.bad_constraint", f"unknown constraint kind {kind!r}")
    if not reason.strip():
        raise C360Error("identity.reason_required", "a steward decision needs a reason")
    left, right = sorted((a, b))
    now = datetime.now(UTC)
    with ws.store.begin() as conn:
        # a new decision on the same pair supersedes the old one
        conn.execute(
            update(link_constraints)
            .where(
                or_(
                    and_(
                        link_constraints.c.record_id_l == left,
                        link_constraints.c.record_id_r == right,
                    )
                )
            )
            .values(active=False)
        )
        res = conn.execute(
            insert(link_constraints).values(
                kind=kind,
                record_id_l=left,
                record_id_r=right,
                task_id=task_id,
                created_by=actor,
                reason=reason,
                created_at=now,
                active=True,
            )
        )
        cid = int(res.inserted_primary_key[0]) if res.inserted_primary_key else 0
    # record ids are source keys: the audit log keeps only their keyed hashes
    kh = ws.tokenizer.keyed_hash
    _audit(
        ws,
        actor,
        f"identity.{kind}",
        f"{kh(left)}|{kh(right)}",
        {"reason": reason, "task_id": task_id},
    )
    return cid


def decide(
    ws: Workspace, task_id: int, *, approve: bool, actor: str, reason: str
) -> dict[str, Any]:
    task = get_task(ws, task_id)
    if str(task["run_id"]).startswith(CONSENT_TASK):
        raise C360Error(
            "identity.not_a_match_task",
            f"review task {task_id} asks whose consent facts these are, not whether two "
            "records are one person: record the facts again against the right golden id "
            f"(`c360 consent set`), then `c360 review close {task_id} --reason '…'`",
            {"task_id": task_id},
            http_status=409,
        )
    if task["status"] != "open":
        raise C360Error(
            "identity.task_closed",
            f"review task {task_id} is already {task['status']}",
            {"task_id": task_id, "status": task["status"]},
        )
    kind = "must_link" if approve else "cannot_link"
    add_constraint(
        ws,
        kind,
        task["record_id_l"],
        task["record_id_r"],
        actor=actor,
        reason=reason,
        task_id=task_id,
    )
    with ws.store.begin() as conn:
        conn.execute(
            update(review_tasks)
            .where(review_tasks.c.task_id == task_id)
            .values(
                status="approved" if approve else "rejected",
                decided_at=datetime.now(UTC),
                decided_by=actor,
                reason=reason,
            )
        )
    return get_task(ws, task_id)


def undo(ws: Workspace, task_id: int, *, actor: str, reason: str) -> dict[str, Any]:
    """Undo an approved merge: the pair becomes a cannot-link, the task ``undone``.

    The next identity run splits the records (the constrained records are always
    re-clustered) and the part that was a golden record before the merge takes its
    old id back.
    """
    task = get_task(ws, task_id)
    if task["status"] != "approved":
        raise C360Error(
            "identity.task_not_approved",
            f"review task {task_id} is {task['status']}: only an approved merge can be undone"
            + (
                f"; to keep the records apart use `c360 review reject {task_id}`"
                if task["status"] == "open"
                else ""
            ),
            {"task_id": task_id, "status": task["status"]},
            http_status=409,
        )
    add_constraint(
        ws,
        "cannot_link",
        task["record_id_l"],
        task["record_id_r"],
        actor=actor,
        reason=reason,
        task_id=task_id,
    )
    _set_status(ws, task_id, "undone", actor, reason)
    return get_task(ws, task_id)


def close(ws: Workspace, task_id: int, *, actor: str, reason: str) -> dict[str, Any]:
    """Close a task consent raised once a steward has settled it (no link decision)."""
    task = get_task(ws, task_id)
    if not str(task["run_id"]).startswith(CONSENT_TASK):
        raise C360Error(
            "identity.not_a_consent_task",
            f"review task {task_id} is a match to decide: `c360 review approve|reject {task_id}`",
            {"task_id": task_id},
            http_status=409,
        )
    if task["status"] != "open":
        raise C360Error(
            "identity.task_closed",
            f"review task {task_id} is already {task['status']}",
            {"task_id": task_id, "status": task["status"]},
        )
    if not reason.strip():
        raise C360Error("identity.reason_required", "a steward decision needs a reason")
    _set_status(ws, task_id, "closed", actor, reason)
    _audit(ws, actor, "identity.review_close", str(task_id), {"reason": reason})
    return get_task(ws, task_id)


def _set_status(ws: Workspace, task_id: int, status: str, actor: str, reason: str) -> None:
    with ws.store.begin() as conn:
        conn.execute(
            update(review_tasks)
            .where(review_tasks.c.task_id == task_id)
            .values(status=status, decided_at=datetime.now(UTC), decided_by=actor, reason=reason)
        )


def raise_consent_task(
    conn: Connection, golden_id: str, parts: dict[str, str], *, at: datetime
) -> int | None:
    """Open a task for a golden-level fact split between records, unless one for the same
    id and parts exists; ``parts``: golden id of each part → one of its member records."""
    run_id = f"{CONSENT_TASK}{golden_id}"[:40]
    names = sorted(parts)
    for row in conn.execute(
        select(review_tasks.c.detail).where(review_tasks.c.run_id == run_id)
    ).all():
        if isinstance(row.detail, dict) and sorted(row.detail.get("parts", {})) == names:
            return None
    res = conn.execute(
        insert(review_tasks).values(
            run_id=run_id,
            record_id_l=parts[names[0]],
            record_id_r=parts[names[1]],
            golden_id_l=names[0],
            golden_id_r=names[1],
            probability=0.0,
            match_weight=0.0,
            detail={
                "kind": "consent_owner",
                "golden_id": golden_id,
                "parts": parts,
                "why": f"consent facts recorded against {golden_id} were given while its "
                "records were one golden record; they are now split, so the facts apply "
                "restrictively to every part (denials to all, grants to none)",
            },
            status="open",
            created_at=at,
        )
    )
    return int(res.inserted_primary_key[0]) if res.inserted_primary_key else None


def audit_run(ws: Workspace, report: Any) -> None:
    """An identity run is an access to everyone's records: audited with its counts only."""
    import getpass

    d = report.to_dict()
    keep = ("status", "full", "records", "new_or_changed", "golden_ids", "merges", "events")
    _audit(ws, getpass.getuser(), "identity.run", str(d["run_id"]), {k: d.get(k) for k in keep})


def _audit(ws: Workspace, actor: str, action: str, target: str, details: dict[str, Any]) -> None:
    """Write to the workspace's hash-chained audit log."""
    ws.audit.append(actor, action, target, details)
