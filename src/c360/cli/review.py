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
    status: Annotated[
        str, typer.Option(help="open | approved | rejected | undone | closed | superseded | all")
    ] = "open",
    limit: Annotated[int, typer.Option(help="At most this many tasks (≥ 1).", min=1)] = 50,
    json_: JsonOpt = False,
) -> None:
    """Review tasks, highest expected impact first (probability × records an approval moves)."""
    ws = open_workspace(workspace)
    tasks = ws.identity.review_list(None if status == "all" else status, limit)
    if json_:
        print_json(tasks)
        return
    for t in tasks:
        detail = t.get("detail") or {}
        impact = detail.get("impact") if isinstance(detail, dict) else None
        shown = f"impact {impact:5.2f}" if impact is not None else "impact   -  "
        out.print(
            f"#{t['task_id']:<5} {shown}  p {t['probability']:.3f}  "
            f"{t['golden_id_l']} {t['record_id_l']}  ~  {t['golden_id_r']} {t['record_id_r']}"
            f"  [{t['status']}]",
            highlight=False,
        )
    if not tasks:
        out.print("no review tasks")
    elif status == "open":
        total = ws.identity.review_count("open")
        out.print(f"{len(tasks)} of {total} open task(s); `c360 review show ID` to compare")


RoleOpt = Annotated[
    str,
    typer.Option("--role", help="Mask values as this role's policy says (purpose stewardship)."),
]


def print_compare(compare: list[dict], left: str, right: str) -> None:  # type: ignore[type-arg]
    """The two records' values side by side; differing rows marked."""
    from rich.table import Table

    t = Table(show_edge=False)
    t.add_column("")
    t.add_column(left)
    t.add_column(right)
    t.add_column("")
    for row in compare:
        lv, rv = row["left"], row["right"]
        if lv is None and rv is None:
            continue
        mark = "" if row["same"] else "≠"
        t.add_row(row["field"], "" if lv is None else str(lv), "" if rv is None else str(rv), mark)
    out.print(t)


@app.command("show")
def show(
    task_id: int,
    workspace: WorkspaceOpt = None,
    role: RoleOpt = "steward",
    by: ActorOpt = None,
    json_: JsonOpt = False,
) -> None:
    """One task: the two records side by side, the evidence and the match weights."""
    task = open_workspace(workspace).identity.review_show(
        task_id, role=role, actor=by or getpass.getuser()
    )
    if json_:
        print_json(task)
        return
    detail = task.get("detail") or {}
    out.print(
        f"task #{task['task_id']} [{task['status']}] probability {task['probability']:.4f}"
        + (f", expected impact {detail['impact']:.2f}" if "impact" in detail else ""),
        highlight=False,
        markup=False,
    )
    from c360.cli.identity import print_evidence

    print_evidence(task["explain"])
    out.print(
        f"decide: c360 review approve {task_id} --reason '…'  |  "
        f"c360 review reject {task_id} --reason '…'",
        highlight=False,
        markup=False,
    )


TaskIds = Annotated[list[int], typer.Argument(help="One or more task ids (a batch).")]


def _decide(
    task_ids: list[int], approve: bool, workspace: object, by: str | None, reason: str, json_: bool
) -> None:
    ws = open_workspace(workspace)  # type: ignore[arg-type]
    actor = by or getpass.getuser()
    tasks = ws.identity.review_decide(task_ids, approve=approve, actor=actor, reason=reason)
    if json_:
        print_json(tasks)
        return
    for task in tasks:
        out.print(f"task #{task['task_id']} {task['status']} by {actor}", highlight=False)
    out.print("decisions take effect on the next identity run (`c360 run`)")


@app.command("approve")
def approve(
    task_ids: TaskIds,
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    by: ActorOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Same person: each task becomes a must-link."""
    _decide(task_ids, True, workspace, by, reason, json_)


@app.command("reject")
def reject(
    task_ids: TaskIds,
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    by: ActorOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Different people: each task becomes a cannot-link."""
    _decide(task_ids, False, workspace, by, reason, json_)


@app.command("undo")
def undo(
    task_id: int,
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    by: ActorOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Undo an approved merge: the pair becomes a cannot-link; the next run splits the records
    and gives each part its golden id from before the merge."""
    actor = by or getpass.getuser()
    task = open_workspace(workspace).identity.review_undo(task_id, actor=actor, reason=reason)
    if json_:
        print_json(task)
        return
    out.print(f"task #{task_id} undone by {actor}: the records are kept apart", highlight=False)
    out.print("the split takes effect on the next identity run (`c360 run`)")


@app.command("close")
def close(
    task_id: int,
    reason: ReasonOpt,
    workspace: WorkspaceOpt = None,
    by: ActorOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Close a consent-ownership task (facts a split could not assign) once it is settled."""
    actor = by or getpass.getuser()
    task = open_workspace(workspace).identity.review_close(task_id, actor=actor, reason=reason)
    if json_:
        print_json(task)
        return
    out.print(f"task #{task_id} closed by {actor}", highlight=False)
