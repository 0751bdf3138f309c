"""``c360 decisions``: run the agent, inspect the decision log (thin over ``ws.decisioning``)."""

from __future__ import annotations

from typing import Annotated

import typer

from c360.cli.audience import AsOfOpt, _as_of
from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(help="Next-best-action decisions and their evidence.", no_args_is_help=True)


@app.command("triggers")
def triggers(
    as_of: AsOfOpt = None,
    golden_id: Annotated[
        list[str] | None, typer.Option("--golden-id", "-g", help="Only these (single events).")
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Evaluate the trigger rules (batch, or for single golden records)."""
    ws = open_workspace(workspace)
    fired = ws.decisioning.evaluate_triggers(_as_of(as_of), golden_ids=golden_id or None)
    if json:
        print_json([f.to_dict() for f in fired])
        return
    counts: dict[str, int] = {}
    for f in fired:
        counts[f.trigger] = counts.get(f.trigger, 0) + 1
    out.print(f"{len(fired):,} customers fired a trigger")
    for t, n in sorted(counts.items()):
        out.print(f"  {n:>7,}  {t}")


@app.command("run")
def run(
    as_of: AsOfOpt = None,
    golden_id: Annotated[
        list[str] | None, typer.Option("--golden-id", "-g", help="Only these (single events).")
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Evaluate triggers and decide for every firing (decisions, HITL tasks, outbox)."""
    ws = open_workspace(workspace)
    s = ws.decisioning.decide(as_of=_as_of(as_of), golden_ids=golden_id or None)
    if json:
        print_json(s)
        return
    out.print(
        f"{s['fired']:,} firings as of {s['as_of']}: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(s["by_status"].items()))
    )


@app.command("show")
def show(
    decision_id: Annotated[
        str | None, typer.Argument(help="A decision id (default: list recent).")
    ] = None,
    golden_id: Annotated[str | None, typer.Option("--golden-id", "-g")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="queued|hitl|held_out|no_action")
    ] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """One decision with everything logged, or the most recent decisions."""
    ws = open_workspace(workspace)
    if decision_id:
        d = ws.decisioning.log.get(decision_id)
        if json:
            print_json(d)
        else:
            out.print(ws.decisioning.log.explain(decision_id))
        return
    rows = ws.decisioning.log.show(golden_id=golden_id, status=status, limit=limit)
    if json:
        print_json(rows)
        return
    for r in rows:
        out.print(
            f"{r['decision_id']}  {r['golden_id']}  {r['trigger']:<24} {r['chosen_action']:<24} {r['status']:<9} {r['arm']}"
        )


@app.command("explain")
def explain(decision_id: str, workspace: WorkspaceOpt = None) -> None:
    """Why this decision: trigger, evidence, candidates and their rejection reasons, consent, HITL, delivery."""
    ws = open_workspace(workspace)
    out.print(ws.decisioning.log.explain(decision_id), markup=False, highlight=False)
