"""Demo access: one principal and token per role, and the console address to open.

``c360 demo`` ends by printing these so a person can sign in to the console as each
role. Tokens expire (default 7 days); re-running the demo rebuilds the workspace and
issues new ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c360.workspace import Workspace

DEMO_ROLES = ("agent", "steward", "privacy", "marketing", "governance", "data_scientist")


def console_url(ws: Workspace) -> str:
    cfg = ws.config.api
    return f"http://{cfg.host}:{cfg.port}/"


def demo_access(ws: Workspace, *, days: int = 7) -> dict[str, Any]:
    """Create ``demo-<role>`` principals with all their role's purposes; one token each."""
    roles = ws.governance.settings.roles
    until = datetime.now(UTC) + timedelta(days=days)
    tokens: dict[str, str] = {}
    for role in DEMO_ROLES:
        if role not in roles:
            continue
        name = f"demo-{role}"
        ws.governance.principals.create(name, role, list(roles[role].purposes), actor="demo")
        tokens[role] = ws.governance.principals.issue_token(name, actor="demo", expires_at=until)
    return {"url": console_url(ws), "tokens": tokens, "expires_at": until.isoformat()}
