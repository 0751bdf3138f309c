"""``c360 consent``: record, inspect and check consent (thin over ``ws.consent``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json
from c360.consent.vocab import parse_time

app = typer.Typer(help="Consent ledger and the consent gate.", no_args_is_help=True)

GoldenOpt = Annotated[str, typer.Option("--golden-id", "-g", help="Golden record id.")]
PurposeOpt = Annotated[str, typer.Option("--purpose", "-p", help="Purpose, e.g. marketing.")]
ChannelOpt = Annotated[str, typer.Option("--channel", "-c", help="Channel, e.g. email.")]
AtOpt = Annotated[str | None, typer.Option("--at", help="ISO-8601 time (default: now).")]


@app.command("set")
def set_(
    golden_id: GoldenOpt,
    purpose: PurposeOpt,
    channel: ChannelOpt,
    status: Annotated[str, typer.Option("--status", "-s", help="granted|denied|revoked|expired")],
    evidence: Annotated[
        str | None, typer.Option("--evidence", help="Free-text capture evidence.")
    ] = None,
    effective_at: Annotated[
        str | None, typer.Option("--effective-at", help="ISO-8601 (default: now).")
    ] = None,
    expires_at: Annotated[str | None, typer.Option("--expires-at", help="ISO-8601.")] = None,
    method: Annotated[
        str, typer.Option("--method", help="Capture method (written, esign, …).")
    ] = "manual",
    allow_unknown: Annotated[
        bool,
        typer.Option(
            "--allow-unknown",
            help="Record it although no customer has this golden id yet; it binds when one does.",
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Append a consent fact for a golden record (an unknown golden id is refused)."""
    ws = open_workspace(workspace)
    eid = ws.consent.set(
        golden_id,
        purpose,
        channel,
        status,
        evidence=evidence,
        method=method,
        effective_at=parse_time(effective_at),
        expires_at=parse_time(expires_at),
        allow_unknown=allow_unknown,
    )
    if json:
        print_json({"event_id": eid})
    else:
        out.print(f"recorded {status} {purpose}/{channel} for {golden_id} (event {eid})")


@app.command()
def check(
    golden_id: GoldenOpt,
    purpose: PurposeOpt,
    channel: ChannelOpt,
    at: AtOpt = None,
    activation: Annotated[
        bool, typer.Option("--activation", help="Also apply contact policy.")
    ] = False,
    address: Annotated[
        str | None,
        typer.Option(
            "--address", help="Ask for this address only (an email for email, a phone for sms)."
        ),
    ] = None,
    known_at: Annotated[
        str | None,
        typer.Option("--known-at", help="Answer with what the ledger knew at this time."),
    ] = None,
    record: Annotated[
        bool, typer.Option("--record", help="Record the decision (decision log and audit log).")
    ] = False,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Ask the gate; exit code 0 = allowed, 3 = denied."""
    ws = open_workspace(workspace)
    d = ws.consent.check(
        golden_id,
        purpose,
        channel,
        parse_time(at),
        known_at=parse_time(known_at),
        activation=activation,
        address=address,
        record=record,
    )
    if json:
        print_json(d.to_dict())
    else:
        verdict = "[green]ALLOWED[/green]" if d.allowed else "[red]DENIED[/red]"
        if d.redirected_from:
            out.print(f"{golden_id} was merged into {d.golden_id}: answered for {d.golden_id}")
        to = f" to {d.address}" if d.address else ""
        out.print(
            f"{verdict} {purpose}/{channel}{to} for {d.golden_id} (policy {d.policy_version})"
        )
        for code in d.reasons:
            out.print(f"  {code}: {d.messages.get(code, '')}")
    if not d.allowed:
        raise typer.Exit(3)


@app.command()
def show(
    golden_id: GoldenOpt, at: AtOpt = None, workspace: WorkspaceOpt = None, json: JsonOpt = False
) -> None:
    """Every purpose × channel decision for a golden record."""
    ws = open_workspace(workspace)
    data = ws.consent.show(golden_id, parse_time(at))
    if json:
        print_json(data)
        return
    from rich.table import Table

    if data["redirected_from"]:
        out.print(f"{golden_id} was merged into {data['golden_id']}: answered for it")
    t = Table(title=f"consent of {data['golden_id']} (policy {data['policy_version']})")
    for col in ("purpose", "channel", "allowed", "reason"):
        t.add_column(col)
    for d in data["decisions"]:
        t.add_row(d["purpose"], d["channel"], "yes" if d["allowed"] else "no", d["reasons"][0])
    out.print(t)


@app.command()
def history(
    golden_id: GoldenOpt,
    known_at: Annotated[
        str | None, typer.Option("--known-at", help="As known at this time.")
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Every ledger event about a golden record (through all its identifiers)."""
    ws = open_workspace(workspace)
    events = [e.to_dict() for e in ws.consent.history(golden_id, known_at=parse_time(known_at))]
    to = ws.consent.survivor(golden_id)
    if to and to != golden_id and not json:
        out.print(f"{golden_id} was merged into {to}: the history of {to}")
    if json:
        print_json(events)
        return
    for e in events:
        out.print(
            f"{e['effective_at']} {e['id_type']}={e['id_value']} {e['purpose']}/{e['channel']} "
            f"{e['status']} via {e['method']} (recorded {e['recorded_at']}, {e['event_id']})"
        )


@app.command()
def decisions(
    golden_id: Annotated[
        str | None, typer.Option("--golden-id", "-g", help="Only this golden record.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Decided at or after (ISO-8601, UTC if no zone).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (≥ 1).", min=1)] = 50,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Recorded gate decisions, newest first (the decision log)."""
    ws = open_workspace(workspace)
    rows = ws.consent.decisions(golden_id=golden_id, since=parse_time(since), limit=limit)
    if json:
        print_json(rows)
        return
    for r in rows:
        verdict = "allowed" if r["allowed"] else "denied"
        who = r["golden_id"] or f"audience of {r['inputs'].get('audience_rows', '?')}"
        to = f" to {r['address']}" if r["address"] else ""
        out.print(
            f"{r['decided_at']} {r['kind']} {who} {r['purpose']}/{r['channel']}{to} {verdict} "
            f"{','.join(r['reasons'])} ({r['decision_id']})"
        )


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="CSV: id_type, identifier, purpose, channel, status, …")
    ],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Import consent events from a CSV file (all rows or none)."""
    ws = open_workspace(workspace)
    ids = ws.consent.import_events(file)
    if json:
        print_json({"imported": len(ids)})
    else:
        out.print(f"imported {len(ids)} consent event(s)")


@app.command("refresh-index")
def refresh_index(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Rebuild the subject index after an identity run."""
    ws = open_workspace(workspace)
    res = ws.consent.refresh_identity_index()
    print_json(res) if json else out.print(f"subject index: {res}")


@app.command()
def capture(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Capture consent facts from the mapped silver tables (idempotent)."""
    ws = open_workspace(workspace)
    res = [r.to_dict() for r in ws.consent.capture_from_sources()]
    if json:
        print_json(res)
        return
    for r in res:
        out.print(
            f"{r['name']} ({r['table']}): {r['status']} {r.get('reason') or ''} "
            f"rows={r['rows']} appended={r['appended']} invalid={r['invalid']}"
        )
