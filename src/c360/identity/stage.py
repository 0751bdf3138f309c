"""The pipeline's entry point for identity resolution (called after ingestion).

No-ops cleanly, returning a ``skipped`` report, when no contract has an
``identity:`` mapping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from c360.identity.constraints import audit_run
from c360.identity.pipeline import IdentityReport, Progress, run_identity

if TYPE_CHECKING:
    from c360.workspace import Workspace


def run(
    ws: Workspace, run_id: str | None = None, progress: Progress | None = None
) -> IdentityReport:
    report = run_identity(ws, full=False, run_id=run_id, progress=progress)
    audit_run(ws, report)
    return report
