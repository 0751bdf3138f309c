"""``c360 tokens``: API tokens for principals (shown once; the store keeps a hash)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

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
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Issue a token. It is printed once and cannot be shown again."""
    ws = open_workspace(workspace)
    actor = getpass.getuser()
    principals = ws.governance.principals
    if role is not None:
        chosen = [p.strip() for p in (purposes or "").split(",") if p.strip()]
        principals.create(principal, role, chosen, actor=actor)
    token = principals.issue_token(principal, actor=actor)
    token_id = token.split("_")[1]
    if json:
        print_json({"principal": principal, "token_id": token_id, "token": token})
        return
    out.print(f"token for {principal} (id {token_id}) — store it now, it is not shown again:")
    out.print(token, highlight=False)


@app.command()
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token id (second part of the token).")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Revoke a token; requests with it get 401 from then on."""
    ws = open_workspace(workspace)
    ws.governance.principals.revoke_token(token_id, actor=getpass.getuser())
    if json:
        print_json({"revoked": token_id})
    else:
        out.print(f"revoked {token_id}")
