"""``c360 review``: the steward queue for the identity review band."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(help="Steward review of uncertain identity matches.", no_args_is_help=True)
ActorOpt = Annotated[str | None, typer.Option("--by", help="Who decides (default: the OS user).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")]


@app.command("list")
def list_(
    workspace: WorkspaceOpt = None,
    status: Annotated[str, typer.Option(help="open | approved | rejected | all")] = "open",
    limit: Annotated[int, typer.Option(help="At most this many tasks (≥ 1).", min=1)] = 50,
    json_: JsonOpt = False,
) -> None:
    """Review tasks, most probable first."""
    tasks = open_workspace(workspace).identity.review_list(
        None if status == "all" else status, limit
    )
    if json_:
        print_json(tasks)
        return
    for t in tasks:
        out.print(
            f"#{t['task_id']:<5} {t['probability']:.3f}  {t['record_id_l']}  ~  {t['record_id_r']}  [{t['status']}]"
        )
    if not tasks:
        out.print("no review tasks")


@app.command("show")
def show(task_id: int, workspace: WorkspaceOpt = None, json_: JsonOpt = False) -> None:
    """One task with its explanation."""
    task = open_workspace(workspace).identity.review_show(task_id)
    if json_:
        print_json(task)
        return
    out.print(f"task #{task['task_id']} [{task['status']}] probability {task['probability']:.4f}")
    ex = task["explain"]
    for rec, gid in zip(ex["records"], ex["golden_ids"], strict=True):
        out.print(f"  {rec} → {gid}")
    for e in ex["evidence"]:
        for comp, weight in (e["detail"] or {}).items():
            out.print(f"      {comp:<11} {weight:+.2f}")


def _decide(
    task_id: int, approve: bool, workspace: object, by: str | None, reason: str, json_: bool
) -> None:
    ws = open_workspace(workspace)  # type: ignore[arg-type]
    actor = by or getpass.getuser()
    fn = ws.identity.review_approve if approve else ws.identity.review_reject
    task = fn(task_id, actor=actor, reason=reason)
    if json_:
        print_json(task)
    else:
        out.print(
            f"task #{task_id} {task['status']} by {actor}; takes effect on the next identity run"
        )


@app.command("approve")
def approve(
    task_id: int,
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    by: ActorOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Same person: becomes a must-link."""
    _decide(task_id, True, workspace, by, reason, json_)


@app.command("reject")
def reject(
    task_id: int,
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    by: ActorOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Different people: becomes a cannot-link."""
    _decide(task_id, False, workspace, by, reason, json_)
