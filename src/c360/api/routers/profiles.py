"""Profiles: the golden record of one customer, masked for the caller's role and purpose."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from c360.api.auth import Actor, ActorDep, WorkspaceDep
from c360.errors import C360Error, NotFoundError
from c360.workspace import Workspace

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])


def visible_profile(
    ws: Workspace, act: Actor, golden_id: str, columns: list[str] | None = None
) -> dict[str, Any]:
    """The caller's view of one golden record, through the governed read path.

    A record the caller's row filters hide is answered exactly like one that does not
    exist (404), so ids cannot be probed. The record comes from the serving projection
    (the golden records kept in the operational store by ``c360 run``), governed exactly
    like the lakehouse table; a workspace without a projection reads the lakehouse.
    ``columns`` reads only those (all by default).
    """
    where = {"golden_id": golden_id}
    served = ws.identity.projection.records([golden_id])
    if served is None:
        table = ws.governance.read(
            act.principal, "gold", "golden_customers", act.purpose, columns, where=where
        )
    else:
        table = ws.governance.read(
            act.principal,
            "gold",
            "golden_customers",
            act.purpose,
            columns,
            where=where,
            rows=served.rows,
            version=served.version,
        )
    rows = table.to_pylist()
    if not rows:
        raise NotFoundError("profile.not_found", f"no profile {golden_id} visible to the caller")
    return rows[0]


def require_visible(ws: Workspace, act: Actor, golden_id: str) -> None:
    """The object check of an endpoint about one customer: the customer's record must be
    visible to the caller (the governed read of its id alone, audited; 404 otherwise)."""
    visible_profile(ws, act, golden_id, ["golden_id"])


def current_profile(ws: Workspace, act: Actor, golden_id: str) -> tuple[dict[str, Any], str]:
    """``(profile, id)``: the record ``golden_id`` names, or, for an id a merge absorbed,
    its survivor's (the crosswalk is read only when the id itself is not found)."""
    try:
        return visible_profile(ws, act, golden_id), golden_id
    except NotFoundError:
        to = ws.identity.resolve(golden_id)
        if to is None or to == golden_id:
            raise
        return visible_profile(ws, act, to), to


@router.get("/{golden_id}", summary="One golden record, masked for the caller")
def get_profile(golden_id: str, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    """An id absorbed by a merge answers with its survivor's record and ``redirected_from``."""
    profile, to = current_profile(ws, act, golden_id)
    return {**profile, "redirected_from": golden_id} if to != golden_id else profile


@router.get("", summary="Find golden records by email, phone or source key")
def find_profiles(
    act: ActorDep,
    ws: WorkspaceDep,
    email: str | None = Query(None, max_length=320),
    phone: str | None = Query(None, max_length=40),
    source_key: str | None = Query(None, max_length=200, description="<source>:<key>"),
) -> dict[str, Any]:
    if sum(x is not None for x in (email, phone, source_key)) != 1:
        raise C360Error(
            "api.invalid_request",
            "give exactly one of email, phone or source_key",
            http_status=422,
        )
    if source_key is not None:
        src, _, key = source_key.partition(":")
        if not src or not key:
            raise C360Error("api.invalid_request", "source_key is <source>:<key>", http_status=422)
    ids = ws.identity.lookup(email=email, phone=phone, source_key=source_key)
    matches = []
    for gid in ids:
        try:
            matches.append(visible_profile(ws, act, gid))
        except NotFoundError:
            continue
    return {"matches": matches}
