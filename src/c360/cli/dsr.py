"""``c360 dsr``: data-subject requests (export, erase) performed by a Privacy/Governance principal."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(help="Data-subject requests: export and erase a person's data.")

SubjectOpt = Annotated[
    str, typer.Option(help="email:..., phone:..., ssn:..., golden:... or source:<src>:<key>")
]
PrincipalOpt = Annotated[
    str, typer.Option("--principal", help="Acting principal (role privacy or governance)")
]


@app.command()
def export(
    subject: SubjectOpt,
    principal: PrincipalOpt,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the export here")] = None,
) -> None:
    """Export every record held about the subject."""
    ws = open_workspace(workspace)
    res = ws.governance.dsr.export(ws.governance.principals.get(principal), subject)
    if out_file:
        out_file.write_text(jsonlib.dumps(res.to_dict(), indent=2, default=str), encoding="utf-8")
    if json:
        print_json(res.to_dict())
    else:
        out.print(
            f"request {res.request_id}: " + ", ".join(f"{t}={n}" for t, n in res.tables.items())
        )


@app.command()
def erase(
    subject: SubjectOpt,
    principal: PrincipalOpt,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Erase the subject everywhere (except legal holds, which are listed) and leave a tombstone."""
    if not yes:
        typer.confirm(f"Erase all data of {subject}? This cannot be undone", abort=True)
    ws = open_workspace(workspace)
    res = ws.governance.dsr.erase(ws.governance.principals.get(principal), subject)
    if json:
        print_json(res.to_dict())
        return
    out.print(
        f"request {res.request_id}: erased " + ", ".join(f"{t}={n}" for t, n in res.tables.items())
    )
    for k in res.kept:
        out.print(
            f"[yellow]kept under legal hold[/yellow] {k['table']} ({k['rows']} rows): {k['reason']}"
        )
