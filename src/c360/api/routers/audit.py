"""Audit: query the hash-chained log and verify it (Data Governance and Privacy)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from c360.api.auth import ActorDep, WorkspaceDep, require_role

router = APIRouter(prefix="/v1/audit", tags=["audit"])
READERS = ("governance", "privacy", "admin")


@router.get("", summary="Audit entries in chain order")
def query(
    act: ActorDep,
    ws: WorkspaceDep,
    action: str | None = Query(None, max_length=64, description="exact action or prefix*"),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    require_role(act, *READERS)
    entries = ws.audit.query(action=action, limit=limit)
    return {"entries": [e.to_dict() if hasattr(e, "to_dict") else e for e in entries]}


@router.get("/verify", summary="Verify the hash chain")
def verify(act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *READERS)
    return ws.audit.verify().to_dict()
