"""Aggregates: activation status, the experiment report, KPIs, record lineage.

Activation, experiment and KPI figures are counts and rates over all customers (no
person's attributes), read by Marketing, Data Governance and data scientists; lineage of
one golden record is for Data Governance and Privacy, who read every zone.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Path, Query

from c360.api.auth import ActorDep, WorkspaceDep, require_role
from c360.api.routers.profiles import require_visible
from c360.errors import C360Error, NotFoundError

router = APIRouter(prefix="/v1", tags=["insights"])


def finite(v: Any) -> Any:
    """NaN and infinities (an uplift with no outcomes yet) as null: JSON has no NaN."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [finite(x) for x in v]
    return v


AGGREGATES = ("marketing", "governance", "data_scientist", "admin")
LINEAGE = ("governance", "privacy", "admin")


@router.get("/activation/status", summary="Outbox by channel and status, dead letters, violations")
def activation_status(act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *AGGREGATES)
    s = ws.activation.status()
    # message ids and errors only: no customer id leaves through an aggregate endpoint
    for key in ("dead_letters", "blocked"):
        s[key] = [{k: v for k, v in r.items() if k != "golden_id"} for r in s[key]]
    return s


@router.get("/experiments/{experiment_id}/report", summary="Arms, SRM and uplift with 95% CI")
def experiment_report(
    act: ActorDep,
    ws: WorkspaceDep,
    experiment_id: str = Path(..., max_length=80),
    metric: str = Query("response", max_length=40),
) -> dict[str, Any]:
    require_role(act, *AGGREGATES)
    try:
        return finite(ws.experiments.report(experiment_id, metric=metric))
    except C360Error as exc:
        if exc.code == "experiments.unknown":
            raise NotFoundError("experiments.not_found", exc.message) from None
        raise


@router.get("/kpis", summary="Audience build time, identity quality, lift, consent, ROI")
def kpis(act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *AGGREGATES)
    from c360.kpi import compute

    return finite(compute(ws))


@router.get("/lineage/{golden_id}", summary="A golden record traced back to rows and files")
def lineage(golden_id: str, act: ActorDep, ws: WorkspaceDep) -> dict[str, Any]:
    require_role(act, *LINEAGE)
    require_visible(ws, act, golden_id)
    node = ws.governance.tracer.golden(golden_id)
    return node.to_dict()
