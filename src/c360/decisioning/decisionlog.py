"""The decision log: every decision (and every "no action") with its evidence.

Rows are append-only in ``decisions``; ``get`` adds the HITL outcome and the outbox /
delivery state by join, ``explain`` renders the evidence as text for a person.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, select

from c360.activation import deliveries, outbox
from c360.decisioning.hitl import outcome_of
from c360.decisioning.tables import decisions
from c360.errors import C360Error

if TYPE_CHECKING:
    from c360.decisioning.service import DecisioningService


#: an outbox message's fields a decision's answer shows
MESSAGE_FIELDS = ("message_id", "idempotency_key", "channel", "status", "attempts", "last_error")


class DecisionLog:
    def __init__(self, svc: DecisioningService) -> None:
        self.svc = svc

    def get(self, decision_id: str) -> dict[str, Any]:
        with self.svc.ws.store.engine.connect() as conn:
            row = (
                conn.execute(select(decisions).where(decisions.c.decision_id == decision_id))
                .mappings()
                .first()
            )
            if row is None:
                raise C360Error("decisioning.unknown_decision", f"no decision {decision_id!r}")
            d = dict(row)
            d["hitl"] = outcome_of(conn, decision_id)
            d["outcome"] = self.svc.ondemand.outcome(decision_id)
            msgs = (
                conn.execute(select(outbox).where(outbox.c.decision_id == decision_id))
                .mappings()
                .all()
            )
            d["messages"] = [{k: m[k] for k in MESSAGE_FIELDS} for m in msgs]
            if msgs:
                att = (
                    conn.execute(
                        select(deliveries)
                        .where(deliveries.c.message_id.in_([m["message_id"] for m in msgs]))
                        .order_by(deliveries.c.at_us)
                    )
                    .mappings()
                    .all()
                )
                d["deliveries"] = [dict(a) for a in att]
            else:
                d["deliveries"] = []
        return d

    def written(self, result: dict[str, Any]) -> dict[str, Any]:
        """What :meth:`get` answers for a decision just written by ``agent.write([result])``,
        built from the rows written instead of read back (no outcome or delivery can exist
        yet; JSON columns go through JSON as they do in the store)."""
        d: dict[str, Any] = {}
        for c in decisions.columns:
            v = result["decision"].get(c.name)
            d[c.name] = (
                json.loads(json.dumps(v)) if isinstance(c.type, JSON) and v is not None else v
            )
        t = result.get("task")
        d["hitl"] = (
            None
            if t is None
            else {
                k: json.loads(json.dumps(t[k])) if k == "reasons" else t[k]
                for k in ("task_id", "status", "reasons", "decided_by", "decided_at_us", "note")
            }
        )
        d["outcome"] = None
        m = result.get("message")
        d["messages"] = [] if m is None else [{k: m[k] for k in MESSAGE_FIELDS}]
        d["deliveries"] = []
        return d

    def show(
        self, *, golden_id: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        q = select(
            decisions.c.decision_id,
            decisions.c.golden_id,
            decisions.c.trigger,
            decisions.c.chosen_action,
            decisions.c.channel,
            decisions.c.status,
            decisions.c.arm,
            decisions.c.decided_at_us,
        )
        if golden_id:
            q = q.where(decisions.c.golden_id == golden_id)
        if status:
            q = q.where(decisions.c.status == status)
        q = q.order_by(decisions.c.decided_at_us.desc()).limit(limit)
        with self.svc.ws.store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def explain(self, decision_id: str) -> str:
        d = self.get(decision_id)
        lines = [
            f"decision {d['decision_id']} for {d['golden_id']} as of {d['as_of']}: "
            f"{d['chosen_action']} ({d['status']}, arm {d['arm']})",
            f"trigger {d['trigger']}: {d['trigger_evidence']}",
            f"feature snapshot {d['feature_hash'][:16]}…; models {d['models']}",
            f"consent decision {d['consent_decision_id']}: allowed={d['consent_allowed']} {d['consent_reasons']}",
            "candidates:",
        ]
        for c in d["candidates"]:
            verdict = "allowed" if not c["reasons"] else "; ".join(c["reasons"])
            lines.append(f"  {c['action']:<24} priority {c.get('priority', 0):>10.4g}  {verdict}")
        lines.append("tool calls: " + " → ".join(f"{s['tool']} ({s['ms']} ms)" for s in d["steps"]))
        lines.append(f"rationale: {d['rationale']}")
        if d["llm"]:
            lines.append(
                f"llm: kept {d['llm'].get('kept')}; rejected {d['llm'].get('rejected_action')}"
            )
        if d["outcome"]:
            o = d["outcome"]
            lines.append(f"outcome: {o['outcome']} by {o['by']} ({o['source']})")
        if d["hitl"]:
            lines.append(
                f"hitl: {d['hitl']['status']} {d['hitl']['reasons']} by {d['hitl']['decided_by']}"
            )
        for m in d["messages"]:
            lines.append(
                f"message {m['message_id']} → {m['channel']}: {m['status']} after {m['attempts']} attempt(s)"
            )
        lines.append(f"policy versions: {d['policy_versions']}")
        return "\n".join(lines)
