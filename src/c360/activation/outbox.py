"""The transactional outbox: a decision and its message are written in one transaction.

:func:`enqueue_rows` builds outbox rows the caller inserts in the same transaction as
the decision rows, so a decision is never lost without its message nor sent without
being logged. The idempotency key is derived from the decision, the action and the
channel: re-enqueueing the same decision is a no-op (unique key), and receivers
deduplicate on it, which turns at-least-once sending into exactly-once delivery.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

PENDING, DELIVERED, DEAD, BLOCKED = "pending", "delivered", "dead", "blocked"


def idempotency_key(decision_id: str, action_id: str, channel: str) -> str:
    return hashlib.sha256(f"{decision_id}|{action_id}|{channel}".encode()).hexdigest()


def message_row(
    *,
    decision_id: str,
    golden_id: str,
    action_id: str,
    channel: str,
    purpose: str,
    payload: dict[str, Any],
    now_us: int,
) -> dict[str, Any]:
    return {
        "message_id": uuid.uuid4().hex,
        "idempotency_key": idempotency_key(decision_id, action_id, channel),
        "decision_id": decision_id,
        "golden_id": golden_id,
        "action_id": action_id,
        "channel": channel,
        "purpose": purpose,
        "payload": payload,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at_us": now_us,
        "leased_until_us": None,
        "created_at_us": now_us,
        "updated_at_us": now_us,
        "last_error": None,
    }
