"""Core commands: init, synth, ingest, run, tables, runs, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c360.cli.main import (
    JsonOpt,
    NoWaitOpt,
    WorkspaceOpt,
    app,
    console,
    open_workspace,
    out,
    print_json,
    show_progress,
    workspace_root,
)
from c360.cli.progress import progress_bar


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")] = Path(
        "."
    ),
    template: Annotated[
        str, typer.Option(help="bank-demo (contracts of the synthetic bank) or empty.")
    ] = "bank-demo",
    force: Annotated[bool, typer.Option(help="Rewrite c360.yaml if it exists.")] = False,
) -> None:
    """Scaffold a workspace: commented c360.yaml, contracts/, landing/, a tokenisation key."""
    from c360.workspace import Workspace

    ws = Workspace.init(directory, template=template, force=force)
    out.print(f"initialised workspace {ws.root} ({len(ws.contracts())} contracts)")


@app.command()
def synth(
    customers: Annotated[
        int, typer.Option(help="Number of real people to simulate (10 to 50,000,000).")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (≥ 0); same seed, same files.")] = 42,
    days: Annotated[
        int, typer.Option(help="Daily incremental drops after the initial load (0 to 366).")
    ] = 5,
    hard: Annotated[
        bool, typer.Option(help="Multiply the hard identity cases (stress profile).")
    ] = False,
    shift_from_day: Annotated[
        int | None,
        typer.Option(
            help="From this daily drop on, digital logins and card transactions fall to "
            "--shift-activity-share of their rate (a population that moves; for drift checks)."
        ),
    ] = None,
    shift_activity_share: Annotated[
        float, typer.Option(help="Share of activity left after --shift-from-day (0 to 1).")
    ] = 0.25,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Landing folder (default: the workspace's).")
    ] = None,
    truth: Annotated[
        Path | None, typer.Option(help="Ground-truth folder (default: <workspace>/truth).")
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Generate the synthetic bank world: 13 source tables from 9 systems as daily drops, plus ground truth."""
    from dataclasses import asdict

    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    root = workspace_root(workspace)
    ws = Workspace(root) if (Path(root) / "c360.yaml").exists() else None
    landing = out_dir or (ws.landing_dir if ws else Path(root) / "landing")
    truth_dir = truth or Path(root) / "truth"
    contracts = ws.contracts_dir if ws else None
    with progress_bar(show_progress(json)) as cb:
        summary = generate_world(
            landing,
            truth_dir,
            contracts,
            SynthOptions(
                customers=customers,
                seed=seed,
                days=days,
                hard=hard,
                shift_from_day=shift_from_day,
                shift_activity_share=shift_activity_share,
            ),
            progress=cb,
        )
    if json:
        print_json(asdict(summary))  # paths become strings
    else:
        out.print(f"wrote {landing} and {truth_dir}")


@app.command()
def ingest(
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only these sources (repeatable).")
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
    no_wait: NoWaitOpt = False,
) -> None:
    """Ingest new landing files into bronze/silver; bad rows go to quarantine with a reason.

    Each file is processed exactly once; re-running is a no-op. A file that breaks its
    contract stops that source (exit code 3) and stays in landing for a re-run. One
    writer per workspace: if another process is writing, this waits (or, with
    --no-wait, stops with workspace.locked).
    """
    ws = open_workspace(workspace)
    ws.lock_wait = ws.lock_wait and not no_wait
    with progress_bar(show_progress(json)) as cb:
        report = ws.ingest(sources=source or None, progress=cb)
    if json:
        print_json(report.to_dict())
    else:
        _print_ingest(report)
    if not report.ok:
        raise typer.Exit(3)


def _print_ingest(report) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    t = Table(title=f"ingest {report.run_id}")
    for col in ("source", "status", "files", "rows in", "loaded", "quarantined", "PII found"):
        t.add_column(col, justify="right" if col not in ("source", "status") else "left")
    for s in report.sources:
        pii = sum(sum(b.pii_found.values()) for b in s.batches)
        t.add_row(
            s.source,
            s.status,
            str(len(s.batches)),
            f"{s.total('rows_in'):,}",
            f"{s.total('rows_loaded'):,}",
            f"{s.total('rows_quarantined'):,}",
            f"{pii:,}",
        )
    out.print(t)
    for w in report.warnings:
        console.print(f"[yellow]warning[/yellow] {w}", highlight=False)
    for s in report.sources:
        for f in s.skipped_files:
            console.print(f"[yellow]skipped[/yellow] {f}", highlight=False)
        for f in s.changed_files:
            console.print(f"[red]changed[/red] {f}", highlight=False)
        if s.error:
            console.print(f"[red]{s.source} stopped[/red]: {s.error}", highlight=False)
        for b in s.batches:
            for w in b.warnings:
                console.print(f"[yellow]warning[/yellow] {w}", highlight=False)


@app.command()
def run(
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
    stage: Annotated[
        list[str] | None,
        typer.Option(
            "--stage",
            help="Run only this stage (repeatable), e.g. --stage identity; default: every stage.",
        ),
    ] = None,
    no_wait: NoWaitOpt = False,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="Compute on this engine (duckdb or spark) instead of c360.yaml's engine.name. "
            "Every stage runs on spark (each proven against DuckDB by a parity test); a stage "
            "without one would be refused before anything runs.",
        ),
    ] = None,
) -> None:
    """Run every pipeline stage in order (ingest → identity → consent …) as one recorded run."""
    ws = open_workspace(workspace)
    ws.lock_wait = ws.lock_wait and not no_wait
    with progress_bar(show_progress(json)) as cb:
        report = ws.run(progress=cb, stages=stage or None, engine=engine)
    if json:
        print_json(report.to_dict())
    else:
        from rich.table import Table

        t = Table(title=f"run {report.run_id}: {report.status}")
        for col in ("stage", "status", "seconds", "error"):
            t.add_column(col)
        for s in report.stages:
            t.add_row(s.name, s.status, f"{s.seconds:.1f}", s.error or "")
        out.print(t)
    if report.status == "failed":
        raise typer.Exit(1)


@app.command()
def tables(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """List lakehouse tables with their Delta version and row count."""
    ws = open_workspace(workspace)
    infos = ws.tables()
    if json:
        print_json(
            [
                {"table": i.qualified, "version": i.version, "rows": i.rows, "columns": i.columns}
                for i in infos
            ]
        )
        return
    from rich.table import Table

    t = Table(title=f"tables in {ws.lakehouse.root}")
    for col in ("table", "version", "rows", "columns"):
        t.add_column(col, justify="left" if col == "table" else "right")
    for i in infos:
        t.add_row(i.qualified, str(i.version), f"{i.rows:,}", str(i.columns))
    out.print(t)


@app.command()
def runs(
    limit: Annotated[int, typer.Option(help="Most recent N runs (≥ 1).", min=1)] = 10,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Recent pipeline runs and their status."""
    from sqlalchemy import select

    from c360.store.schema import runs as runs_t

    ws = open_workspace(workspace)
    with ws.store.begin() as conn:
        rows = (
            conn.execute(select(runs_t).order_by(runs_t.c.started_at.desc()).limit(limit))
            .mappings()
            .all()
        )
    if json:
        print_json([dict(r) for r in rows])
        return
    from rich.table import Table

    t = Table(title="runs")
    for col in ("run_id", "status", "started", "stages"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["run_id"],
            r["status"],
            str(r["started_at"])[:19],
            ", ".join(f"{s['name']}:{s['status']}" for s in r["stages"] or []),
        )
    out.print(t)


@app.command()
def demo(
    customers: Annotated[
        int, typer.Option(help="People in the synthetic bank (10 to 50,000,000).")
    ] = 3000,
    directory: Annotated[Path, typer.Option("--dir", help="Workspace folder for the demo.")] = Path(
        "demo-workspace"
    ),
    seed: Annotated[int, typer.Option(help="Random seed (≥ 0).")] = 42,
    serve: Annotated[
        bool, typer.Option("--serve", help="Keep serving the API and console afterwards.")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """End to end on embedded defaults: init → synth → run → summary (→ console)."""
    from c360.demo import run_demo

    with progress_bar(show_progress(json)) as cb:
        summary = run_demo(directory, customers=customers, seed=seed, progress=cb)
    if json:
        print_json(summary)
    else:
        from c360.demo import print_summary

        print_summary(summary, out)
    if serve:
        from c360.cli.serve import command as serve_command

        serve_command(workspace=directory)


@app.command()
def status(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Per stage: fresh, stale or not run — and why, and the command that refreshes it."""
    from c360.freshness import stage_status

    rows = stage_status(open_workspace(workspace))
    if json:
        print_json([r.to_dict() for r in rows])
        return
    for r in rows:
        hint = f"  → {r.run}" if r.run else ""
        out.print(f"{r.stage:<10} {r.state:<14} {r.why}{hint}", highlight=False, markup=False)
