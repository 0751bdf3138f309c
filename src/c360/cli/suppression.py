"""``c360 suppression``: import and list suppression lists (thin over ``ws.consent``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json
from c360.consent.vocab import parse_time

app = typer.Typer(
    help="Suppression lists (do-not-call, unsubscribes, deceased, holds …).", no_args_is_help=True
)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV with an identifier column (clear or sha256).")],
    list_name: Annotated[
        str, typer.Option("--list", "-l", help="Suppression list, e.g. dnc_national.")
    ],
    id_type: Annotated[
        str | None, typer.Option("--id-type", help="email|phone|source_key|golden_id")
    ] = None,
    hashed: Annotated[
        bool, typer.Option("--hashed", help="Identifiers are sha256 hex digests.")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Reason recorded with each entry.")
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Import a file into a list; any bad row rejects the whole file (with every row's reason)."""
    ws = open_workspace(workspace)
    rep = ws.consent.import_suppressions(
        file, list_name, id_type=id_type, hashed=hashed, reason=reason
    )
    if json:
        print_json(rep.to_dict())
    else:
        out.print(
            f"{rep.list_name}: {rep.rows} row(s), {rep.matched} matched, {rep.unmatched} unmatched, "
            f"{rep.inserted} new entries"
        )


@app.command("add")
def add(
    list_name: Annotated[
        str, typer.Option("--list", "-l", help="Suppression list, e.g. dnc_national.")
    ],
    id_type: Annotated[str, typer.Option("--id-type", help="email|phone|source_key|golden_id")],
    value: Annotated[
        str, typer.Option("--value", help="The identifier (clear, or sha256 with --hashed).")
    ],
    remove: Annotated[
        bool, typer.Option("--remove", help="Take the identifier off the list instead.")
    ] = False,
    hashed: Annotated[
        bool, typer.Option("--hashed", help="The value is a sha256 hex digest.")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (kept with the entry).")
    ] = None,
    effective_at: Annotated[
        str | None, typer.Option("--effective-at", help="ISO-8601 (default: now).")
    ] = None,
    expires_at: Annotated[str | None, typer.Option("--expires-at", help="ISO-8601.")] = None,
    allow_unknown: Annotated[
        bool,
        typer.Option(
            "--allow-unknown",
            help="Add it although no customer holds this identifier yet; it binds when one does.",
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add one identifier to a list (or --remove it); an identifier no customer holds is refused."""
    ws = open_workspace(workspace)
    entry = ws.consent.suppress(
        list_name,
        id_type,
        value,
        action="remove" if remove else "add",
        reason=reason,
        effective_at=parse_time(effective_at),
        expires_at=parse_time(expires_at),
        hashed=hashed,
        allow_unknown=allow_unknown,
    )
    if json:
        print_json({"entry_id": entry})
    else:
        out.print(f"{'removed from' if remove else 'added to'} {list_name} (entry {entry})")


@app.command("list")
def list_(
    list_name: Annotated[
        str | None, typer.Option("--list", "-l", help="Show entries of one list.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Entries to show (≥ 1).", min=1)] = 50,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Summary of every list, or the latest entries of one (masked)."""
    ws = open_workspace(workspace)
    data = (
        ws.consent.suppressions.entries(list_name, limit)
        if list_name
        else ws.consent.suppressions.summary()
    )
    if json:
        print_json(data)
        return
    for row in data:
        out.print("  ".join(f"{k}={v}" for k, v in row.items() if k != "id_hash"))
