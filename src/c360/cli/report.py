"""``c360 report``: the governance and ROI review for an executive sponsor (thin over c360.kpi)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json


def command(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for report.html, report.json and plotly.min.js.")
    ],
    experiment: Annotated[str, typer.Option("--experiment", help="Experiment id.")] = "nba",
    metric: Annotated[str, typer.Option("--metric", help="Outcome metric.")] = "response",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Write the KPI, consent-evidence, experiment and ROI review (HTML with offline charts, JSON)."""
    from c360.kpi.report import write

    ws = open_workspace(workspace)
    r = write(ws, out_dir, experiment=experiment, metric=metric)
    if json:
        print_json({"files": r["files"], "kpis": r["kpis"]})
        return
    c = r["kpis"]["consent"]
    out.print(
        f"consent violations {c['violations']}, deliveries {c['deliveries']:,}; "
        f"payback months {r['kpis']['roi']['payback_months'] or 'n/a'}"
    )
    for f in r["files"]:
        out.print(f"wrote {f}")
