"""One micro-batch: inbox → deduplicated events → identity, features → the events zone.

Exactly-once effect without a distributed transaction:

1. In **one store transaction** the batch records each new event id in
   ``stream_applied`` (an id already there is a duplicate: a client retry, a NATS
   redelivery, a replay re-sent), makes the identity decisions, updates the online
   features and the trigger windows, records the stream triggers that fire
   (:mod:`.decide`), and writes its ``stream_batches`` row whose ``last_position``
   *is* the checkpoint. Effects and checkpoint commit together or not at all.
   The fired triggers are then decided, each decision in its own transaction with
   the firing's mark (ADR 0053).
2. It then appends the batch to ``bronze``/``silver``/``quarantine.stream_events``,
   each an atomic Delta commit tagged with the batch id, and marks the batch
   committed (inbox rows up to it are pruned). The loop defers this step and writes
   several batches in one commit per table, tagged with all their ids (:func:`flush_lake`,
   ADR 0064); until then they are ``pending`` like a batch a killed process left.

A process killed between 1 and 2 leaves a ``pending`` batch; :func:`recover`
rebuilds its lake rows from the inbox and ``stream_applied`` (deterministically:
the same rows) and writes only the tables whose history lacks the batch id.
Consent facts were appended when the events were accepted (:mod:`.intake`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import Connection, delete, func, select, update

from c360.consent.vocab import now_us
from c360.errors import C360Error
from c360.stream import decide, features, resolve
from c360.stream.events import Event, parse_time
from c360.stream.tables import (
    BRONZE_EVENTS,
    LAKE,
    QUARANTINE_EVENTS,
    SILVER_EVENTS,
    stream_applied,
    stream_batches,
    stream_inbox,
)

if TYPE_CHECKING:
    from c360.workspace import Workspace

log = logging.getLogger("c360.stream")


@dataclass
class BatchReport:
    batch_id: str
    first_position: int
    last_position: int
    events: int
    applied: int
    duplicates: int
    quarantined: int
    lag_events: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    identity: dict[str, int]
    seconds: float
    fired: dict[str, int] = field(default_factory=dict)
    decisions: int = 0
    decision_p50_ms: float | None = None
    decision_p99_ms: float | None = None
    #: seconds per phase of the batch (:class:`Phases`)
    phases: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Phases:
    """Seconds spent in each phase of a batch (or of a loop: :meth:`add` sums them)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        """Charge the time since the previous lap to ``name``."""
        t = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + t - self._t
        self._t = t

    def add(self, other: dict[str, float]) -> None:
        for k, v in other.items():
            self.seconds[k] = self.seconds.get(k, 0.0) + v


def last_position(conn: Connection) -> int:
    return int(conn.execute(select(func.max(stream_batches.c.last_position))).scalar() or 0)


def _contiguous(rows: Sequence[Any], after: int, gap_wait_us: int, now: int) -> list[Any]:
    """Rows up to the first gap in positions, unless the gap is older than the wait
    (a concurrent writer's transaction that rolled back leaves a permanent gap)."""
    out, expect = [], after + 1
    for r in rows:
        if r.position != expect and now - r.received_at_us < gap_wait_us:
            break
        out.append(r)
        expect = r.position + 1
    return out


def to_event(body: str) -> Event:
    d = json.loads(body)
    return Event(
        d["event_id"],
        d["type"],
        d["source"],
        parse_time(d["timestamp"]),
        d.get("identifiers") or {},
        d.get("payload") or {},
    )


@dataclass
class LakeRows:
    """A batch applied in the store whose events-zone rows are not written yet."""

    batch_id: str
    last_position: int
    events: int
    tables: dict[str, pa.Table]


def apply_batch(
    ws: Workspace,
    *,
    batch_size: int,
    gap_wait_s: float = 5.0,
    defer_lake: list[LakeRows] | None = None,
) -> BatchReport | None:
    """Apply the next batch of the inbox (None when there is nothing to apply).

    With ``defer_lake`` the batch's events-zone rows are appended to that list instead of
    written (the batch stays ``pending``); :func:`flush_lake` writes several batches in
    one commit per table (ADR 0064)."""
    t0 = time.perf_counter()
    ph = Phases()
    store = ws.store
    with store.begin() as conn:
        after = last_position(conn)
        rows = conn.execute(
            select(stream_inbox)
            .where(stream_inbox.c.position > after)
            .order_by(stream_inbox.c.position)
            .limit(batch_size)
        ).all()
        top = int(conn.execute(select(func.max(stream_inbox.c.position))).scalar() or 0)
    rows = _contiguous(rows, after, int(gap_wait_s * 1e6), now_us())
    if not rows:
        return None
    ph.lap("read_inbox")
    first, last = int(rows[0].position), int(rows[-1].position)
    batch_id = f"sb{first:012d}"
    accepted = [(r, to_event(r.body)) for r in rows if r.status == "accepted"]
    rejected = [r for r in rows if r.status != "accepted"]
    ph.lap("parse")
    snap = decide.snapshot(ws)
    ph.lap("snapshot")
    with store.begin() as conn:
        if last_position(conn) != after:  # another loop applied it meanwhile
            return None
        ids = sorted({e.event_id for _, e in accepted})
        done: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            done |= {
                x
                for (x,) in conn.execute(
                    select(stream_applied.c.event_id).where(stream_applied.c.event_id.in_(chunk))
                )
            }
        fresh: list[tuple[Any, Event]] = []
        for r, e in accepted:
            if e.event_id not in done:
                done.add(e.event_id)
                fresh.append((r, e))
        ph.lap("dedupe")
        stamp = now_us()
        resolution = resolve.Resolver(conn, [e for _, e in fresh], stamp).resolve(
            [e for _, e in fresh]
        )
        resolve.write(conn, resolution)
        ph.lap("identity")
        totals: dict[str, dict[str, Any]] = {}
        features.fold(
            conn, [(e, resolution.golden[e.event_id]) for _, e in fresh], stamp, batch_id, totals
        )
        ph.lap("features")
        attached = {i["event_id"] for i in resolution.identifiers if i["outcome"] == "attached"}
        fired = decide.fire(
            ws,
            conn,
            snap,
            batch_id,
            [(int(r.received_at_us), e, resolution.golden[e.event_id]) for r, e in fresh],
            attached,
            stamp,
            totals,
        )
        ph.lap("triggers")
        applied_at = now_us()
        latencies = [(applied_at - r.received_at_us) / 1000 for r, _ in fresh]
        if fresh:
            conn.execute(
                stream_applied.insert(),
                [
                    {
                        "event_id": e.event_id,
                        "batch_id": batch_id,
                        "position": int(r.position),
                        "golden_id": resolution.golden[e.event_id],
                        "received_at_us": int(r.received_at_us),
                        "applied_at_us": applied_at,
                    }
                    for r, e in fresh
                ],
            )
        p50, p99 = _percentiles(latencies)
        report = BatchReport(
            batch_id,
            first,
            last,
            len(rows),
            len(fresh),
            len(accepted) - len(fresh),
            len(rejected),
            max(0, top - last),
            p50,
            p99,
            dict(resolution.counts),
            0.0,
            fired.to_dict(),
        )
        conn.execute(
            stream_batches.insert().values(
                batch_id=batch_id,
                first_position=first,
                last_position=last,
                events=len(rows),
                applied=len(fresh),
                duplicates=report.duplicates,
                quarantined=len(rejected),
                checksum=checksum(e.event_id for _, e in fresh),
                lag_events=report.lag_events,
                latency_p50_ms=p50,
                latency_p99_ms=p99,
                status="pending",
                started_at_us=stamp,
            )
        )
        ph.lap("record")
    ph.lap("commit")
    decided = decide_safely(ws, snap)  # this batch's firings and any left pending before
    report.decisions = decided.decisions
    report.decision_p50_ms, report.decision_p99_ms = _percentiles(decided.latencies_ms)
    ph.lap("decisions")
    tables = _lake_tables(batch_id, rows, accepted, fresh, resolution.golden)
    if defer_lake is not None:
        defer_lake.append(LakeRows(batch_id, last, len(rows), tables))
        ph.lap("lake_rows")
    else:
        _write_lake(ws, [batch_id], tables)
        ph.lap("lake")
        _committed(ws, [batch_id], last)
        ph.lap("mark_committed")
    report.phases = ph.seconds
    report.seconds = time.perf_counter() - t0
    return report


def decide_safely(ws: Workspace, snap: Any = None) -> decide.Decided:
    """Decide the pending firings; a failure leaves them pending for the next turn."""
    try:
        return decide.decide_pending(ws, snap)
    except C360Error as exc:
        log.warning("stream decisions deferred: %s", exc)
        return decide.Decided()


def checksum(event_ids: Any) -> str:
    """Order-free checksum of a set of event ids (sha256 of the sorted ids)."""
    h = hashlib.sha256()
    for eid in sorted(event_ids):
        h.update(eid.encode())
        h.update(b"\n")
    return h.hexdigest()


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    s = sorted(values)
    pick = lambda q: round(s[min(len(s) - 1, int(q * len(s)))], 1)  # noqa: E731
    return pick(0.5), pick(0.99)


def _ts(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1e6, UTC)


#: ``json.dumps(x, sort_keys=True)`` without building an encoder per call (same output)
_SORTED = json.JSONEncoder(sort_keys=True).encode


def _event_row(r: Any, e: Event, batch_id: str) -> dict[str, Any]:
    return {
        "event_id": e.event_id,
        "type": e.type,
        "source": e.source,
        "event_at": e.at,
        "received_at": _ts(int(r.received_at_us)),
        "intake": r.intake,
        "identifiers": _SORTED(e.identifiers),
        "email": e.identifiers.get("email"),
        "phone": e.identifiers.get("phone"),
        "source_key": e.identifiers.get("source_key"),
        "payload": _SORTED(e.payload),
        "_position": int(r.position),
        "_batch_id": batch_id,
    }


def flush_lake(ws: Workspace, pending: list[LakeRows]) -> int:
    """Write the deferred batches' rows, one commit per table tagged with their batch ids,
    then mark them committed (and prune the inbox); empties ``pending``. Returns the
    batches written."""
    if not pending:
        return 0
    ids = [p.batch_id for p in pending]
    tables: dict[str, pa.Table] = {}
    for zone in ("bronze", "silver", "quarantine"):
        parts = [p.tables[zone] for p in pending if zone in p.tables]
        if parts:
            tables[zone] = pa.concat_tables(parts)
    _write_lake(ws, [p.batch_id for p in pending], tables)
    _committed(ws, ids, max(p.last_position for p in pending))
    pending.clear()
    return len(ids)


def lake_batches(ws: Workspace, zone: str) -> set[str]:
    """Batch ids whose rows a commit of ``zone``'s events table holds (a commit made by
    :func:`flush_lake` is tagged with several, comma-separated)."""
    return {b for tag in ws.lakehouse.committed_batches(zone, LAKE) for b in tag.split(",")}


def _write_lake(
    ws: Workspace,
    batch_ids: list[str],
    tables: dict[str, pa.Table],
    *,
    only_missing: bool = False,
) -> None:
    lh = ws.lakehouse
    for zone, data in tables.items():
        if only_missing and batch_ids[0] in lake_batches(ws, zone):
            continue
        lh.append(zone, LAKE, data, batch_id=",".join(batch_ids))


def _lake_tables(
    batch_id: str,
    rows: Sequence[Any],
    accepted: list[tuple[Any, Event]],
    fresh: list[tuple[Any, Event]],
    golden: dict[str, str | None],
) -> dict[str, pa.Table]:
    """The batch's rows of ``bronze``/``silver``/``quarantine.stream_events``."""
    tables: list[tuple[str, pa.Table]] = []
    # one row per accepted event, shared by bronze and silver (silver adds the golden id)
    by_position = {int(r.position): _event_row(r, e, batch_id) for r, e in accepted}
    if accepted:
        tables.append(
            ("bronze", pa.Table.from_pylist(list(by_position.values()), schema=BRONZE_EVENTS))
        )
    if fresh:
        silver = [
            {**by_position[int(r.position)], "golden_id": golden.get(e.event_id)} for r, e in fresh
        ]
        tables.append(("silver", pa.Table.from_pylist(silver, schema=SILVER_EVENTS)))
    bad = [r for r in rows if r.status != "accepted"]
    if bad:
        q = [
            {
                "event_id": r.event_id,
                "intake": r.intake,
                "received_at": _ts(int(r.received_at_us)),
                "code": r.code,
                "_reason": r.reason,
                "_raw": r.body,
                "_position": int(r.position),
                "_batch_id": batch_id,
            }
            for r in bad
        ]
        tables.append(("quarantine", pa.Table.from_pylist(q, schema=QUARANTINE_EVENTS)))
    return dict(tables)


def _committed(ws: Workspace, batch_ids: list[str], last: int) -> None:
    with ws.store.begin() as conn:
        conn.execute(
            update(stream_batches)
            .where(stream_batches.c.batch_id.in_(batch_ids))
            .values(status="committed", committed_at_us=now_us())
        )
        conn.execute(delete(stream_inbox).where(stream_inbox.c.position <= last))


def recover(ws: Workspace) -> list[str]:
    """Finish the lake commits of batches a killed process left pending; their ids."""
    with ws.store.begin() as conn:
        pending = conn.execute(
            select(stream_batches)
            .where(stream_batches.c.status == "pending")
            .order_by(stream_batches.c.first_position)
        ).all()
    done = []
    for b in pending:
        with ws.store.begin() as conn:
            rows = conn.execute(
                select(stream_inbox)
                .where(stream_inbox.c.position.between(b.first_position, b.last_position))
                .order_by(stream_inbox.c.position)
            ).all()
            applied = {
                eid: (pos, g)
                for eid, pos, g in conn.execute(
                    select(
                        stream_applied.c.event_id,
                        stream_applied.c.position,
                        stream_applied.c.golden_id,
                    ).where(stream_applied.c.batch_id == b.batch_id)
                )
            }
        accepted = [(r, to_event(r.body)) for r in rows if r.status == "accepted"]
        fresh = [(r, e) for r, e in accepted if applied.get(e.event_id, (None,))[0] == r.position]
        golden = {eid: g for eid, (_, g) in applied.items()}
        tables = _lake_tables(b.batch_id, rows, accepted, fresh, golden)
        _write_lake(ws, [b.batch_id], tables, only_missing=True)
        _committed(ws, [b.batch_id], int(b.last_position))
        done.append(b.batch_id)
    decide_safely(ws)
    return done
