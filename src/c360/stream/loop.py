"""``c360 stream``: the micro-batch loop.

Each turn: take what NATS has (if configured) into the inbox, then apply the next
batch of the inbox under the workspace write lock (one writer per workspace), and
report it. When a turn finds less than a full batch the loop waits what is left of
``interval_seconds`` since the turn began (NATS's fetch is the wait when it is
configured), so a turn starts at most every interval and a slow batch is followed at
once. The batches' events-zone rows are written together every ``stream.lake_every_seconds`` (ADR
0064). The loop reports the seconds it spent per phase (:attr:`LoopReport.phases`). SIGTERM and
SIGINT finish the current batch and stop; a SIGKILL at any point is recovered on
the next start (:func:`c360.stream.apply.recover`).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from c360.consent.tables import consent_index_meta
from c360.consent.vocab import now_us
from c360.errors import C360Error
from c360.stream import decide, golden, memory, resolve
from c360.stream.apply import BatchReport, LakeRows, apply_batch, flush_lake, recover
from c360.stream.intake import Intake

log = logging.getLogger("c360.stream")

if TYPE_CHECKING:
    from c360.settings.stream import NatsSettings
    from c360.workspace import Workspace


@dataclass
class LoopReport:
    batches: int = 0
    events: int = 0
    applied: int = 0
    duplicates: int = 0
    quarantined: int = 0
    received_nats: int = 0
    landing_batches: int = 0
    landing_event_files: int = 0
    golden_folds: int = 0
    lake_commits: int = 0
    recovered: list[str] = field(default_factory=list)
    stopped_by: str = "idle"
    seconds: float = 0.0
    #: seconds spent per phase, summed over the run (the batch's phases, the golden fold,
    #: the audit entries, memory trims, waits), and the longest single occurrence of each
    phases: dict[str, float] = field(default_factory=dict)
    phase_max: dict[str, float] = field(default_factory=dict)

    def charge(self, name: str, seconds: float) -> None:
        self.phases[name] = round(self.phases.get(name, 0.0) + seconds, 4)
        self.phase_max[name] = round(max(self.phase_max.get(name, 0.0), seconds), 4)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Stop:
    """A stop flag set by SIGTERM/SIGINT (or by a caller)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason = ""

    def set(self, reason: str) -> None:
        self.reason = reason
        self.event.set()

    def __bool__(self) -> bool:
        return self.event.is_set()

    def wait(self, seconds: float) -> None:
        self.event.wait(seconds)


def run_loop(
    ws: Workspace,
    *,
    interval: float | None = None,
    batch_size: int | None = None,
    nats: NatsSettings | None = None,
    until_idle: bool = False,
    max_seconds: float | None = None,
    on_batch: Callable[[BatchReport], None] | None = None,
    stop: Stop | None = None,
    install_signals: bool = True,
    landing_poll: float | None = None,
) -> LoopReport:
    """Run micro-batches until stopped (or, with ``until_idle``, until nothing is left)."""
    s = ws.config.stream
    interval = s.interval_seconds if interval is None else interval
    batch_size = batch_size or s.batch_size
    nats = nats or s.nats
    landing_poll = landing_poll or s.landing_poll_seconds
    next_landing = time.monotonic()
    stop = stop or Stop()
    report = LoopReport()
    t0 = time.monotonic()
    previous: dict[Any, Any] = {}
    if install_signals and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda n, _f: stop.set(signal.Signals(n).name))
    intake = Intake(ws)
    memory.bound()
    next_trim = time.monotonic() + memory.TRIM_EVERY_S
    consumer = None
    index_stamp: list[int | None] = [None]
    unfolded = False  # batches applied since the last fold into gold.golden_customers
    # decisions up to this time are folded (this process), leaving the table at this version
    fold_mark: list[int | None] = [None, None]
    lake: list[LakeRows] = []  # batches applied in the store, their lake rows not written
    lake_since = 0.0
    next_fold = time.monotonic() + s.golden_every_seconds
    try:
        with ws.write_lock("stream"):
            report.recovered = recover(ws)
        t = time.perf_counter()
        decide.warm(ws)
        # the first fold recomputes every golden record the stream touched (a previous
        # process may have been killed before folding); do it before events arrive, so
        # the folds under load are the incremental ones
        _fold(ws, report, fold_mark)
        report.charge("warm_up", time.perf_counter() - t)
        ws.audit.append(
            "stream",
            "stream.start",
            "stream",
            {"recovered": len(report.recovered), "warm_up_s": round(time.perf_counter() - t, 3)},
        )
        if nats is not None:
            from c360.stream.jetstream import JetStreamIntake

            consumer = JetStreamIntake(ws, nats, intake)
            consumer.connect()
        while not stop:
            turn = time.monotonic()
            if landing_poll is not None and time.monotonic() >= next_landing:
                t = time.perf_counter()
                report.landing_batches += _poll_landing(ws)
                report.landing_event_files += _poll_event_files(ws)
                next_landing = time.monotonic() + landing_poll
                report.charge("landing", time.perf_counter() - t)
            t = time.perf_counter()
            got = consumer.poll(batch_size, interval) if consumer is not None else 0
            report.received_nats += got
            if consumer is not None:
                report.charge("nats", time.perf_counter() - t)
            t = time.perf_counter()
            with ws.write_lock("stream"):
                report.charge("lock", time.perf_counter() - t)
                t = time.perf_counter()
                _restore_index_if_refreshed(ws, index_stamp)
                report.charge("index_check", time.perf_counter() - t)
                batch = apply_batch(
                    ws, batch_size=batch_size, gap_wait_s=s.gap_wait_seconds, defer_lake=lake
                )
            if batch is not None:
                for name, sec in batch.phases.items():
                    report.charge(name, sec)
                t = time.perf_counter()
                ws.audit.append(
                    "stream",
                    "stream.batch",
                    batch.batch_id,
                    {
                        k: getattr(batch, k)
                        for k in ("events", "applied", "duplicates", "quarantined", "lag_events")
                    },
                )
                report.charge("audit", time.perf_counter() - t)
                report.batches += 1
                report.events += batch.events
                report.applied += batch.applied
                report.duplicates += batch.duplicates
                report.quarantined += batch.quarantined
                if on_batch:
                    on_batch(batch)
            if max_seconds is not None and time.monotonic() - t0 >= max_seconds:
                stop.set("max_seconds")
                break
            idle = batch is None and got == 0
            if lake and len(lake) == 1 and batch is not None:
                lake_since = time.monotonic()
            if lake and (
                idle
                or time.monotonic() - lake_since >= s.lake_every_seconds
                or sum(b.events for b in lake) >= s.lake_max_events
            ):
                _flush(ws, report, lake)
            unfolded = unfolded or batch is not None
            if unfolded and (idle or time.monotonic() >= next_fold):
                t = time.perf_counter()
                _fold(ws, report, fold_mark)
                report.charge("golden_fold", time.perf_counter() - t)
                unfolded, next_fold = False, time.monotonic() + s.golden_every_seconds
                next_trim = 0.0
            if time.monotonic() >= next_trim:
                t = time.perf_counter()
                memory.trim()
                report.charge("memory_trim", time.perf_counter() - t)
                next_trim = time.monotonic() + memory.TRIM_EVERY_S
            if idle and until_idle:
                stop.set("idle")
                break
            if consumer is None and (batch is None or batch.events < batch_size):
                # a turn starts at most every `interval`: a batch that took longer is
                # followed at once by the next (which takes what arrived meanwhile)
                t = time.perf_counter()
                stop.wait(max(0.0, interval - (time.monotonic() - turn)))
                report.charge("idle_wait", time.perf_counter() - t)
        report.stopped_by = stop.reason or "stopped"
        _flush(ws, report, lake)
        if unfolded:
            _fold(ws, report, fold_mark)
    finally:
        if consumer is not None:
            consumer.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    report.seconds = round(time.monotonic() - t0, 3)
    ws.audit.append(
        "stream",
        "stream.loop",
        "stream",
        {k: v for k, v in report.to_dict().items() if k != "recovered"},
    )
    return report


def _flush(ws: Workspace, report: LoopReport, lake: list[LakeRows]) -> None:
    """Write the events zone for the batches applied since the last flush."""
    if not lake:
        return
    t = time.perf_counter()
    with ws.write_lock("stream"):
        report.lake_commits += 1
        flush_lake(ws, lake)
    report.charge("lake", time.perf_counter() - t)


def _poll_landing(ws: Workspace) -> int:
    """Load landing files that arrived since the last poll (the batch ingest, as
    ``c360 ingest`` runs it); a failing source is logged and the loop goes on."""
    try:
        report = ws.ingest()
    except C360Error as exc:
        log.warning("landing poll failed: %s", exc)
        return 0
    return len(report.batches())


def _fold(ws: Workspace, report: LoopReport, mark: list[int | None]) -> None:
    """Write the stream's identity decisions into gold.golden_customers (idempotent): all
    of them the first time, then those recorded since the previous fold."""
    try:
        with ws.write_lock("stream"):
            done = golden.fold(ws, since_us=mark[0], since_version=mark[1])
            mark[0], mark[1] = done["watermark_us"], done["version"]
        report.golden_folds += 1
    except C360Error as exc:
        log.warning("golden records not updated yet: %s", exc)


def _poll_event_files(ws: Workspace) -> int:
    """Take the event files that arrived in landing/events/ into the inbox."""
    from c360.stream.files import take_landing

    try:
        with ws.write_lock("stream"):
            return take_landing(ws)["files"]
    except C360Error as exc:
        log.warning("landing event files not taken: %s", exc)
        return 0


def _restore_index_if_refreshed(ws: Workspace, stamp: list[int | None]) -> None:
    """After a batch identity refresh rebuilt the subject index, put streamed identifiers back."""
    with ws.store.begin() as conn:
        at = conn.execute(select(consent_index_meta.c.refreshed_at_us)).scalar()
        if at is not None and at != stamp[0]:
            resolve.restore_index(conn, now_us())
        stamp[0] = at
