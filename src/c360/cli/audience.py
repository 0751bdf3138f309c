"""``c360 audience``: define, preview and build audiences (thin over ``ws.decisioning.audiences``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(
    help="Audiences: a filter, a purpose and a channel, built through the consent gate.",
    no_args_is_help=True,
)

AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Data date YYYY-MM-DD (default: the latest in the data)."),
]


def _as_of(text: str | None) -> date | None:
    from c360.errors import C360Error

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise C360Error("cli.invalid_date", f"--as-of {text!r} is not YYYY-MM-DD") from exc


def _print_build(r: dict[str, Any]) -> None:
    out.print(
        f"{r['audience']} v{r['version']} as of {r['as_of']}: {r['before']:,} before the gate, "
        f"{r['after']:,} after ({r['seconds']:.2f}s)"
    )
    for reason, n in r["excluded"].items():
        out.print(f"  excluded {n:>7,}  {reason}")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Audience name (lower-case, digits, _).")],
    where: Annotated[str, typer.Option("--where", help='Filter, e.g. "age >= 65 AND has_email".')],
    purpose: Annotated[str, typer.Option("--purpose", "-p")],
    channel: Annotated[str, typer.Option("--channel", "-c")],
    description: Annotated[str | None, typer.Option("--description")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create (or version) an audience definition."""
    ws = open_workspace(workspace)
    a = ws.decisioning.audiences.create(name, where, purpose, channel, description=description)
    if json:
        print_json(a.to_dict())
    else:
        out.print(f"audience {a.name} v{a.version}: {a.filter} ({a.purpose}/{a.channel})")


@app.command("preview")
def preview(
    name: str,
    as_of: AsOfOpt = None,
    sample: Annotated[int, typer.Option("--sample", help="Rows of sample.")] = 10,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Size before and after the gate and a sample; writes nothing."""
    ws = open_workspace(workspace)
    r = ws.decisioning.audiences.preview(name, as_of=_as_of(as_of), sample=sample)
    if json:
        print_json(r)
        return
    _print_build(r)
    for row in r["sample"]:
        out.print(f"  {row['golden_id']}")


@app.command("build")
def build(
    name: str, as_of: AsOfOpt = None, workspace: WorkspaceOpt = None, json: JsonOpt = False
) -> None:
    """Build through the gate's set form; appends a gold.audiences snapshot."""
    ws = open_workspace(workspace)
    r = ws.decisioning.audiences.build(name, as_of=_as_of(as_of)).to_dict()
    if json:
        print_json(r)
    else:
        _print_build(r)
        out.print(f"build {r['build_id']} (gate decision {r['gate_decision_id']})")


@app.command("list")
def list_(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Every audience (latest version) with its last build."""
    ws = open_workspace(workspace)
    rows = ws.decisioning.audiences.list()
    if json:
        print_json(rows)
        return
    for a in rows:
        b = a["last_build"]
        last = (
            f"last build {b['after']:,}/{b['before']:,} in {b['seconds']:.2f}s"
            if b
            else "never built"
        )
        out.print(
            f"{a['name']} v{a['version']} {a['purpose']}/{a['channel']}: {a['filter']} — {last}"
        )


@app.command("show")
def show(name: str, workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """The definition and its builds (counts, exclusions, build time)."""
    ws = open_workspace(workspace)
    r = ws.decisioning.audiences.show(name)
    if json:
        print_json(r)
        return
    out.print(f"{r['name']} v{r['version']} {r['purpose']}/{r['channel']}: {r['filter']}")
    for b in r["builds"]:
        out.print(
            f"  {b['build_id']} as of {b['as_of']}: {b['before']:,} → {b['after']:,} "
            f"in {b['seconds']:.2f}s; excluded {b['excluded']}"
        )
