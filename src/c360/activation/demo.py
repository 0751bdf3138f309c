"""The value half of ``c360 demo``: audience → decisions → HITL → activation → outcomes → report → KPIs.

Runs after ``c360 run`` (whose decisioning stage evaluated the triggers and decided). A
local CRM receiver on 127.0.0.1 stands in for the CRM (tasks land in
``receivers/crm_tasks.jsonl``); e-mail goes to the CSV export; outcomes are simulated
from the synthetic world's truth; the experiment report and its chart go to
``reports/nba/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from c360.activation.receivers import LocalCrm
from c360.decisioning import decisions
from c360.kpi import compute
from c360.settings.decisioning import ChannelSettings

if TYPE_CHECKING:
    from c360.workspace import Workspace


def value_chain(ws: Workspace, *, seed: int = 42) -> dict[str, Any]:
    out: dict[str, Any] = {}
    svc = ws.decisioning
    aud = svc.audiences
    aud.create(
        "at_risk_email",
        "is_core_customer AND has_email AND logins_change_30d <= -0.30",
        "retention",
        "email",
        description="core customers whose digital logins fell by 30% or more",
    )
    out["audience"] = aud.build("at_risk_email").to_dict()
    with ws.store.engine.connect() as conn:
        out["decisions"] = dict(
            conn.execute(
                select(decisions.c.status, func.count()).group_by(decisions.c.status)
            ).all()
        )
    out["hitl_open"] = len(svc.hitl.list())
    crm = LocalCrm(ws.root / "receivers")
    try:
        s = svc.settings
        channels = dict(s.activation.channels)
        channels["agent_assisted"] = ChannelSettings(adapter="crm_rest", url=crm.url)
        svc.settings = s.model_copy(  # type: ignore[misc]
            update={"activation": s.activation.model_copy(update={"channels": channels})}
        )
        out["activation"] = ws.activation.drain(wait=True, max_seconds=120).to_dict()
        out["crm_tasks"] = len(crm.keys)
    finally:
        crm.close()
    out["outcomes"] = ws.experiments.simulate_outcomes("nba", seed=seed)
    rep = ws.experiments.report("nba", out=ws.root / "reports" / "nba")
    out["experiment"] = {
        "srm": rep["srm"],
        "overall": rep["rows"][0],
        "files": rep.get("files", []),
    }
    out["kpi"] = compute(ws)
    return out
