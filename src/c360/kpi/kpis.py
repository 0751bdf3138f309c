"""The KPIs a bank's sponsor asks for, computed from what the system logged.

Audience build time; identity precision and false-merge rate (against the synthetic
truth where it exists); engagement lift vs the holdout; consent violations (must be 0)
and the share of send attempts that passed the gate; cost, incremental value and
payback months from configured costs and the catalogue's action values.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from c360.activation import deliveries, outbox
from c360.decisioning import audience_builds
from c360.errors import C360Error

if TYPE_CHECKING:
    from c360.workspace import Workspace


def compute(ws: Workspace) -> dict[str, Any]:
    s = ws.decisioning.settings.kpi
    out: dict[str, Any] = {}
    with ws.store.engine.connect() as conn:
        secs = list(
            conn.execute(
                select(audience_builds.c.seconds).order_by(audience_builds.c.built_at_us)
            ).scalars()
        )
        att: dict[str, int] = dict(
            conn.execute(
                select(deliveries.c.outcome, func.count()).group_by(deliveries.c.outcome)
            ).all()
        )
        delivered = conn.execute(
            select(outbox.c.action_id, func.count())
            .where(outbox.c.status == "delivered")
            .group_by(outbox.c.action_id)
        ).all()
    out["audience_build_seconds"] = (
        {"builds": len(secs), "last": secs[-1], "median": statistics.median(secs)} if secs else None
    )
    truth = ws.truth_dir / "identity.csv"
    if truth.exists() and ws.lakehouse.exists("gold", "identity_links"):
        try:
            ev = ws.identity.evaluate(truth)
            ev = ev if isinstance(ev, dict) else ev.to_dict()
            out["identity"] = {
                k: ev.get(k) for k in ("precision", "recall", "false_merge_rate")
            } | {"labels": "synthetic truth"}
        except C360Error as exc:
            out["identity"] = {"error": exc.message}
    else:
        out["identity"] = {"labels": "none (steward-sampled labels needed)"}
    lift = None
    try:
        rep = ws.experiments.report("nba")
        if rep["units"]:
            row = rep["rows"][0]
            lift = {k: row[k] for k in ("uplift", "ci_low", "ci_high", "n_treatment", "n_control")}
            lift["srm_mismatch"] = rep["srm"]["mismatch"]
    except C360Error:
        pass
    out["engagement_lift"] = lift
    violations = len(ws.activation.violations())
    sent = att.get("delivered", 0)
    checked = sum(att.get(k, 0) for k in ("delivered", "blocked", "failed", "dead"))
    out["consent"] = {
        "violations": violations,
        "deliveries": sent,
        "blocked_at_send": att.get("blocked", 0),
        "deliveries_with_allowing_gate_pct": 100.0
        if sent and not violations
        else (None if not sent else 100.0 * (sent - violations) / sent),
        "attempts_passing_gate_pct": round(100.0 * (checked - att.get("blocked", 0)) / checked, 2)
        if checked
        else None,
    }
    cat = ws.decisioning.catalogue
    n_sent = sum(n for _, n in delivered)
    cost = sum(cat.get(a).cost * n for a, n in delivered if a in cat.ids)
    mean_value = (
        (sum(cat.get(a).value * n for a, n in delivered if a in cat.ids) / n_sent)
        if n_sent
        else 0.0
    )
    incremental = (
        (lift["uplift"] * lift["n_treatment"] * mean_value)
        if lift and lift["uplift"] == lift["uplift"]
        else 0.0
    )
    monthly_net = (incremental - cost) / s.months_per_report - s.platform_cost_monthly
    out["roi"] = {
        "messages_delivered": n_sent,
        "campaign_cost": round(cost, 2),
        "incremental_value": round(incremental, 2),
        "platform_cost_monthly": s.platform_cost_monthly,
        "one_off_cost": s.one_off_cost,
        "monthly_net": round(monthly_net, 2),
        "payback_months": round(s.one_off_cost / monthly_net, 1) if monthly_net > 0 else None,
        "basis": "incremental value = uplift × treated units × mean value of delivered actions",
    }
    out["stream"] = _stream(ws)
    return out


def _stream(ws: Workspace) -> dict[str, Any] | None:
    """Streaming freshness: lag, accept → applied and event → decision p50/p99 over the last hour."""
    from c360.stream import StreamService

    st = StreamService(ws).status()
    if not st["batches"]:
        return None
    keys = (
        "lag_events",
        "oldest_waiting_s",
        "freshness_p50_ms",
        "freshness_p99_ms",
        "decision_p50_ms",
        "decision_p99_ms",
    )
    return {k: st[k] for k in keys} | {"applied": st["applied"], "quarantined": st["quarantined"]}
