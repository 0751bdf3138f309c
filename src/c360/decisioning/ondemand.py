"""Next-best-action on request: one customer, in an interactive context, and its outcome.

``recommend`` runs the same agent as the batch (``decide``) for one golden record: the
triggers are evaluated for that id only; when one fires it is the decision's trigger,
otherwise the *context* (e.g. ``agent_desktop``: the customer is talking to an agent) is.
The decision is logged with every step like any other. A decision the agent would have
queued for a channel is ``offered`` instead: a person presents it in the conversation, so
nothing goes to the outbox. Holdout, HITL and ``no_action`` keep their meaning.

The customer context (features, scores, trigger booleans, eligibility per action) comes
from the lakehouse, which changes only when a run or an ingest writes it; it is built once
for all customers and kept until the store records a newer run or batch, so a request
costs the agent's live steps only: the consent gate's point checks (consent and
suppressions are always read live), contact policy and the logged write.

``record_outcome`` stores the person's answer (``accepted`` / ``declined``) once per
decision, as an experiment outcome (metric ``response``; the capture key is derived from
the decision id, so a second answer is refused, never counted twice) and in the audit
log; :meth:`DecisionLog.get` shows it with the decision.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from c360.decisioning.tables import decisions
from c360.decisioning.triggers import Firing
from c360.errors import C360Error, NotFoundError
from c360.experiments import outcomes
from c360.store.schema import ingest_batches, runs

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


@dataclass
class _Snapshot:
    key: tuple[Any, ...]
    as_of: date
    rows: pa.Table  # the context with one eligibility column per action
    index: dict[str, int]
    fired: dict[str, Firing]
    # rows already converted to Python (a one-row Arrow slice costs ~1 ms per request)
    _dicts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def row(self, golden_id: str) -> dict[str, Any] | None:
        """The customer's context row (a shallow copy: the caller may add keys)."""
        hit = self._dicts.get(golden_id)
        if hit is None:
            i = self.index.get(golden_id)
            if i is None:
                return None
            hit = self._dicts[golden_id] = self.rows.slice(i, 1).to_pylist()[0]
        return dict(hit)


# one round trip per request: runs (count, last start, last finish) and ingest batches
# (count, last finish)
_DATA_KEY = select(
    select(func.count()).select_from(runs).scalar_subquery(),
    select(func.max(runs.c.started_at)).scalar_subquery(),
    select(func.max(runs.c.finished_at)).scalar_subquery(),
    select(func.count()).select_from(ingest_batches).scalar_subquery(),
    select(func.max(ingest_batches.c.finished_at)).scalar_subquery(),
)


def capture_key(decision_id: str) -> str:
    return hashlib.sha256(f"decision|{decision_id}|{OUTCOME_METRIC}".encode()).hexdigest()


class OnDemand:
    def __init__(self, svc: DecisioningService) -> None:
        self.svc = svc
        self._snap: _Snapshot | None = None
        self._lock = threading.Lock()

    def _data_key(self) -> tuple[Any, ...]:
        """Changes whenever a run or an ingest batch may have rewritten the lakehouse."""
        with self.svc.ws.store.engine.connect() as conn:
            return tuple(conn.execute(_DATA_KEY).one())

    def snapshot(self) -> _Snapshot:
        """Every customer's context, trigger firings and eligibility, as of the data."""
        key = self._data_key()
        with self._lock:
            if self._snap is not None and self._snap.key == key:
                return self._snap
            as_of = self.svc.data_as_of()
            rows, fired = self.svc.context_snapshot(as_of)
            index = {g: i for i, g in enumerate(rows.column("golden_id").to_pylist())}
            self._snap = _Snapshot(key, as_of, rows, index, {f.golden_id: f for f in fired})
            return self._snap

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
        at = at or datetime.now(UTC)
        snap = self.snapshot()
        row = snap.row(golden_id)
        if row is None:
            raise NotFoundError("decisioning.unknown_customer", f"no customer {golden_id}")
        if golden_id in snap.fired:
            f = snap.fired[golden_id]
            firing = Firing(f.golden_id, f.trigger, f.weight, {**f.evidence, "context": context})
            firing.also = list(f.also)
        else:
            weight = svc.settings.context_weights.get(context, 1.0)
            firing = Firing(golden_id, context, weight, {"context": context})
        # live capacity accounting, for the actions that have a capacity (an index scan)
        capped = [a.id for a in svc.catalogue.actions if a.capacity is not None]
        used: dict[str, int] = {}
        if capped:
            with svc.ws.store.engine.connect() as conn:
                used = dict(
                    conn.execute(
                        select(decisions.c.chosen_action, func.count())
                        .where(decisions.c.chosen_action.in_(capped))
                        .where(decisions.c.status.in_(["queued", "hitl", "held_out", OFFERED]))
                        .group_by(decisions.c.chosen_action)
                    ).all()
                )
        r = svc.agent.decide(
            firing, row, as_of=snap.as_of, at=at, run_id=f"ondemand:{context}", used=used
        )
        d = r["decision"]
        if d["status"] == "queued":
            d["status"] = OFFERED
            d["rationale"] += f" Offered in context {context}: a person presents it."
            r.pop("message", None)

        def audited(conn: Connection, _rows: list[dict[str, Any]]) -> None:
            # the decision and its audit entry commit together (one write transaction)
            svc.ws.audit.append(
                actor,
                "decisioning.recommend",
                d["decision_id"],
                {"context": context, "status": d["status"], "action": d["chosen_action"]},
                conn=conn,
            )

        svc.agent.write([r], extra=audited)
        return svc.log.written(r)

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
        try:
            self._insert_outcome(decision_id, d, outcome, actor, source, note)
        except IntegrityError:  # a concurrent answer won: the capture key is the primary key
            raise self._recorded(decision_id) from None
        self.svc.audit(
            actor,
            f"decisioning.outcome.{outcome}",
            decision_id,
            {"action": d["chosen_action"], "source": source},
        )
        return self.svc.log.get(decision_id)

    @staticmethod
    def _recorded(decision_id: str) -> C360Error:
        return C360Error(
            "decisioning.outcome_recorded",
            f"decision {decision_id} already has an outcome",
            http_status=409,
        )

    def _insert_outcome(
        self,
        decision_id: str,
        d: dict[str, Any],
        outcome: str,
        actor: str,
        source: str,
        note: str | None,
    ) -> None:
        with self.svc.ws.store.begin() as conn:
            have = conn.execute(
                select(func.count())
                .select_from(outcomes)
                .where(outcomes.c.capture_key == capture_key(decision_id))
            ).scalar_one()
            if have:
                raise self._recorded(decision_id)
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
