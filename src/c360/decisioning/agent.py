"""The next-best-action agent: a deterministic flow of logged tool calls per customer.

For each firing: ``load_golden_record`` → ``scores`` → ``candidates`` → ``eligibility``
(hard rules, compiled to SQL and evaluated for the whole batch) → ``consent_gate`` (the
point form, per candidate purpose and channel) → ``priority`` (propensity × context
weight × value × business lever) → ``contact_policy`` (the gate's activation checks:
caps and cool-downs) → optional ``llm`` (rationale, or a choice among the allowed) →
``suitability`` (minor, senior, protected → HITL) → ``experiment_arm`` → decision.
Each call is recorded with its input, output and duration. Scores that do not exist are
never invented: the propensity term is then 1 and the decision says the score was
unavailable. A queued decision and its outbox message are one transaction.

The steps live where they can be read alone: :mod:`~c360.decisioning.arbitration`
(consent per candidate, priority, contact policy, suitability),
:mod:`~c360.decisioning.steps` (the tool-call log) and :mod:`~c360.decisioning.records`
(payload and the one-transaction write); this module is the flow.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from c360.activation import message_row
from c360.decisioning import arbitration, rationale, records
from c360.decisioning.catalogue import NO_ACTION, Action
from c360.decisioning.filters import compile_filter
from c360.decisioning.hitl import task_row
from c360.decisioning.llm import Reasoner
from c360.decisioning.records import EXPERIMENT
from c360.decisioning.steps import Steps, _now_us, feature_hash
from c360.decisioning.triggers import STREAM_COLUMNS, Firing
from c360.engine import Engine
from c360.experiments import assign

if TYPE_CHECKING:
    from c360.decisioning.service import DecisioningService


class Agent:
    def __init__(self, svc: DecisioningService) -> None:
        self.svc = svc

    # ------------------------------------------------------------------ batch preparation
    def context_rows(
        self, con: Engine, view: str, columns: list[str], ids: list[str]
    ) -> dict[str, dict[str, Any]]:
        """Context rows of ``ids`` with one eligibility boolean per action (``_e_<id>``)."""
        rows = self.context_rows_table(con, view, columns, ids).to_pylist()
        return {r["golden_id"]: r for r in rows}

    def context_rows_table(
        self, con: Engine, view: str, columns: list[str], ids: list[str]
    ) -> pa.Table:
        """:meth:`context_rows` as an Arrow table (one row per id found)."""
        cat = self.svc.catalogue
        sel: list[Any] = [exp.Star()]
        for a in cat.actions:
            cond = compile_filter(a.eligibility, set(columns), what=f"action {a.id} eligibility")
            sel.append(
                exp.alias_(
                    exp.func("coalesce", exp.paren(cond), exp.false()), f"_e_{a.id}", quoted=True
                )
            )
        con.register("_agent_ids", pa.table({"golden_id": pa.array(ids, pa.string())}))
        q = (
            exp.select(*sel)
            .from_(exp.to_table(view))
            .where(exp.column("golden_id").isin(exp.select("golden_id").from_("_agent_ids")))
        )
        return con.query(q)

    # ------------------------------------------------------------------ one decision
    def decide(
        self,
        firing: Firing,
        row: dict[str, Any],
        *,
        as_of: date,
        at: datetime,
        run_id: str | None,
        used: dict[str, int],
    ) -> dict[str, Any]:
        """Decide for one firing; returns the rows to write (decision, task, message, assignment)."""
        s = self.svc.settings
        cat = self.svc.catalogue
        gate = self.svc.ws.consent
        g = firing.golden_id
        steps = Steps()
        features = {k: v for k, v in row.items() if not k.startswith("_e_")}
        fhash = feature_hash(features)
        streamed = {k: row[k] for k in STREAM_COLUMNS if k in row}
        profile = steps.call(
            "load_golden_record",
            {"golden_id": g, "as_of": as_of.isoformat()},
            lambda: {
                "feature_hash": fhash,
                "age": row.get("age"),
                "is_core_customer": row.get("is_core_customer"),
                "suppression_flags": row.get("suppression_flags") or [],
                # a decision from the stream also read the stream's counters
                **({"stream": streamed} if streamed else {}),
            },
        )
        cands = [a for a in cat.actions if a.answers(firing.trigger) and a.valid_on(as_of)]
        score_cols = {a.score: row.get(f"score_{a.score}") for a in cands if a.score}
        scores = steps.call(
            "scores",
            {"models": sorted(score_cols)},
            lambda: {
                m: (round(v, 6) if v is not None else "unavailable") for m, v in score_cols.items()
            },
        )
        missing = sorted(m for m, v in scores.items() if v == "unavailable")
        steps.call("candidates", {"trigger": firing.trigger}, lambda: [a.id for a in cands])
        evaluated: list[dict[str, Any]] = []
        for a in cands:
            c: dict[str, Any] = {"action": a.id, "purpose": a.purpose, "reasons": []}
            if not row.get(f"_e_{a.id}"):
                c["reasons"].append(f"eligibility: {a.eligibility}")
            if a.capacity is not None and used.get(a.id, 0) >= a.capacity:
                c["reasons"].append("capacity")
            evaluated.append(c)
        steps.call(
            "eligibility",
            {"rules": {a.id: a.eligibility for a in cands}},
            lambda: {c["action"]: not c["reasons"] for c in evaluated},
        )
        checked: list[Any] = []
        steps.call(
            "consent_gate",
            {"golden_id": g, "at": at.isoformat()},
            lambda: arbitration.consent(
                gate, g, at, cands, evaluated, s.activation.channels, checked
            ),
        )
        last_gate = checked[-1] if checked else None
        ranked = arbitration.prioritise(s, firing, cands, evaluated, scores)
        steps.call(
            "priority",
            {"formula": "propensity × context weight × value × lever"},
            lambda: [{"action": c["action"], "priority": round(c["priority"], 6)} for c in ranked],
        )
        steps.call(
            "contact_policy",
            {"checks": "caps, cool-downs"},
            lambda: arbitration.contact_policy(gate, g, at, ranked),
        )
        allowed = [c for c in ranked if not c["reasons"]]
        chosen = allowed[0] if allowed else next(c for c in evaluated if c["action"] == NO_ACTION)
        llm_exchange = None
        llm_text = None
        reasoner = Reasoner(s.llm)
        if reasoner.enabled and allowed:
            offer = [
                {
                    "action": c["action"],
                    "description": cat.get(c["action"]).description,
                    "priority": round(c["priority"], 4),
                }
                for c in allowed
            ]
            adv = steps.call(
                "llm",
                {"allowed": [o["action"] for o in offer]},
                lambda: reasoner.advise({"trigger": firing.trigger, **firing.evidence}, offer),
            )
            steps.calls[-1]["output"] = adv.exchange.get("kept")
            llm_exchange, llm_text = adv.exchange, adv.rationale
            if adv.action:
                chosen = next(c for c in allowed if c["action"] == adv.action)
        # suitability: sensitive customers go to a human, whatever the proposal
        route = self._route(
            row,
            cat.get(chosen["action"]) if chosen["action"] != NO_ACTION else None,
            chosen.get("gate"),
            last_gate,
        )
        steps.call(
            "suitability",
            {
                "minor_age": s.minor_age,
                "senior_age": s.senior_age,
                "protected": s.protected_segments,
            },
            lambda: route or "automatic",
        )
        arm, bucket = assign(s.experiment_salt, g, s.holdout_share)
        steps.call(
            "experiment_arm",
            {"experiment": EXPERIMENT},
            lambda: {"arm": arm, "bucket": round(bucket, 6)},
        )
        if route:
            status = "hitl"
        elif chosen["action"] == NO_ACTION:
            status = "no_action"
        elif arm == "holdout":
            status = "held_out"
        else:
            status = "queued"
        if chosen["action"] != NO_ACTION and status in ("queued", "hitl", "held_out"):
            used[chosen["action"]] = used.get(chosen["action"], 0) + 1
        rejected = [
            {"action": c["action"], "reasons": c["reasons"]} for c in evaluated if c["reasons"]
        ]
        note = (
            f"Scores unavailable ({', '.join(missing)}): priority uses value × weight × lever only."
            if missing
            else None
        )
        text = rationale.build(
            firing.trigger,
            self.svc.describe(firing.trigger),
            firing.evidence,
            chosen,
            rejected,
            status,
            route,
            note,
        )
        if llm_text:
            text = f"{text} Reasoner: {llm_text}"
        gd = chosen.get("gate") or last_gate
        decision_id = uuid.uuid4().hex
        now = _now_us()
        drow = {
            "decision_id": decision_id,
            "golden_id": g,
            "trigger": firing.trigger,
            "trigger_evidence": {**firing.evidence, "also": firing.also},
            "as_of": as_of.isoformat(),
            "decided_at_us": now,
            "feature_hash": fhash,
            "models": [
                {"name": m, "version": None, "status": "unavailable" if m in missing else "scored"}
                for m in sorted(scores)
            ],
            "consent_decision_id": gd.decision_id if gd else None,
            "consent_allowed": bool(gd and gd.allowed),
            "consent_reasons": list(gd.reasons) if gd else ["gate.not_checked"],
            "candidates": [{k: v for k, v in c.items() if k != "gate"} for c in evaluated],
            "chosen_action": chosen["action"],
            "purpose": chosen.get("purpose") if chosen["action"] != NO_ACTION else None,
            "channel": chosen.get("channel"),
            "status": status,
            "rationale": text,
            "llm": llm_exchange,
            "experiment": EXPERIMENT,
            "arm": arm,
            "policy_versions": {
                "catalogue": cat.version_id,
                "consent": gd.policy_version if gd else None,
                "triggers": self.svc.triggers_version,
            },
            "steps": steps.calls,
            "run_id": run_id,
        }
        out: dict[str, Any] = {
            "decision": drow,
            "profile": profile,
            "assignment": {
                "experiment_id": EXPERIMENT,
                "golden_id": g,
                "arm": arm,
                "bucket": bucket,
                "covariate": row.get("deposit_balance"),
                "decision_id": decision_id,
                "assigned_at_us": now,
            },
        }
        if status == "hitl":
            out["task"] = task_row(decision_id, g, chosen["action"], chosen.get("channel"), route)
        if status == "queued":
            out["message"] = message_row(
                decision_id=decision_id,
                golden_id=g,
                action_id=chosen["action"],
                channel=chosen["channel"],
                purpose=chosen["purpose"],
                payload=self.payload(drow),
                now_us=now,
            )
        return out

    def _route(self, row: dict[str, Any], action: Action | None, gd: Any, last: Any) -> list[str]:
        return arbitration.route(self.svc.settings, row, action, gd, last)

    def payload(self, d: dict[str, Any]) -> dict[str, Any]:
        """What a channel receives: ids and the offer, never the customer's raw attributes."""
        return records.payload(self.svc.catalogue, d)

    # ------------------------------------------------------------------ write
    def write(self, results: list[dict[str, Any]], *, extra: Any = None) -> None:
        """Decisions, HITL tasks, outbox messages and assignments (and ``extra(conn,
        decisions)``, a caller's own rows): one transaction."""
        records.write(self.svc.ws.store, self.svc.settings, results, extra=extra)
