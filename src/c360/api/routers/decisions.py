"""Decisions: next-best-action on request, the decision log of a customer, outcomes, HITL.

Every id is checked against the caller: a decision or a HITL task is visible only when its
customer is (the governed read of ``gold.golden_customers`` with the caller's row
filters); anything else is answered as not found, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from c360.api.auth import Actor, ActorDep, WorkspaceDep, require_role
from c360.api.routers.profiles import require_visible
from c360.errors import C360Error, NotFoundError
from c360.workspace import Workspace

router = APIRouter(prefix="/v1", tags=["decisions"])
# who asks for a next-best-action and answers it: the people talking to the customer
DECIDERS = ("agent", "admin")
# who reads the decision log of a customer: those, and the oversight roles
READERS = ("agent", "governance", "privacy", "admin")
# who decides a HITL task (sensitive customers): contact-centre supervisors and Privacy
HITL = ("agent", "privacy", "admin")

# what a decision looks like through the API (the log row minus delivery internals)
_HIDDEN = ("deliveries",)


def decision_view(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in _HIDDEN}


def visible_decision(ws: Workspace, act: Actor, decision_id: str) -> dict[str, Any]:
    try:
        d = ws.decisioning.log.get(decision_id)
    except C360Error as exc:
        if exc.code != "decisioning.unknown_decision":
            raise
        raise NotFoundError(
            "decision.not_found", "no such decision visible to the caller"
        ) from None
    try:
        require_visible(ws, act, d["golden_id"])
    except NotFoundError:
        raise NotFoundError(
            "decision.not_found", "no such decision visible to the caller"
        ) from None
    return d


def visible_task(ws: Workspace, act: Actor, task_id: str) -> dict[str, Any]:
    try:
        t = ws.decisioning.hitl.show(task_id)
    except C360Error as exc:
        if exc.code != "hitl.unknown_task":
            raise
        raise NotFoundError("hitl.not_found", "no such task visible to the caller") from None
    try:
        require_visible(ws, act, t["golden_id"])
    except NotFoundError:
        raise NotFoundError("hitl.not_found", "no such task visible to the caller") from None
    return {**t, "decision": decision_view(t["decision"])}


def visible_ids(ws: Workspace, act: Actor) -> set[str]:
    """Golden ids the caller may see (one governed read, row filters applied)."""
    t = ws.governance.read(act.principal, "gold", "golden_customers", act.purpose, ["golden_id"])
    return set(t.column("golden_id").to_pylist())


class NbaRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    golden_id: str = Field(..., min_length=1, max_length=64)
    context: str = Field("agent_desktop", max_length=40, description="agent_desktop | branch_visit")


@router.post(
    "/decisions/next-best-action",
    status_code=201,
    summary="Run the decisioning agent for one customer in a context; the decision is logged",
)
def next_best_action(body: NbaRequest, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *DECIDERS)
    require_visible(ws, act, body.golden_id)
    d = ws.decisioning.ondemand.recommend(body.golden_id, body.context, actor=act.name)
    return decision_view(d)


@router.get("/decisions", summary="The decision log of one customer, newest first")
def list_decisions(
    act: ActorDep,
    ws: WorkspaceDep,
    golden_id: str = Query(..., min_length=1, max_length=64),
    limit: int = Query(20, ge=1, le=200),
) -> dict[str, Any]:
    require_role(act, *READERS)
    require_visible(ws, act, golden_id)
    rows = ws.decisioning.log.show(golden_id=golden_id, limit=limit)
    for r in rows:
        r["outcome"] = ws.decisioning.ondemand.outcome(r["decision_id"])
    return {"golden_id": golden_id, "decisions": rows}


@router.get("/decisions/{decision_id}", summary="One decision with all its evidence")
def get_decision(decision_id: str, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *READERS)
    return decision_view(visible_decision(ws, act, decision_id))


class OutcomeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["accepted", "declined"]
    note: str | None = Field(None, max_length=2000)


@router.post(
    "/decisions/{decision_id}/outcome",
    status_code=201,
    summary="Record the customer's answer to an offered decision (once)",
)
def record_outcome(
    decision_id: str, body: OutcomeBody, act: ActorDep, ws: WorkspaceDep
) -> dict[str, Any]:
    require_role(act, *DECIDERS)
    visible_decision(ws, act, decision_id)
    d = ws.decisioning.ondemand.record_outcome(
        decision_id, body.outcome, actor=act.name, source="api", note=body.note
    )
    return decision_view(d)


# ---------------------------------------------------------------------- HITL
@router.get("/hitl/tasks", summary="Human-in-the-loop tasks of customers visible to the caller")
def hitl_tasks(
    act: ActorDep,
    ws: WorkspaceDep,
    status: Literal["open", "approved", "rejected", "all"] = "open",
    limit: int = Query(100, ge=1, le=500),
) -> dict[str, Any]:
    require_role(act, *HITL)
    tasks = ws.decisioning.hitl.list(None if status == "all" else status, limit)
    seen = visible_ids(ws, act) if tasks else set()
    return {"tasks": [t for t in tasks if t["golden_id"] in seen]}


@router.get("/hitl/tasks/{task_id}", summary="One HITL task with its decision's evidence")
def hitl_task(task_id: str, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *HITL)
    return visible_task(ws, act, task_id)


class HitlBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000)


def _close(ws: Workspace, act: Actor, task_id: str, approve: bool, note: str | None) -> Any:
    require_role(act, *HITL)
    visible_task(ws, act, task_id)
    try:
        fn = ws.decisioning.hitl.approve if approve else ws.decisioning.hitl.reject
        r = fn(task_id, actor=act.name, note=note)
    except C360Error as exc:
        if exc.code == "hitl.already_decided":
            exc.http_status = 409
        raise
    return {**r, "decision": decision_view(r["decision"])}


@router.post("/hitl/tasks/{task_id}/approve", summary="Approve: the action goes to the outbox")
def hitl_approve(task_id: str, body: HitlBody, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    result: dict[str, Any] = _close(ws, act, task_id, True, body.note)
    return result


@router.post("/hitl/tasks/{task_id}/reject", summary="Reject: nothing is sent")
def hitl_reject(task_id: str, body: HitlBody, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    result: dict[str, Any] = _close(ws, act, task_id, False, body.note)
    return result
