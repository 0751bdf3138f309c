"""``c360 experiment``: outcomes and the uplift report (thin over ``ws.experiments``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json

app = typer.Typer(help="Holdout experiments: outcomes, uplift, SRM.", no_args_is_help=True)
ExpOpt = Annotated[str, typer.Option("--id", help="Experiment id.")]


@app.command("simulate")
def simulate(
    experiment: ExpOpt = "nba",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Draw outcomes from the synthetic world's truth (demo worlds only)."""
    ws = open_workspace(workspace)
    r = ws.experiments.simulate_outcomes(experiment, seed=seed)
    if json:
        print_json(r)
    else:
        out.print(
            f"{r['units']:,} units, {r['appended']:,} outcomes appended; true uplift {r['true_uplift']:+.4f}"
        )


@app.command("report")
def report(
    experiment: ExpOpt = "nba",
    metric: Annotated[str, typer.Option("--metric")] = "response",
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for report.html + uplift.svg.")
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Arms, SRM check, uplift with 95% CI (overall, per segment, CUPED) and a chart."""
    ws = open_workspace(workspace)
    r = ws.experiments.report(
        experiment, metric=metric, out=out_dir or ws.root / "reports" / experiment
    )
    if json:
        print_json(r)
        return
    s = r["srm"]
    out.print(
        f"experiment {experiment}: {r['units']:,} units with {metric} outcomes; arms {s['observed']}"
    )
    out.print(
        f"SRM: chi² {s['chi2']}, p = {s['p_value']:.3g} → {'MISMATCH' if s['mismatch'] else 'ok'}"
    )
    for row in r["rows"]:
        true = "" if row["true"] is None else f"  (true {row['true']:+.4f})"
        out.print(
            f"  {row['label']:<28} uplift {row['uplift']:+.4f}  95% CI [{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]"
            f"  n {row['n_treatment']}/{row['n_control']}{true}"
        )
    if r.get("cuped"):
        c = r["cuped"]
        out.print(
            f"  CUPED                        uplift {c['uplift']:+.4f}  95% CI [{c['ci_low']:+.4f}, {c['ci_high']:+.4f}]"
        )
    for f in r.get("files", []):
        out.print(f"wrote {f}")
