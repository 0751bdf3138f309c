"""``c360 tokens``: API tokens for principals (shown once; the store keeps a hash)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json
from c360.errors import C360Error

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """``30m`` / ``8h`` / ``90d`` from now, or an ISO-8601 time (naive = UTC), in the future."""
    now = now or datetime.now(UTC)
    t = text.strip()
    if len(t) > 1 and t[:-1].isdigit() and t[-1] in _UNITS:
        at = now + timedelta(seconds=int(t[:-1]) * _UNITS[t[-1]])
    else:
        try:
            at = datetime.fromisoformat(t)
        except ValueError:
            raise C360Error(
                "tokens.bad_expiry", f"--expires {text!r}: give 30m, 8h, 90d or an ISO-8601 time"
            ) from None
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
    if at <= now:
        raise C360Error("tokens.bad_expiry", f"--expires {text!r} is not in the future")
    return at


app = typer.Typer(help="API tokens: create (for a principal, optionally creating it), revoke.")


@app.command()
def create(
    principal: Annotated[str, typer.Option("--principal", help="Principal the token acts as.")],
    role: Annotated[
        str | None,
        typer.Option(help="Create or update the principal with this role first (e.g. agent)."),
    ] = None,
    purposes: Annotated[
        str | None, typer.Option(help="Comma-separated purposes for --role, e.g. service.")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            help="Lifetime (e.g. 30m, 8h, 90d) or an ISO-8601 UTC time; default: no expiry.",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Issue a token. It is printed once and cannot be shown again."""
    expires_at = parse_expiry(expires) if expires else None
    ws = open_workspace(workspace)
    actor = getpass.getuser()
    principals = ws.governance.principals
    if role is not None:
        chosen = [p.strip() for p in (purposes or "").split(",") if p.strip()]
        principals.create(principal, role, chosen, actor=actor)
    token = principals.issue_token(principal, actor=actor, expires_at=expires_at)
    token_id = token.split("_")[1]
    until = expires_at.isoformat() if expires_at else None
    if json:
        print_json(
            {"principal": principal, "token_id": token_id, "token": token, "expires_at": until}
        )
        return
    valid = f", valid until {until}" if until else ""
    out.print(
        f"token for {principal} (id {token_id}{valid}) — store it now, it is not shown again:"
    )
    out.print(token, highlight=False)


@app.command()
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token id (second part of the token).")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Revoke a token; requests with it get 401 and console sessions opened with it end."""
    ws = open_workspace(workspace)
    ws.governance.principals.revoke_token(token_id, actor=getpass.getuser())
    if json:
        print_json({"revoked": token_id})
    else:
        out.print(f"revoked {token_id}")
