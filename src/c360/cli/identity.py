"""``c360 identity``: run, explain and evaluate identity resolution (thin over ``ws.identity``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json, show_progress
from c360.cli.progress import progress_bar

app = typer.Typer(
    help="Identity resolution: golden records from every source.", no_args_is_help=True
)


@app.command("run")
def run(
    workspace: WorkspaceOpt = None,
    full: Annotated[
        bool, typer.Option("--full", help="Rescore every pair instead of only new/changed records.")
    ] = False,
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Re-estimate the Splink model (implies --full).")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Resolve identities after new drops (incremental unless --full)."""
    ws = open_workspace(workspace)
    with progress_bar(show_progress(json_)) as bar:
        report = ws.identity.run(full=full or retrain, retrain=retrain, progress=bar)
    if json_:
        print_json(report.to_dict())
        return
    if report.status == "skipped":
        out.print("no contract has an identity mapping; nothing to do")
        return
    mode = "full" if report.full else "incremental"
    from c360.freshness import stage_status

    for st in stage_status(ws):
        if st.stage != "identity" and st.state in ("stale", "not run"):
            out.print(
                f"{st.stage} is now {st.state}: {st.why}; run `{st.run}`",
                highlight=False,
                markup=False,
            )
    out.print(
        f"{mode} run {report.run_id}: {report.records} records → {report.golden_ids} golden ids; "
        f"{report.merges} merges, {report.merges_refused} refused by constraints; "
        f"{report.review_tasks_created} new review tasks; {report.events_summary()}"
    )


@app.command("explain")
def explain(
    key1: Annotated[str, typer.Argument(help="SOURCE:KEY")],
    key2: Annotated[str, typer.Argument(help="SOURCE:KEY")],
    workspace: WorkspaceOpt = None,
    role: Annotated[
        str, typer.Option("--role", help="Mask the compared values as this role's policy says.")
    ] = "steward",
    json_: JsonOpt = False,
) -> None:
    """Why two records did or did not link: their values side by side, rules, weights, band."""
    import getpass

    from c360.cli.review import print_compare

    ws = open_workspace(workspace)
    data = ws.identity.explain(key1, key2)
    data["compare"] = ws.identity.compare(*data["records"], role=role, actor=getpass.getuser())
    if json_:
        print_json(data)
        return
    left, right = (f"{r} ({g})" for r, g in zip(data["records"], data["golden_ids"], strict=True))
    print_compare(data["compare"], left, right)
    out.print(f"linked: {data['linked']}   band: {data['band']}")
    for e in data["evidence"]:
        out.print(
            f"  rule {e['rule']}: weight {e['match_weight']:.2f}, probability {e['match_probability']:.4f}"
        )
        for comp, weight in (e["detail"] or {}).items():
            out.print(f"      {comp:<11} {weight:+.2f}")
    if data["refused_by"]:
        out.print(f"kept apart by: {data['refused_by']}")


@app.command("resolve")
def resolve(
    golden_id: Annotated[str, typer.Argument(help="A golden id, current or absorbed by a merge.")],
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The golden id a (possibly absorbed) golden id points at today; exit 3 when none."""
    to = open_workspace(workspace).identity.resolve(golden_id)
    if json_:
        redirected = golden_id if to is not None and to != golden_id else None
        print_json({"golden_id": to, "redirected_from": redirected})
    elif to is None:
        out.print(f"{golden_id}: no current golden record", highlight=False)
    elif to == golden_id:
        out.print(f"{golden_id} is current", highlight=False)
    else:
        out.print(f"{golden_id} was merged into {to}", highlight=False)
    if to is None:
        raise typer.Exit(3)


@app.command("split")
def split(
    key1: Annotated[str, typer.Argument(help="SOURCE:KEY")],
    key2: Annotated[str, typer.Argument(help="SOURCE:KEY")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
    workspace: WorkspaceOpt = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who decides (default: the OS user).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Keep two records apart (a cannot-link, replacing any must-link between them); the next
    run splits their golden record and each part keeps the golden id it had before a merge."""
    import getpass

    actor = by or getpass.getuser()
    cid = open_workspace(workspace).identity.cannot_link(key1, key2, actor=actor, reason=reason)
    if json_:
        print_json({"constraint_id": cid, "kind": "cannot_link", "records": [key1, key2]})
        return
    out.print(f"cannot-link #{cid} {key1} ≠ {key2} by {actor}", highlight=False)
    out.print("the split takes effect on the next identity run (`c360 run`)")


@app.command("eval")
def evaluate(
    truth: Annotated[Path, typer.Option("--truth", help="CSV source,source_key,person_id")],
    workspace: WorkspaceOpt = None,
    auto_link: Annotated[
        float | None,
        typer.Option(
            "--auto-link",
            help="Re-cluster at this probability threshold, in (0, 1] (nothing written).",
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Pairwise precision/recall/F1, false-merge and split rates against ground truth."""
    data = open_workspace(workspace).identity.evaluate(truth, auto_link=auto_link)
    if json_:
        print_json(data)
        return
    for k, v in data.items():
        out.print(f"{k:<30} {v}")
