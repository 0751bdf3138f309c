"""``c360 kpi``: the KPIs an executive sponsor reads (thin over c360.kpi)."""

from __future__ import annotations

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json


def kpi(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Audience build time, identity quality, lift vs holdout, consent violations, ROI."""
    from c360.kpi import compute

    ws = open_workspace(workspace)
    k = compute(ws)
    if json:
        print_json(k)
        return
    for section, v in k.items():
        out.print(f"[bold]{section}[/bold]: {v}")


command = kpi
