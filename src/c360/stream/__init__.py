"""Streaming intake: events to the consent ledger at once, to identity, features and the
events zone in micro-batches. See docs/streaming.md.

``StreamService(ws)`` is the façade the CLI and the API use.
"""

from c360.stream.service import StreamService

__all__ = ["StreamService"]
