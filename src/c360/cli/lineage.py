"""``c360 lineage``: trace a record back to its sources; list emitted OpenLineage events."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.tree import Tree

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json
from c360.errors import C360Error

app = typer.Typer(help="OpenLineage events and record-level lineage.")


def _tree(node: Any, tree: Tree) -> None:
    for p in node.parents:
        detail = ", ".join(f"{k}={v}" for k, v in p.data.items() if k not in ("table",))
        _tree(p, tree.add(f"[bold]{p.kind}[/bold] {p.id}  {detail}"))


@app.command()
def trace(
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
    golden: Annotated[str | None, typer.Option("--golden", help="A golden_id")] = None,
    source: Annotated[str | None, typer.Option(help="Source name (with --key)")] = None,
    key: Annotated[str | None, typer.Option(help="Source key ('a|b' for composite keys)")] = None,
    delivery: Annotated[
        str | None, typer.Option("--delivery", help="An outbox message id (activation)")
    ] = None,
) -> None:
    """Follow a golden record or a source record back to rows, batches and landing files."""
    ws = open_workspace(workspace)
    if delivery:
        from c360.activation import delivery_node

        node = ws.governance.tracer.trace(delivery_node(delivery))
    elif golden:
        node = ws.governance.tracer.golden(golden)
    elif source and key:
        node = ws.governance.tracer.source_record(source, key)
    else:
        raise C360Error(
            "lineage.bad_request", "give --golden ID, --source NAME --key KEY or --delivery ID"
        )
    if not node.parents:
        what = (
            f"delivery {delivery}"
            if delivery
            else f"golden record {golden}"
            if golden
            else f"source record {source}:{key}"
        )
        raise C360Error(
            "lineage.not_found",
            f"{what} is not in this workspace (nothing to trace)",
            http_status=404,
        )
    if json:
        print_json(node.to_dict())
        return
    tree = Tree(f"[bold]{node.kind}[/bold] {node.id}")
    _tree(node, tree)
    out.print(tree)


@app.command()
def events(
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
    job: Annotated[str | None, typer.Option(help="Only this job")] = None,
) -> None:
    """List the events of the local lineage file."""
    evs = [
        e
        for e in open_workspace(workspace).governance.lineage.events()
        if not job or e["job"]["name"] == job
    ]
    if json:
        print_json(evs)
        return
    for e in evs:
        ins = ",".join(d["name"] for d in e.get("inputs", []))
        outs = ",".join(d["name"] for d in e.get("outputs", []))
        out.print(
            f"{e['eventTime']} {e['eventType']:<8} {e['job']['name']} [{ins}] -> [{outs}]",
            markup=False,
        )
