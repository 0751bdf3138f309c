"""The pipeline stage: materialise every feature view up to the data's watermark."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c360.ingest.report import Progress
    from c360.workspace import Workspace


def run(
    ws: Workspace, run_id: str | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    if not ws.lakehouse.exists("gold", "golden_customers"):
        return {"_status": "skipped", "reason": "no golden customers yet"}
    from c360.features.materialize import EVENT_TIMES

    if not any(ws.lakehouse.exists(*t.split(".", 1)) for t in EVENT_TIMES):
        # a bank whose sources carry people but no events (yet): nothing to compute,
        # which is not a failed run
        return {"_status": "skipped", "reason": "no event tables: " + ", ".join(EVENT_TIMES)}
    if progress:
        progress("features: materialize", 0, 1)
    out = ws.features.materialize(run_id=run_id)  # type: ignore[attr-defined]
    if progress:
        progress("features: done", 1, 1)
    return out
