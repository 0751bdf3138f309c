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


@app.command("bi-file")
def bi_file(
    role: Annotated[
        str | None, typer.Option("--role", help="Build for this role (masking, row filters).")
    ] = None,
    purpose: Annotated[str, typer.Option("--purpose", help="The purpose of the reads.")] = "",
    principal: Annotated[
        str | None, typer.Option("--principal", help="Build for this registered principal.")
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="DuckDB file to write (default bi/<role>-<purpose>.duckdb)."),
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Write a DuckDB file of every silver/gold view as the role reads it, for BI tools and
    notebooks to open read-only (duckdb.connect(path, read_only=True)) without c360."""
    from c360.cli.main import show_progress
    from c360.cli.progress import progress_bar
    from c360.cli.sql import principal_for
    from c360.governance.query import bi_file as build

    ws = open_workspace(workspace)
    who = principal_for(ws, role, principal)
    path = out_file or ws.root / "bi" / f"{who.role}-{purpose or 'none'}.duckdb"
    with progress_bar(show_progress(json)) as cb:
        res = build(ws, who, purpose, path, progress=cb)
    if json:
        print_json(res)
    else:
        out.print(f"wrote {path}: {len(res['tables'])} tables for {who.role}/{purpose}")
