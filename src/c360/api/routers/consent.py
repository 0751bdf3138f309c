"""Consent: the gate's answer for a customer, the full grid, history, and recording facts."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from c360.api.auth import Actor, ActorDep, WorkspaceDep, require_role
from c360.api.routers.profiles import current_profile
from c360.governance.policy import rule_for
from c360.workspace import Workspace

router = APIRouter(prefix="/v1/consent", tags=["consent"])
_EMAIL = re.compile(r"[^\s@]+@([^\s@]+)")
_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")


def _masked(text: str) -> str:
    text = _EMAIL.sub(lambda m: f"***@{m.group(1)}", text)
    return _PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group(0))[-4:], text)


def for_caller(ws: Workspace, act: Actor, decision: dict[str, Any]) -> dict[str, Any]:
    """The gate's messages name the address a fact attaches to ("revoked on email …"):
    a caller whose role does not read contact data in clear sees it masked."""
    role = ws.governance.settings.roles[act.role]
    if rule_for(role, act.purpose, "email", "pii") == "clear":
        return decision
    msgs = {k: _masked(str(v)) for k, v in (decision.get("messages") or {}).items()}
    return {**decision, "messages": msgs}


WRITERS = ("privacy", "admin")
HISTORY_READERS = ("privacy", "governance", "admin")


@router.get("/{golden_id}", summary="Every purpose × channel decision for one customer")
def show(
    golden_id: str, act: ActorDep, ws: WorkspaceDep, at: datetime | None = None
) -> dict[str, Any]:
    current_profile(ws, act, golden_id)
    shown = ws.consent.show(golden_id, at)
    return {**shown, "decisions": [for_caller(ws, act, d) for d in shown["decisions"]]}


@router.get("/{golden_id}/check", summary="May we use this customer's data for this purpose?")
def check(
    golden_id: str,
    act: ActorDep,
    ws: WorkspaceDep,
    purpose: str = Query(..., max_length=64),
    channel: str = Query(..., max_length=64),
    at: datetime | None = None,
    address: str | None = Query(
        None, max_length=320, description="Ask for this address only (email or phone)."
    ),
) -> dict[str, Any]:
    current_profile(ws, act, golden_id)
    d = ws.consent.check(
        golden_id, purpose, channel, at, record=True, address=address, actor=act.name
    )
    return for_caller(ws, act, d.to_dict())


@router.get("/{golden_id}/history", summary="The consent ledger of one customer")
def history(golden_id: str, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *HISTORY_READERS)
    _, to = current_profile(ws, act, golden_id)
    events = ws.consent.history(to)
    redirect = {"redirected_from": golden_id} if to != golden_id else {}
    return {"golden_id": to, **redirect, "events": [e.to_dict() for e in events]}


class ConsentFact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    golden_id: str = Field(..., max_length=64)
    purpose: str = Field(..., max_length=64)
    channel: str = Field(..., max_length=64)
    status: Literal["granted", "revoked", "denied"]
    evidence: str | None = Field(None, max_length=2000)
    effective_at: datetime | None = None
    expires_at: datetime | None = None


@router.post("", status_code=201, summary="Record a consent fact (Privacy role)")
def record(fact: ConsentFact, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *WRITERS)
    _, to = current_profile(ws, act, fact.golden_id)  # an absorbed id: its survivor's fact
    event_id = ws.consent.set(
        to,
        fact.purpose,
        fact.channel,
        fact.status,
        evidence=fact.evidence,
        effective_at=fact.effective_at,
        expires_at=fact.expires_at,
        actor=act.name,
        method="api",
    )
    redirect = {"redirected_from": fact.golden_id} if to != fact.golden_id else {}
    return {"event_id": event_id, "golden_id": to, **redirect}
