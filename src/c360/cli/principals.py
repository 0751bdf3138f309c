"""``c360 principals``: who may read governed data, in which role and for which purposes.

A principal is what ``dsr erase --principal``, governed reads and API tokens act as.
Every change is audited with the OS user who made it as the actor.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json
from c360.errors import C360Error

app = typer.Typer(help="Principals: create (or update), list, revoke.")


def _attributes(pairs: list[str]) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise C360Error("principals.bad_attribute", f"--attr takes KEY=VALUE, got {pair!r}")
        attrs[key.strip()] = value.strip()
    return attrs


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Principal name (a person or a service).")],
    role: Annotated[str, typer.Option(help="Role, e.g. privacy, steward, agent, marketing.")],
    purposes: Annotated[
        str, typer.Option(help="Comma-separated purposes, a subset of the role's.")
    ],
    attr: Annotated[
        list[str] | None, typer.Option("--attr", help="Attribute KEY=VALUE (row filters).")
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create a principal, or update its role, purposes and attributes."""
    ws = open_workspace(workspace)
    chosen = [p.strip() for p in purposes.split(",") if p.strip()]
    p = ws.governance.principals.create(
        name, role, chosen, _attributes(attr or []), actor=getpass.getuser()
    )
    if json:
        print_json({"name": p.name, "role": p.role, "purposes": list(p.purposes)})
    else:
        out.print(f"principal {p.name}: role {p.role}, purposes {', '.join(p.purposes)}")


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include revoked principals.")] = False,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """List principals (active ones unless --all)."""
    rows = open_workspace(workspace).governance.principals.list(include_revoked=all_)
    if json:
        print_json(rows)
        return
    for r in rows:
        state = "" if r["active"] else "  (revoked)"
        purposes = ", ".join(str(x) for x in r["purposes"])  # type: ignore[attr-defined]
        out.print(f"{r['name']}  {r['role']}  [{purposes}]{state}", markup=False)


@app.command()
def revoke(
    name: Annotated[str, typer.Argument(help="Principal to deactivate.")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Deactivate a principal and revoke its API tokens."""
    ws = open_workspace(workspace)
    tokens = ws.governance.principals.revoke(name, actor=getpass.getuser())
    if json:
        print_json({"revoked": name, "tokens_revoked": tokens})
    else:
        out.print(f"revoked {name} ({tokens} API token(s) revoked)")
