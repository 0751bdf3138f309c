"""``c360 export``: hand data to other systems (the identity crosswalk), for a principal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(help="Export data products.", no_args_is_help=True)


@app.command("crosswalk")
def crosswalk(
    out_file: Annotated[
        Path,
        typer.Option("--out", help="Target file: .csv or .parquet (other suffixes are refused)."),
    ],
    principal: Annotated[
        str | None, typer.Option("--principal", help="Who exports (a principal name).")
    ] = None,
    purpose: Annotated[
        str, typer.Option("--purpose", help="Why (one of the role's purposes).")
    ] = "operations",
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The current source key → golden_id crosswalk, read through the governed path."""
    ws = open_workspace(workspace)
    who = ws.governance.principals.get(principal) if principal else None
    rows = ws.identity.export_crosswalk(out_file, principal=who, purpose=purpose)
    if json_:
        print_json({"rows": rows, "file": str(out_file)})
    else:
        out.print(f"wrote {rows} rows to {out_file}")
