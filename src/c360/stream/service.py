"""``StreamService``: the streaming capability's façade (CLI and API call this)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from c360.stream.apply import BatchReport, apply_batch, recover
from c360.stream.intake import Intake, Outcome, decode
from c360.stream.loop import LoopReport, Stop, run_loop
from c360.stream.reconcile import Reconciliation, reconcile
from c360.stream.status import status

if TYPE_CHECKING:
    from c360.workspace import Workspace


class StreamService:
    """Intake, the micro-batch loop and its status for one workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @cached_property
    def intake(self) -> Intake:
        return Intake(self.ws)

    def collect(self, body: bytes, *, intake: str = "http") -> Outcome:
        """Accept a collector request body (one event, an array, or ``{"events": [...]}``)."""
        s = self.ws.config.stream
        items = decode(body, max_event_bytes=s.max_event_bytes, max_events=s.max_events_per_request)
        return self.intake.accept(items, intake=intake)

    def accept(self, events: list[dict[str, Any]], *, intake: str = "replay") -> Outcome:
        return self.intake.accept(list(events), intake=intake)

    def apply_once(self, batch_size: int | None = None) -> BatchReport | None:
        """Apply one micro-batch (under the write lock); None when the inbox is empty."""
        s = self.ws.config.stream
        with self.ws.write_lock("stream"):
            recover(self.ws)
            return apply_batch(
                self.ws, batch_size=batch_size or s.batch_size, gap_wait_s=s.gap_wait_seconds
            )

    def run(self, **kw: Any) -> LoopReport:
        return run_loop(self.ws, **kw)

    def reconcile(self) -> Reconciliation:
        """The streamed identity decisions against one batch pass over the events zone."""
        return reconcile(self.ws)

    def status(self, window_s: float = 3600.0) -> dict[str, Any]:
        return status(self.ws, window_s=window_s)


__all__ = ["Stop", "StreamService"]
