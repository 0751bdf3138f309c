"""``c360 activate``: drain the outbox to the channels (thin over ``ws.activation``)."""

from __future__ import annotations

from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json


def command(
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait for retries that are not due yet.")
    ] = True,
    max_seconds: Annotated[
        float, typer.Option("--max-seconds", help="Stop draining after this long.")
    ] = 300.0,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Send every due outbox message; the consent gate is checked again right before each send."""
    from rich.progress import Progress

    ws = open_workspace(workspace)
    with Progress(transient=True, disable=json) as bar:
        task = bar.add_task("activating", total=None)
        rep = ws.activation.drain(
            wait=wait,
            max_seconds=max_seconds,
            progress=lambda d, n: bar.update(task, completed=d, total=n),
        )
    r = rep.to_dict()
    if json:
        print_json(r)
        return
    out.print(
        f"delivered {r['delivered']:,}, blocked by the gate {r['blocked']:,}, deferred {r['deferred']:,}, "
        f"retried {r['retried']:,}, dead letters {r['dead']:,} in {r['seconds']:.1f}s"
    )
    for err, n in sorted(r["errors"].items(), key=lambda kv: -kv[1]):
        out.print(f"  {n:>6,}  {err}")
