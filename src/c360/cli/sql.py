"""``c360 sql``: one governed, read-only query over the lakehouse's silver and gold views."""

from __future__ import annotations

import csv
import getpass
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json


def principal_for(ws: Any, role: str | None, name: str | None) -> Any:
    """A registered principal (``--principal``: its role, purposes and row-filter
    attributes), or the person at the terminal acting in ``--role``."""
    from c360.governance import Principal

    if name:
        p = ws.governance.principals.get(name)
        if role and role != p.role:
            raise typer.BadParameter(f"principal {name!r} has role {p.role!r}, not {role!r}")
        return p
    if not role:
        raise typer.BadParameter("say who reads: --role ROLE (or --principal NAME)")
    return Principal(getpass.getuser(), role)


def sql(
    query: Annotated[
        str,
        typer.Argument(
            help="One read-only query over views named <zone>__<table> "
            "(e.g. gold__golden_customers, gold__features_tenure)."
        ),
    ],
    role: Annotated[
        str | None, typer.Option("--role", help="Read as this role (masking and row filters).")
    ] = None,
    purpose: Annotated[
        str, typer.Option("--purpose", help="The purpose declared for the read (required).")
    ] = "",
    principal: Annotated[
        str | None,
        typer.Option("--principal", help="Read as this registered principal (`c360 principals`)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="Print at most this many rows.", min=1)] = 1000,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV on stdout.")] = False,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Run one governed query: every view is read masked for the role and purpose, row-filtered,
    consent-withheld for a consent purpose and audited, before the query sees it.

    Example: c360 sql "SELECT life_stage, count(*) n FROM gold__golden_customers GROUP BY 1"
    --role marketing --purpose analytics
    """
    from c360.governance.query import query as run

    ws = open_workspace(workspace)
    who = principal_for(ws, role, principal)
    table = run(ws, who, query, purpose, limit=limit)
    rows = table.to_pylist()
    if json:
        print_json(rows)
    elif as_csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(table.column_names)
        w.writerows([r[c] for c in table.column_names] for r in rows)
    else:
        grid = Table(*table.column_names)
        for r in rows:
            grid.add_row(*("" if v is None else str(v) for v in r.values()))
        out.print(grid)
        out.print(f"{len(rows)} row(s)")


command = sql
