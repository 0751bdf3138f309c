"""``c360 stream``: the micro-batch loop over collected events, and its status."""

from __future__ import annotations

from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(
    help="Streaming: apply collected events in micro-batches (`c360 stream`), `status`.",
    invoke_without_command=True,
)


@app.callback(invoke_without_command=True)
def stream(
    ctx: typer.Context,
    interval: Annotated[
        float | None, typer.Option("--interval", help="Seconds between idle turns.")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Most events per micro-batch.")
    ] = None,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Stop once nothing is left to apply.")
    ] = False,
    max_seconds: Annotated[
        float | None, typer.Option("--max-seconds", help="Stop after this long.")
    ] = None,
    nats: Annotated[
        bool, typer.Option("--nats/--no-nats", help="Consume stream.nats (when configured).")
    ] = True,
    landing_every: Annotated[
        float | None,
        typer.Option("--landing-every", help="Also load new landing files every S seconds."),
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Apply events in micro-batches until SIGTERM/SIGINT (or --until-idle / --max-seconds).

    Each batch line shows events taken, applied, duplicates, quarantined, the lag
    (accepted events still waiting) and accept → applied latency p50/p99."""
    if ctx.invoked_subcommand is not None:
        return
    from c360.stream import StreamService
    from c360.stream.apply import BatchReport

    ws = open_workspace(workspace)
    svc = StreamService(ws)

    def show(b: BatchReport) -> None:
        if json:
            return
        out.print(
            f"{b.batch_id}  events {b.events:>6}  applied {b.applied:>6}  dup {b.duplicates:>4}  "
            f"quarantined {b.quarantined:>3}  lag {b.lag_events:>7}  "
            f"p50 {b.latency_p50_ms or 0:>7.0f} ms  p99 {b.latency_p99_ms or 0:>7.0f} ms  "
            + (
                f"decisions {b.decisions:>4} (p50 {b.decision_p50_ms or 0:.0f} ms, "
                f"p99 {b.decision_p99_ms or 0:.0f} ms)  "
                if b.decisions
                else ""
            )
            + f"({b.seconds:.2f} s)",
            highlight=False,
        )

    report = svc.run(
        interval=interval,
        batch_size=batch_size,
        nats=ws.config.stream.nats if nats else None,
        until_idle=until_idle,
        max_seconds=max_seconds,
        on_batch=show,
        landing_poll=landing_every,
    )
    if json:
        print_json(report.to_dict())
        return
    out.print(
        f"stopped ({report.stopped_by}): {report.batches} batches, {report.applied} applied, "
        f"{report.duplicates} duplicates, {report.quarantined} quarantined"
        + (f", {report.landing_batches} landing file(s) loaded" if report.landing_batches else "")
        + (f", recovered {len(report.recovered)} pending batch(es)" if report.recovered else ""),
        highlight=False,
    )


@app.command("status")
def status_(
    window: Annotated[
        float, typer.Option("--window", help="Seconds of history for the percentiles.")
    ] = 3600.0,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Lag, freshness (accept → applied p50/p99), event → decision p50/p99 and totals."""
    from c360.stream import StreamService

    s = StreamService(open_workspace(workspace)).status(window)
    if json:
        print_json(s)
        return
    fmt = lambda v: "-" if v is None else f"{v:.0f} ms"  # noqa: E731
    out.print(
        f"lag            {s['lag_events']} events (oldest waiting {s['oldest_waiting_s']} s)\n"
        f"freshness      p50 {fmt(s['freshness_p50_ms'])}  p99 {fmt(s['freshness_p99_ms'])}  "
        f"over {s['freshness_events']} events in the last {s['freshness_window_s']:.0f} s\n"
        f"applied        {s['applied']} in {s['batches']} batches "
        f"({s['batches_pending_lake']} pending lake commit)\n"
        f"duplicates     {s['duplicates']}\nquarantined    {s['quarantined']}\n"
        f"identifiers    {s['identifiers']}\n"
        f"decisions      p50 {fmt(s['decision_p50_ms'])}  p99 {fmt(s['decision_p99_ms'])}  "
        f"over {s['decision_events']} firings decided in the window; firings {s['firings']}",
        highlight=False,
    )


@app.command("reconcile")
def reconcile_(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Compare the stream's identity decisions with one batch pass over the events zone."""
    from c360.stream import StreamService

    r = StreamService(open_workspace(workspace)).reconcile()
    if json:
        print_json(r.to_dict())
        return
    out.print(
        f"{'equal' if r.equal else 'DIFFERENT'}: {r.events} events; golden id differs for "
        f"{r.golden_mismatches}; identifier decisions only in the stream "
        f"{r.identifiers_only_stream}, only in the batch pass {r.identifiers_only_batch}; "
        f"crosswalk rows only in the stream {r.crosswalk_only_stream}, only in the batch pass "
        f"{r.crosswalk_only_batch}\nstream {r.outcomes_stream}  batch {r.outcomes_batch}"
        + (f"\nevents to look at: {', '.join(r.sample_event_ids)}" if r.sample_event_ids else ""),
        highlight=False,
    )
    if not r.equal:
        raise typer.Exit(1)
