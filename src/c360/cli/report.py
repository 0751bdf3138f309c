"""``c360 report``: the governance and ROI review for an executive sponsor (thin over c360.kpi)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json


def command(
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for report.html, report.pdf, report.json, plotly.min.js and cards/.",
        ),
    ],
    experiment: Annotated[str, typer.Option("--experiment", help="Experiment id.")] = "nba",
    metric: Annotated[str, typer.Option("--metric", help="Outcome metric.")] = "response",
    lineage_sample: Annotated[
        int, typer.Option("--lineage-sample", help="Activated messages traced for coverage.")
    ] = 25,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Write the governance and ROI review (HTML with offline charts, PDF, JSON, model cards)."""
    from c360.kpi.report import write

    ws = open_workspace(workspace)
    r = write(ws, out_dir, experiment=experiment, metric=metric, lineage_sample=lineage_sample)
    if json:
        print_json({"files": r["files"], "kpis": r["kpis"], "lineage": r["lineage"]})
        return
    c = r["kpis"]["consent"]
    out.print(
        f"consent violations {c['violations']}, deliveries {c['deliveries']:,}; "
        f"payback months {r['kpis']['roi']['payback_months'] or 'n/a'}; "
        f"lineage traced {r['lineage']['traced']}/{r['lineage']['sampled']} sampled activations"
    )
    for f in r["files"]:
        out.print(f"wrote {f}")
