"""``c360 export``: hand data to other systems (the identity crosswalk)."""

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
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The current source key → golden_id crosswalk."""
    rows = open_workspace(workspace).identity.export_crosswalk(out_file)
    if json_:
        print_json({"rows": rows, "file": str(out_file)})
    else:
        out.print(f"wrote {rows} rows to {out_file}")
