"""Lineage hops from an activation back to its origin, for ``c360 lineage trace --delivery``.

    delivery(message_id) → decision(decision_id)        via store outbox / deliveries
    decision             → golden(golden_id), gate decision, model and policy versions
    golden               → source records → rows → batches → landing files (governance)

Nodes carry ids and versions only, never attribute values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from c360.activation.tables import deliveries, outbox
from c360.decisioning import decisions
from c360.governance import Node, register_hop

if TYPE_CHECKING:
    from c360.workspace import Workspace


def _delivery(ws: Workspace, node: Node) -> list[Node]:
    with ws.store.engine.connect() as conn:
        m = conn.execute(select(outbox).where(outbox.c.message_id == node.id)).mappings().first()
        if m is None:
            return []
        last = conn.execute(
            select(deliveries.c.outcome, deliveries.c.gate_decision_id, deliveries.c.at_us)
            .where(deliveries.c.message_id == node.id)
            .order_by(deliveries.c.at_us.desc())
        ).first()
    node.data.update(channel=m["channel"], status=m["status"], attempts=m["attempts"])
    if last is not None:
        node.data.update(gate_decision_at_send=last[1], last_outcome=last[0])
    return [Node("decision", m["decision_id"])]


def _decision(ws: Workspace, node: Node) -> list[Node]:
    with ws.store.engine.connect() as conn:
        d = (
            conn.execute(select(decisions).where(decisions.c.decision_id == node.id))
            .mappings()
            .first()
        )
    if d is None:
        return []
    node.data.update(
        trigger=d["trigger"],
        action=d["chosen_action"],
        feature_hash=d["feature_hash"],
        models=d["models"],
        consent_decision_id=d["consent_decision_id"],
        policy_versions=d["policy_versions"],
        run_id=d["run_id"],
    )
    return [Node("golden", d["golden_id"])]


register_hop("delivery", _delivery)
register_hop("decision", _decision)


def delivery_node(message_id: str) -> Node:
    return Node("delivery", message_id)
