"""Typed access to the workspace's lazily attached governance namespaces."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import pyarrow as pa

if TYPE_CHECKING:
    from c360.governance.audit import AuditLog
    from c360.governance.service import GovernanceService
    from c360.workspace import Workspace


def audit(ws: Workspace) -> AuditLog:
    return cast("AuditLog", ws.audit)  # type: ignore[attr-defined]


def governance(ws: Workspace) -> GovernanceService:
    return cast("GovernanceService", ws.governance)  # type: ignore[attr-defined]


def table_schema(ws: Workspace, zone: str, name: str) -> pa.Schema:
    """The Arrow schema of a Delta table (as a pyarrow schema)."""
    return pa.schema(ws.lakehouse.table(zone, name).schema().to_arrow())
