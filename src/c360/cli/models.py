"""``c360 models``: train, evaluate, promote, rollback, list (thin over ``ws.models``)."""

from __future__ import annotations

from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(
    help="Churn and propensity models: MLflow lifecycle with gates.", no_args_is_help=True
)
ModelArg = Annotated[str, typer.Argument(help="Model: churn or card_propensity.")]


@app.command("train")
def train(model: ModelArg, workspace: WorkspaceOpt = None, json_: JsonOpt = False) -> None:
    """Train a challenger on point-in-time features and record its gate result."""
    res = open_workspace(workspace).models.train(model, actor="cli")
    slim = {k: res[k] for k in ("model", "version", "run_id", "metrics", "gates")}
    if json_:
        print_json(slim)
        return
    m = res["metrics"]
    out.print(
        f"{model} v{res['version']} (challenger): AUC {m['auc']:.4f} (baseline {m['baseline_auc']:.4f}), "
        f"Brier {m['brier']:.4f}; gates {'passed' if res['gates']['passed'] else 'FAILED'}"
    )
    for c in res["gates"]["checks"]:
        mark = "ok " if c["passed"] else "FAIL"
        out.print(f"  {mark} {c['check']:<34} {c['value']:>9.4f} {c['op']} {c['bound']}")


@app.command("evaluate")
def evaluate(
    model: ModelArg,
    version: Annotated[
        str | None, typer.Option("--version", help="Default: the challenger.")
    ] = None,
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The recorded metrics and gate result of a version."""
    res = open_workspace(workspace).models.evaluate(model, version)
    if json_:
        print_json(res)
        return
    out.print(
        f"{model} v{res['version']}: gates {'passed' if res['gates'].get('passed') else 'FAILED'}"
    )
    for c in res["gates"].get("checks", []):
        out.print(
            f"  {'ok ' if c['passed'] else 'FAIL'} {c['check']:<34} {c['value']:>9.4f} {c['op']} {c['bound']}"
        )


@app.command("promote")
def promote(
    model: ModelArg,
    by: Annotated[str, typer.Option("--by", help="Approver (recorded in the audit log).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")],
    version: Annotated[
        str | None, typer.Option("--version", help="Default: the challenger.")
    ] = None,
    override: Annotated[
        bool, typer.Option("--override", help="Promote although a gate failed (audited).")
    ] = False,
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Make a version @champion (approval audited)."""
    res = open_workspace(workspace).models.promote(
        model, version, actor=by, reason=reason, override=override
    )
    if json_:
        print_json(res)
    else:
        out.print(f"{model}: champion v{res['champion']} (was {res['previous'] or 'none'})")


@app.command("rollback")
def rollback(
    model: ModelArg,
    by: Annotated[str, typer.Option("--by", help="Who (audited).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")],
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Restore the previous champion."""
    res = open_workspace(workspace).models.rollback(model, actor=by, reason=reason)
    if json_:
        print_json(res)
    else:
        out.print(
            f"{model}: champion v{res['champion']} again (rolled back from v{res['rolled_back_from']})"
        )


@app.command("list")
def list_(
    model: Annotated[str | None, typer.Argument(help="Model (default: all).")] = None,
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Registered versions with aliases and AUC."""
    rows = open_workspace(workspace).models.versions(model)
    if json_:
        print_json(rows)
        return
    for r in rows:
        auc = r["metrics"].get("auc")
        out.print(
            f"{r['model']:<16} v{r['version']:<4} {','.join(r['aliases']) or '-':<20} "
            f"AUC {auc:.4f}  gates {r['tags'].get('c360.gates_passed', '?')}"
        )


@app.command("score")
def score(workspace: WorkspaceOpt = None, json_: JsonOpt = False) -> None:
    """Score every core customer with each champion into gold.scores."""
    res = open_workspace(workspace).models.score()
    if json_:
        print_json(res)
    else:
        for m, r in res.items():
            out.print(f"{m}: {r['status']} {r.get('rows', r.get('reason', ''))}")


@app.command("drift")
def drift(
    model: ModelArg,
    version: Annotated[str | None, typer.Option("--version", help="Default: the champion.")] = None,
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """PSI of the latest features and scores vs the training reference; writes a report."""
    res = open_workspace(workspace).models.drift(model, version)
    if json_:
        print_json(res)
        return
    out.print(f"{model} v{res['version']}: drift {res['status']} (report {res['report']})")
    for r in res["features"][:10]:
        out.print(f"  {r['feature']:<28} PSI {r['psi']}  {r['level']}")


@app.command("card")
def card(
    model: ModelArg,
    version: Annotated[str | None, typer.Option("--version", help="Default: the champion.")] = None,
    workspace: WorkspaceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Write the model card (Markdown and HTML) of a version."""
    res = open_workspace(workspace).models.card(model, version)
    if json_:
        print_json(res)
    else:
        out.print(f"model card: {res['markdown']} and {res['html']}")
