"""The decisioning stage of ``c360 run`` (after consent): triggers in batch, then decisions.

Every firing becomes a logged decision; queued ones get their outbox message in the same
transaction (``c360 activate`` sends them), sensitive customers get a HITL task. Without
golden records the stage is ``skipped``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c360.workspace import Workspace

Progress = Callable[[str, int, int], None]


def run(
    ws: Workspace, run_id: str | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    if not ws.lakehouse.exists("gold", "golden_customers"):
        return {"_status": "skipped", "reason": "no golden records (gold.golden_customers missing)"}

    def step(name: str, i: int, n: int) -> None:
        if progress is not None:
            progress(f"decisioning:{name}", i, n)

    summary = ws.decisioning.decide(run_id=run_id, progress=step)
    summary.pop("decision_ids", None)
    return summary
