"""``c360 deploy databricks``: an Asset Bundle and Unity Catalog SQL for this workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(help="Generate deployment files for a platform (Databricks).")


@app.command("databricks")
def databricks(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the bundle into.")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Write databricks.yml (one job task per stage, cluster policy, schedule) and uc/*.sql
    (masks, row filters, grants, comments) for the tables this workspace has produced;
    both are validated offline before the command succeeds."""
    from c360.deploy.databricks import write

    ws = open_workspace(workspace)
    report = write(ws, out_dir)
    if json:
        print_json(report.to_dict())
        return
    out.print(
        f"wrote {len(report.files)} files to {out_dir} — jobs for stages "
        f"{', '.join(report.stages)}; Unity Catalog SQL for {report.tables} tables; validated"
    )
    out.print(f"next: cd {out_dir} && databricks bundle deploy -t dev")
