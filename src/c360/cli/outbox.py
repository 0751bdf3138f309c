"""``c360 outbox``: the state of the transactional outbox, dead letters and the zero-violation check."""

from __future__ import annotations

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(help="The activation outbox.", no_args_is_help=True)


@app.command("status")
def status(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Messages per channel and status, attempts per outcome, dead letters with reasons."""
    ws = open_workspace(workspace)
    s = ws.activation.status()
    if json:
        print_json(s)
        return
    for ch, by in sorted(s["by_channel"].items()):
        out.print(f"{ch:<16} " + "  ".join(f"{k} {v:,}" for k, v in sorted(by.items())))
    out.print("attempts: " + ", ".join(f"{k} {v:,}" for k, v in sorted(s["attempts"].items())))
    for d in s["dead_letters"]:
        out.print(
            f"  dead {d['message_id']} {d['channel']} after {d['attempts']}: {d['last_error']}"
        )
    for d in s["blocked"]:
        out.print(f"  blocked {d['message_id']} {d['channel']}: {d['last_error']}")
    out.print(f"deliveries without an allowing gate decision at send time: {s['violations']}")
