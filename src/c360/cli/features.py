"""``c360 features``: the feature view registry, materialisation, online reads, training sets."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json
from c360.errors import C360Error

app = typer.Typer(
    help="Feature views: registry, materialisation, online features.", no_args_is_help=True
)


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise C360Error("features.bad_date", f"--as-of must be YYYY-MM-DD, got {value!r}") from exc


@app.command("list")
def list_(workspace: WorkspaceOpt = None, json_: JsonOpt = False) -> None:
    """Every feature view: name, version, owner, features."""
    views = open_workspace(workspace).features.views()
    if json_:
        print_json([v.summary() for v in views.values()])
        return
    from rich.table import Table

    t = Table("view", "version", "owner", "features", "tags", "freshness")
    for v in views.values():
        t.add_row(
            v.name,
            v.version,
            v.owner,
            str(len(v.columns)),
            ", ".join(v.tags),
            f"{v.freshness_hours:g} h",
        )
    out.print(t)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="View name.")],
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """One view's definition: description, inputs, columns with their classes, SQL."""
    v = open_workspace(workspace).features.view(name)
    data = v.summary() | {"sql": v.sql}
    if json_:
        print_json(data)
        return
    out.print(f"[bold]{v.name}[/bold] {v.version} — {v.description}")
    out.print(
        f"owner {v.owner}; tags {', '.join(v.tags) or '-'}; freshness {v.freshness_hours:g} h"
    )
    out.print(f"table gold.{v.table}; inputs {', '.join(v.inputs)}")
    for c, spec in v.columns.items():
        out.print(f"  {c:<28} {spec.type:<7} {spec.class_:<12} {spec.description}")
    out.print(v.sql, markup=False, highlight=False)


@app.command("materialize")
def materialize(
    views: Annotated[list[str] | None, typer.Argument(help="Views (default: all).")] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Day YYYY-MM-DD (default: day after the latest event)."),
    ] = None,
    backfill: Annotated[
        int | None, typer.Option("--backfill", help="Days before as-of to fill on a first run.")
    ] = None,
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Materialise views into gold.features_<view> and refresh the online features."""
    ws = open_workspace(workspace)
    res = ws.features.materialize(views or None, as_of=_day(as_of), backfill_days=backfill)
    if json_:
        print_json(res)
        return
    for v in res["views"]:
        what = f"{len(v['days'])} day(s), {v['rows']:,} rows" if v["days"] else (v["reason"] or "")
        out.print(f"{v['view']:<20} {v['version']}  {v['status']:<12} {what}")
    out.print(f"as of {res['as_of']}; online rows {res.get('online_rows', 0):,}")


@app.command("get")
def get(
    golden_id: Annotated[str, typer.Argument(help="Golden id.")],
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """A customer's latest features and scores (the online projection)."""
    rec = open_workspace(workspace).features.get(golden_id)
    if not rec.found:
        raise C360Error("features.not_found", f"no online features for {golden_id}")
    if json_:
        print_json(rec.to_dict())
        return
    out.print(f"{rec.golden_id} as of {rec.as_of}")
    for k, v in rec.features.items():
        out.print(f"  {k:<28} {v}")
    for m, s in rec.scores.items():
        out.print(f"  score {m:<22} {s['score']:.4f} (version {s['version']})")


@app.command("training-set")
def training_set(
    labels: Annotated[
        Path, typer.Argument(help="CSV or Parquet with golden_id, label_time and labels.")
    ],
    output: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write.")],
    views: Annotated[list[str] | None, typer.Option("--view", help="Views (default: all).")] = None,
    materialized: Annotated[
        bool, typer.Option("--materialized", help="Join the stored history instead of recomputing.")
    ] = False,
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Point-in-time features for each (golden_id, label_time) row of LABELS."""
    ws = open_workspace(workspace)
    table = ws.features.read_labels(labels)
    ts = ws.features.training_set(
        table, views or None, source="materialized" if materialized else "recompute"
    )
    ws.features.write_training_set(ts, output)
    info = {"rows": ts.num_rows, "columns": ts.num_columns, "out": str(output)}
    if json_:
        print_json(info)
    else:
        out.print(f"wrote {ts.num_rows:,} rows × {ts.num_columns} columns to {output}")
