"""Steward review: the queue, one task with its explanation, approve / reject."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from c360.api.auth import ActorDep, WorkspaceDep, require_role

router = APIRouter(prefix="/v1/review", tags=["review"])
STEWARDS = ("steward", "admin")


@router.get("/tasks", summary="Review tasks")
def tasks(
    act: ActorDep,
    ws: WorkspaceDep,
    status: str | None = Query("open", max_length=20),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    require_role(act, *STEWARDS)
    return {"tasks": ws.identity.review_list(status, limit)}


@router.get("/tasks/{task_id}", summary="One task with why its records did or did not link")
def task(task_id: int, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *STEWARDS)
    return ws.identity.review_show(task_id)


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(..., min_length=1, max_length=2000)


@router.post("/tasks/{task_id}/approve", summary="Approve: the records are one person")
def approve(task_id: int, body: Decision, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *STEWARDS)
    return ws.identity.review_approve(task_id, actor=act.name, reason=body.reason)


@router.post("/tasks/{task_id}/reject", summary="Reject: the records are different people")
def reject(task_id: int, body: Decision, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *STEWARDS)
    return ws.identity.review_reject(task_id, actor=act.name, reason=body.reason)


@router.post("/tasks/{task_id}/undo", summary="Undo an approved merge: the records are kept apart")
def undo(task_id: int, body: Decision, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *STEWARDS)
    return ws.identity.review_undo(task_id, actor=act.name, reason=body.reason)
