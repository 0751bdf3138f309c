"""``c360 audit``: verify the hash chain, query entries, sign a checkpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json
from c360.errors import C360Error

app = typer.Typer(help="The hash-chained audit log.")


@app.command()
def verify(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Check every entry, link, checkpoint and the signed head; exit 1 on any problem."""
    report = open_workspace(workspace).audit.verify()
    if json:
        print_json(report.to_dict())
    elif report.ok:
        out.print(f"audit log OK: {report.entries} entries, {report.checkpoints} checkpoints")
    else:
        for p in report.problems:
            out.print(f"[red]entry {p.seq}[/red] {p.kind}: {p.message}")
    if not report.ok:
        raise typer.Exit(1)


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as exc:
        raise C360Error(
            "audit.bad_since", f"--since must be an ISO date or time, got {value!r}"
        ) from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@app.command()
def query(
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
    actor: Annotated[str | None, typer.Option(help="Only this actor")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action (* wildcard)")] = None,
    target: Annotated[str | None, typer.Option(help="Only this target")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date/time (UTC if no zone)")] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries (≥ 1).", min=1)] = 1000,
) -> None:
    """Filter the audit log."""
    entries = open_workspace(workspace).audit.query(
        actor=actor, action=action, target=target, since=_since(since), limit=limit
    )
    if json:
        print_json([e.to_dict() for e in entries])
        return
    grid = Table("seq", "time", "actor", "action", "target", "details")
    for e in entries:
        grid.add_row(str(e.seq), e.ts, e.actor, e.action, e.target, str(e.details)[:80])
    out.print(grid)


@app.command()
def checkpoint(workspace: WorkspaceOpt = None) -> None:
    """Sign a checkpoint at the current head now."""
    out.print(f"checkpoint at entry {open_workspace(workspace).audit.checkpoint()}")
