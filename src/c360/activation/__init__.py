"""Activation: the transactional outbox, channel adapters, idempotency, retries, dead letters.

Use it through the workspace: ``ws.activation.drain()``, ``ws.activation.status()``.
Peers write outbox rows with :func:`message_row` into :data:`outbox` in their own
transaction. See docs/decisioning.md.
"""

from c360.activation.lineage import delivery_node
from c360.activation.outbox import idempotency_key, message_row
from c360.activation.tables import deliveries, outbox

__all__ = ["deliveries", "delivery_node", "idempotency_key", "message_row", "outbox"]
