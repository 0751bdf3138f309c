"""``c360 monitor``: operational monitors with thresholds and alerts (thin over c360.kpi)."""

from __future__ import annotations

from c360.cli.main import JsonOpt, WorkspaceOpt, open_workspace, out, print_json


def monitor(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Evaluate the monitors; each breach is stored as an alert and notified."""
    from c360.kpi import run_monitors as run

    ws = open_workspace(workspace)
    r = run(ws)
    if json:
        print_json(r)
        return
    for c in r["checks"]:
        mark = "ok  " if c["ok"] else "ALERT"
        out.print(f"{mark} {c['monitor']:<40} {c['message']}")
    out.print(f"{len(r['alerts'])} alert(s)")


command = monitor
