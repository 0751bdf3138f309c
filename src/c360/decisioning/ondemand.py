"""Next-best-action on request: one customer, in an interactive context, and its outcome.

``recommend`` runs the same agent as the batch (``decide``) for one golden record: the
triggers are evaluated for that id only; when one fires it is the decision's trigger,
otherwise the *context* (e.g. ``agent_desktop``: the customer is talking to an agent) is.
The decision is logged with every step like any other. A decision the agent would have
queued for a channel is ``offered`` instead: a person presents it in the conversation, so
nothing goes to the outbox. Holdout, HITL and ``no_action`` keep their meaning.

``record_outcome`` stores the person's answer (``accepted`` / ``declined``) once per
decision, as an experiment outcome (metric ``response``; the capture key is derived from
the decision id, so a second answer is refused, never counted twice) and in the audit
log; :meth:`DecisionLog.get` shows it with the decision.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb
from sqlalchemy import func, select

from c360.decisioning.tables import decisions
from c360.decisioning.triggers import Firing
from c360.errors import C360Error, NotFoundError
from c360.experiments.tables import outcomes

if TYPE_CHECKING:
    from c360.decisioning.service import DecisioningService

# interactive contexts: name → what it means (the decision's trigger when no rule fires)
CONTEXTS = {
    "agent_desktop": "The customer is in contact with an agent (agent-assisted conversation).",
    "branch_visit": "The customer is at a branch with an adviser.",
}
OFFERED = "offered"
OUTCOMES = ("accepted", "declined")
OUTCOME_METRIC = "response"


def _now_us() -> int:
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def capture_key(decision_id: str) -> str:
    return hashlib.sha256(f"decision|{decision_id}|{OUTCOME_METRIC}".encode()).hexdigest()


class OnDemand:
    def __init__(self, svc: DecisioningService) -> None:
        self.svc = svc

    def recommend(
        self,
        golden_id: str,
        context: str = "agent_desktop",
        *,
        actor: str = "system",
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Run the agent for one customer in ``context``; returns the logged decision."""
        if context not in CONTEXTS:
            raise C360Error(
                "decisioning.unknown_context",
                f"no context {context!r}",
                {"contexts": sorted(CONTEXTS)},
                http_status=422,
            )
        svc = self.svc
        as_of = svc.data_as_of()
        at = at or datetime.now(UTC)
        con = duckdb.connect()
        try:
            ctx, fired = svc._fire(con, as_of, [golden_id])
            rows = svc.agent.context_rows(con, ctx.view, ctx.columns, [golden_id])
        finally:
            con.close()
        if golden_id not in rows:
            raise NotFoundError("decisioning.unknown_customer", f"no customer {golden_id}")
        if fired:
            firing = fired[0]
            firing.evidence = {**firing.evidence, "context": context}
        else:
            weight = svc.settings.context_weights.get(context, 1.0)
            firing = Firing(golden_id, context, weight, {"context": context})
        with svc.ws.store.engine.connect() as conn:
            used: dict[str, int] = dict(
                conn.execute(
                    select(decisions.c.chosen_action, func.count())
                    .where(decisions.c.status.in_(["queued", "hitl", "held_out", OFFERED]))
                    .group_by(decisions.c.chosen_action)
                ).all()
            )
        r = svc.agent.decide(
            firing, rows[golden_id], as_of=as_of, at=at, run_id=f"ondemand:{context}", used=used
        )
        d = r["decision"]
        if d["status"] == "queued":
            d["status"] = OFFERED
            d["rationale"] += f" Offered in context {context}: a person presents it."
            r.pop("message", None)
        svc.agent.write([r])
        svc.audit(
            actor,
            "decisioning.recommend",
            d["decision_id"],
            {"context": context, "status": d["status"], "action": d["chosen_action"]},
        )
        return svc.log.get(d["decision_id"])

    def outcome(self, decision_id: str) -> dict[str, Any] | None:
        with self.svc.ws.store.engine.connect() as conn:
            row = (
                conn.execute(
                    select(outcomes).where(outcomes.c.capture_key == capture_key(decision_id))
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        detail = dict(row["detail"] or {})
        return {
            "outcome": detail.get("outcome"),
            "by": detail.get("by"),
            "note": detail.get("note"),
            "observed_at_us": row["observed_at_us"],
            "source": row["source"],
        }

    def record_outcome(
        self,
        decision_id: str,
        outcome: str,
        *,
        actor: str,
        source: str = "api",
        note: str | None = None,
    ) -> dict[str, Any]:
        """Record the answer to an offered decision (once); returns the decision with it."""
        if outcome not in OUTCOMES:
            raise C360Error(
                "decisioning.bad_outcome",
                f"outcome must be one of {', '.join(OUTCOMES)}",
                http_status=422,
            )
        d = self.svc.log.get(decision_id)
        if d["status"] != OFFERED:
            raise C360Error(
                "decisioning.not_offered",
                f"decision {decision_id} is {d['status']}, not offered: there is nothing to answer",
                http_status=409,
            )
        with self.svc.ws.store.begin() as conn:
            have = conn.execute(
                select(func.count())
                .select_from(outcomes)
                .where(outcomes.c.capture_key == capture_key(decision_id))
            ).scalar_one()
            if have:
                raise C360Error(
                    "decisioning.outcome_recorded",
                    f"decision {decision_id} already has an outcome",
                    http_status=409,
                )
            conn.execute(
                outcomes.insert(),
                [
                    {
                        "capture_key": capture_key(decision_id),
                        "experiment_id": d["experiment"] or "nba",
                        "golden_id": d["golden_id"],
                        "metric": OUTCOME_METRIC,
                        "value": 1.0 if outcome == "accepted" else 0.0,
                        "observed_at_us": _now_us(),
                        "source": source,
                        "detail": {
                            "decision_id": decision_id,
                            "action": d["chosen_action"],
                            "outcome": outcome,
                            "by": actor,
                            "note": note,
                        },
                    }
                ],
            )
        self.svc.audit(
            actor,
            f"decisioning.outcome.{outcome}",
            decision_id,
            {"action": d["chosen_action"], "source": source},
        )
        return self.svc.log.get(decision_id)
