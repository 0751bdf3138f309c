"""``c360 hitl``: the human-in-the-loop queue of sensitive customers' decisions."""

from __future__ import annotations

from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(
    help="Human-in-the-loop tasks (minors, seniors, protected segments).", no_args_is_help=True
)
NoteOpt = Annotated[str | None, typer.Option("--note", help="Why (kept with the task).")]
ActorOpt = Annotated[str, typer.Option("--actor", help="Who decides (audited).")]


@app.command("list")
def list_(
    status: Annotated[str, typer.Option("--status", help="open|approved|rejected|all")] = "open",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Tasks waiting for a human (or all)."""
    ws = open_workspace(workspace)
    rows = ws.decisioning.hitl.list(None if status == "all" else status)
    if json:
        print_json(rows)
        return
    for t in rows:
        out.print(
            f"{t['task_id']}  {t['golden_id']}  {t['action_id']:<24} {t['status']:<8} {', '.join(t['reasons'])}"
        )
    out.print(f"{len(rows)} task(s)")


@app.command("show")
def show(task_id: str, workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """A task with its decision's evidence."""
    ws = open_workspace(workspace)
    t = ws.decisioning.hitl.show(task_id)
    if json:
        print_json(t)
        return
    out.print(f"task {t['task_id']} ({t['status']}): {', '.join(t['reasons'])}")
    out.print(ws.decisioning.log.explain(t["decision_id"]), markup=False, highlight=False)


@app.command("approve")
def approve(
    task_id: str,
    note: NoteOpt = None,
    actor: ActorOpt = "cli",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Approve: the proposed action goes to the outbox (the gate still checks it at send time)."""
    ws = open_workspace(workspace)
    r = ws.decisioning.hitl.approve(task_id, actor=actor, note=note)
    if json:
        print_json(r)
    else:
        out.print(
            f"approved {task_id}"
            + (f"; message {r['enqueued']} queued" if r["enqueued"] else "; nothing to send")
        )


@app.command("reject")
def reject(
    task_id: str,
    note: NoteOpt = None,
    actor: ActorOpt = "cli",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Reject: nothing is sent; the decision log shows the rejection."""
    ws = open_workspace(workspace)
    r = ws.decisioning.hitl.reject(task_id, actor=actor, note=note)
    if json:
        print_json(r)
    else:
        out.print(f"rejected {task_id}")
