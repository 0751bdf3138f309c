"""``c360 retention``: apply the retention rules of the governance policy."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(help="Retention: delete rows past their retention period.")


@app.command()
def apply(
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count")] = False,
    as_of: Annotated[str | None, typer.Option(help="ISO date/time to measure ages from")] = None,
) -> None:
    """Delete expired rows (tables under legal hold are kept and listed)."""
    when = datetime.fromisoformat(as_of) if as_of else None
    if when and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    report = open_workspace(workspace).governance.retention.apply(
        as_of=when, dry_run=dry_run, actor=getpass.getuser()
    )
    if json:
        print_json(report.to_dict())
        return
    for t, n in report.deleted.items():
        out.print(f"{'would delete' if dry_run else 'deleted'} {n} rows from {t}")
    for k in report.kept:
        out.print(f"kept under legal hold {k['table']} ({k['rows']} rows): {k['reason']}")
