"""The ingest stage of ``c360 run``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c360.ingest.report import Progress
    from c360.workspace import Workspace


def run(ws: Workspace, run_id: str, progress: Progress | None = None) -> dict[str, Any]:
    report = ws.ingest(run_id=run_id, progress=progress)
    out: dict[str, Any] = report.to_dict()
    # A broken source stops that source only; the run goes on but is marked partial.
    out["_status"] = "succeeded" if report.ok else "partial"
    return out
