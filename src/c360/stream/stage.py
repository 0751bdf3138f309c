"""``c360 run``'s ``stream`` stage: the stream's identity stage, run batch-wise.

After the consent stage rebuilt the subject index from the identity run, the stage
puts the stream's earlier decisions back into it, takes the event files of
``landing/events/`` into the inbox (:mod:`.files`), applies everything waiting
there with the micro-batch code of ``c360 stream`` (deduplication, incremental
identity, online features, stream triggers, the events zone), and folds the stream's
identity decisions into ``gold.golden_customers`` (:mod:`.golden`). A day of events
streamed and the same day dropped in landing before a batch run thus give the same
golden records (docs/streaming.md, "Stream and batch").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from c360.consent.vocab import now_us
from c360.stream import golden, resolve
from c360.stream.apply import apply_batch, recover
from c360.stream.files import take_landing

if TYPE_CHECKING:
    from c360.ingest.report import Progress
    from c360.workspace import Workspace


def run(
    ws: Workspace, run_id: str | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    s = ws.config.stream
    with ws.store.begin() as conn:
        restored = resolve.restore_index(conn, now_us())
    files = take_landing(ws, run_id)
    recovered = recover(ws)
    summary: dict[str, Any] = {
        "restored_index_rows": restored,
        **{f"landing_{k}": v for k, v in files.items()},
        "recovered": len(recovered),
        "batches": 0,
        "applied": 0,
        "duplicates": 0,
        "quarantined": 0,
        "identity": {},
    }
    while (
        b := apply_batch(ws, batch_size=s.batch_size, gap_wait_s=s.gap_wait_seconds)
    ) is not None:
        summary["batches"] += 1
        summary["applied"] += b.applied
        summary["duplicates"] += b.duplicates
        summary["quarantined"] += b.quarantined
        for k, v in b.identity.items():
            summary["identity"][k] = summary["identity"].get(k, 0) + v
        if progress is not None:
            progress("stream:apply", summary["batches"], summary["batches"])
    folded = golden.fold(ws, run_id or "stream")
    summary["golden_changed"] = folded["golden_changed"]
    return summary
