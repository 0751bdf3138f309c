"""The event collector: ``POST /v1/events`` (one event, an array, or ``{"events": [...]}``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from c360.api.auth import ActorDep, WorkspaceDep, require_role
from c360.api.limits import retry_after
from c360.errors import C360Error
from c360.stream import StreamService

router = APIRouter(prefix="/v1/events", tags=["stream"])


def _service(request: Request, ws: Any) -> StreamService:
    svc = getattr(request.app.state, "stream", None)
    if svc is None:
        svc = request.app.state.stream = StreamService(ws)
    return svc


@router.post(
    "",
    summary="Collect events (track, identify, consent)",
    status_code=202,
    responses={
        207: {"description": "Some events of the request were refused (see results)"},
        400: {"description": "Malformed JSON (quarantined)"},
        413: {"description": "Event or request too large (quarantined)"},
        422: {"description": "Invalid event (quarantined with its reason)"},
        429: {"description": "Intake buffer full: retry after Retry-After seconds"},
    },
)
async def collect(request: Request, act: ActorDep, ws: WorkspaceDep) -> JSONResponse:
    """Validate each event against its type's schema (events contracts for ``track``),
    apply consent facts to the ledger at once, and queue the events for the stream loop.
    A single event answers with its own status; a batch answers 202 when every event was
    accepted and 207 with per-event statuses otherwise. Refused events are quarantined."""
    roles = ws.config.stream.collector_roles
    require_role(act, *roles)
    body = await request.body()
    svc = _service(request, ws)
    try:
        outcome = await run_in_threadpool(svc.collect, body)
    except C360Error as exc:
        if exc.code != "stream.busy":
            raise
        wait = float(exc.details.get("retry_after_s", 1.0))
        return JSONResponse(
            {"code": exc.code, "message": exc.message, "details": exc.details},
            status_code=429,
            headers={"Retry-After": retry_after(wait)},
        )
    data = outcome.to_dict()
    results = outcome.results
    if len(results) == 1 and results[0]["status"] != 202:
        r = results[0]
        return JSONResponse(
            {"code": r["code"], "message": r["message"], "details": {"event_id": r["event_id"]}},
            status_code=int(r["status"]),
        )
    return JSONResponse(data, status_code=202 if outcome.rejected == 0 else 207)
