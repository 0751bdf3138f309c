"""Who is calling, and for what purpose.

A request carries ``Authorization: Bearer c360_<id>_<secret>`` (tokens are issued by
``c360 tokens create``; the store keeps only their hash) and optionally
``X-C360-Purpose``; without it the principal's first purpose applies. A purpose
the principal may not act for is refused, never widened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from c360.errors import C360Error
from c360.governance.policy import Principal
from c360.workspace import Workspace


@dataclass(frozen=True)
class Actor:
    principal: Principal
    purpose: str

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def role(self) -> str:
        return self.principal.role


def workspace(request: Request) -> Workspace:
    ws: Workspace = request.app.state.workspace
    return ws


def actor(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_c360_purpose: Annotated[str | None, Header()] = None,
) -> Actor:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise C360Error("auth.required", "send Authorization: Bearer <token>", http_status=401)
    ws = workspace(request)
    principal = ws.governance.principals.authenticate(authorization.split(" ", 1)[1].strip())
    purpose = x_c360_purpose or principal.purposes[0]
    if purpose not in principal.purposes:
        raise C360Error(
            "auth.purpose_not_allowed",
            f"principal may not act for purpose {purpose!r}",
            {"purposes": list(principal.purposes)},
            http_status=403,
        )
    request.state.actor = Actor(principal, purpose)
    return request.state.actor


ActorDep = Annotated[Actor, Depends(actor)]
WorkspaceDep = Annotated[Workspace, Depends(workspace)]


def require_role(act: Actor, *roles: str) -> None:
    """Refuse a caller whose role is not one of ``roles`` (403, audited by the middleware)."""
    if act.role not in roles:
        raise C360Error(
            "auth.forbidden",
            f"role {act.role!r} may not do this",
            {"allowed_roles": list(roles)},
            http_status=403,
        )
