"""``c360 replay``: send the synthetic world's events at a chosen rate (with truth)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json


def replay(
    events: Annotated[int, typer.Option("--events", "-n", help="Unique events to send.")] = 10_000,
    rate: Annotated[float, typer.Option("--rate", help="Events per second.")] = 1000.0,
    to: Annotated[str, typer.Option("--to", help="inbox, http or nats.")] = "inbox",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the stream.")] = 7,
    name: Annotated[
        str, typer.Option("--name", help="Event id prefix and truth file name.")
    ] = "replay",
    start: Annotated[
        datetime | None,
        typer.Option(
            "--start",
            formats=["%Y-%m-%dT%H:%M:%S"],
            help="Event time of the first event, UTC (the events span the hour after it); "
            "default two hours ago. A fixed start puts the events in the same trigger "
            "windows on every run.",
        ),
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="Collector base URL (http).")] = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar="C360_TOKEN", help="Collector token (http).")
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Replay logins, SMS keywords, consent changes and identify events of the synthetic
    world; the truth (unique events, checksum, consent changes) goes to truth/stream/."""
    from c360.stream.replay import replay as run

    ws = open_workspace(workspace)
    r = run(
        ws,
        events=events,
        rate=rate,
        target=to,
        seed=seed,
        name=name,
        url=url,
        token=token,
        start=None if start is None else start.replace(tzinfo=UTC),
    )
    if json:
        print_json(r.to_dict())
        return
    out.print(
        f"sent {r.sent} events ({r.events} unique) in {r.seconds} s = {r.rate}/s; "
        f"refused {r.refused}; busy retries {r.busy_retries}; truth {r.truth}",
        highlight=False,
    )


command = replay
