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
    """Why two records did or did not link: values side by side, each comparison's level and
    weight with Splink's prior, other golden records holding the same email/phone/address,
    the chain of links joining them and the identifier each rule used."""
    import getpass

    ws = open_workspace(workspace)
    data = ws.identity.evidence(key1, key2, role=role, actor=getpass.getuser())
    if json_:
        print_json(data)
        return
    print_evidence(data)


def print_evidence(data: dict) -> None:  # type: ignore[type-arg]
    """The human form of :func:`c360.identity.evidence.pair_evidence` (also ``review show``)."""
    from rich.table import Table

    from c360.cli.review import print_compare

    left, right = (f"{r} ({g})" for r, g in zip(data["records"], data["golden_ids"], strict=True))
    print_compare(data["compare"], left, right)
    say = lambda text: out.print(text, highlight=False, markup=False, emoji=False)  # noqa: E731
    say(f"linked: {data['linked']}   band: {data['band']}")
    if data.get("comparisons"):
        t = Table(show_edge=False, title="comparisons (Splink)")
        for col in ("comparison", "level", "weight", "meaning"):
            t.add_column(col, justify="right" if col == "weight" else "left")
        prior = data.get("prior")
        if prior:
            t.add_row(
                "prior",
                f"P(match) = {prior['probability']:.5f}",
                f"{prior['match_weight']:+.2f}",
                "before any comparison",
            )
        for c in data["comparisons"]:
            w = "" if c["weight"] is None else f"{c['weight']:+.2f}"
            if c["weight_from"] == "model":
                w += " (model)"
            t.add_row(c["comparison"], c["level"], w, f"{c['state_label']}: {c['note']}")
        out.print(t)
        if data.get("total_weight") is not None:
            say(f"total match weight {data['total_weight']:+.2f} (prior + comparisons)")
        elif not data.get("scored"):
            say(
                "not scored by Splink in the run: weights marked (model) come from the saved "
                "model without term-frequency adjustment"
            )
    for e in data["evidence"]:
        ident = e.get("identifier")
        used = f", identifier: {ident['kind']}" if ident else ""
        if ident and ident["values"]:
            used += f" ({', '.join(ident['values'])})"
        say(
            f"rule {e['rule']}: weight {e['match_weight']:.2f}, "
            f"probability {e['match_probability']:.4f}{used}"
        )
        if e.get("why"):
            say(f"      {e['why']}")
    shared = [s for s in data.get("shared", []) if s["other_golden_count"]]
    for s in shared:
        listed = ", ".join(s["other_golden_ids"])
        more = s["other_golden_count"] - len(s["other_golden_ids"])
        say(
            f"{s['kind']} {s['value']} (held by {' and '.join(s['held_by'])}) is also held by "
            f"{s['other_golden_count']} other golden record(s): {listed}"
            + (f" and {more} more" if more > 0 else "")
            + (f"  [{s['note']}]" if s["note"] else "")
        )
    if data.get("shared") and not shared:
        say("no other golden record holds their emails, phones or addresses")
    if data.get("path"):
        hops = data["path"]
        chain = hops[0]["from"]
        for h in hops:
            w = "" if h["match_weight"] is None else f" {h['match_weight']:.2f}"
            chain += f" —[{h['rule']}{w}]→ {h['to']}"
        say(("linked through: " if len(hops) > 1 else "linked directly: ") + chain)
    if data["refused_by"]:
        say(f"kept apart by: {data['refused_by']}")
    if data.get("constraint"):
        c = data["constraint"]
        say(
            f"steward decision in force: {c['kind'].replace('_', '-')} by {c['created_by']} "
            f"({c['reason']})"
        )


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
