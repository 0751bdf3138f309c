"""Console: recommended next steps on the agent desktop, accept/decline, and the HITL queue.

The same role and object checks as the API (:mod:`c360.api.routers.decisions`): a
decision or task is shown only when its customer is visible to the signed-in principal.
Every form posts the session's CSRF token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from c360.api.routers.decisions import (
    DECIDERS,
    HITL,
    READERS,
    visible_decision,
    visible_ids,
    visible_task,
)
from c360.api.routers.profiles import require_visible
from c360.console.pages import Page, PageDep, _check_csrf, _require, render

router = APIRouter(include_in_schema=False)


def next_steps(p: Page, golden_id: str) -> dict[str, Any]:
    """What the customer page shows about decisions: the latest one in full, and the log."""
    if p.actor.role not in READERS:
        return {"can_decide": False, "can_read": False, "latest": None, "log": []}
    log = p.ws.decisioning.log.show(golden_id=golden_id, limit=10)
    for r in log:
        r["outcome"] = p.ws.decisioning.ondemand.outcome(r["decision_id"])
    latest = p.ws.decisioning.log.get(log[0]["decision_id"]) if log else None
    return {
        "can_decide": p.actor.role in DECIDERS,
        "can_read": True,
        "latest": latest,
        "log": log,
    }


@router.post("/agent/customer/{golden_id}/recommend")
def recommend(
    request: Request, golden_id: str, p: PageDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    _require(p, *DECIDERS)
    _check_csrf(request, p, csrf)
    require_visible(p.ws, p.actor, golden_id)
    p.ws.decisioning.ondemand.recommend(golden_id, "agent_desktop", actor=p.actor.name)
    return RedirectResponse(f"/agent/customer/{golden_id}#next-steps", status_code=303)


@router.post("/agent/decision/{decision_id}/outcome")
def outcome(
    request: Request,
    decision_id: str,
    p: PageDep,
    outcome: Annotated[str, Form(pattern="^(accepted|declined)$")],
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    _require(p, *DECIDERS)
    _check_csrf(request, p, csrf)
    d = visible_decision(p.ws, p.actor, decision_id)
    p.ws.decisioning.ondemand.record_outcome(
        decision_id, outcome, actor=p.actor.name, source="console", note=note or None
    )
    return RedirectResponse(f"/agent/customer/{d['golden_id']}#decision-log", status_code=303)


# ---------------------------------------------------------------------- HITL queue
@router.get("/hitl", response_class=HTMLResponse)
def hitl(p: PageDep, status: str = "open") -> HTMLResponse:
    _require(p, *HITL)
    status = status if status in ("open", "approved", "rejected", "all") else "open"
    tasks = p.ws.decisioning.hitl.list(None if status == "all" else status, 200)
    seen = visible_ids(p.ws, p.actor) if tasks else set()
    return render("hitl.html", p, tasks=[t for t in tasks if t["golden_id"] in seen], show=status)


@router.get("/hitl/{task_id}", response_class=HTMLResponse)
def hitl_task(task_id: str, p: PageDep) -> HTMLResponse:
    _require(p, *HITL)
    return render("hitl_task.html", p, task=visible_task(p.ws, p.actor, task_id))


@router.post("/hitl/{task_id}")
def hitl_decide(
    request: Request,
    task_id: str,
    p: PageDep,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    _require(p, *HITL)
    _check_csrf(request, p, csrf)
    visible_task(p.ws, p.actor, task_id)
    h = p.ws.decisioning.hitl
    (h.approve if decision == "approve" else h.reject)(
        task_id, actor=p.actor.name, note=note or None
    )
    return RedirectResponse("/hitl", status_code=303)
