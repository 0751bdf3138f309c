"""``c360 catalog``: tables, columns, classes and owners; ``c360 catalog uc-sql`` for Databricks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(
    help="The classification catalogue and the Unity Catalog SQL generated from it.",
    invoke_without_command=True,
)


@app.callback()
def catalog(
    ctx: typer.Context,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
    table: Annotated[str | None, typer.Option(help="Only this zone.table")] = None,
) -> None:
    """Show every table's columns with their class, origin and owner."""
    if ctx.invoked_subcommand is not None:
        return
    ws = open_workspace(workspace)
    entries = ws.governance.catalogue([table] if table else None).entries()
    if json:
        print_json([e.to_dict() for e in entries])
        return
    grid = Table("table", "column", "class", "origin", "owner", "findings")
    for e in entries:
        for c in e.columns.values():
            grid.add_row(
                e.table + ("" if e.exists else " (declared)"),
                c.column,
                c.pii_class,
                c.origin,
                c.owner,
                ",".join(c.findings),
            )
    out.print(grid)


@app.command("uc-sql")
def uc_sql(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the .sql files to")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Write Databricks Unity Catalog SQL (mask functions, column masks, row filters, grants)."""
    ws = open_workspace(workspace)
    files = ws.governance.uc_sql()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
    if json:
        print_json({"out": str(out_dir), "files": sorted(files)})
    else:
        out.print(f"wrote {len(files)} files to {out_dir}")
