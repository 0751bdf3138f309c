"""Stream triggers and the decisions they ask for, exactly once per (trigger, customer, window).

Two steps, each one store transaction:

1. **Fire** (inside the micro-batch's transaction, :func:`fire`): the batch's new events
   are counted into their event windows (:mod:`.windows`); the stream triggers
   (``stream_triggers`` of the decisioning trigger file) are evaluated for every window
   the batch touched, over the customer context joined with the stream's counters; each
   (trigger, golden record, window) not fired before becomes a ``stream_firings`` row,
   ``pending``. The primary key is the exactly-once key, and it commits with the batch's
   checkpoint: a batch that rolls back fired nothing, a committed one fired once.
2. **Decide** (:func:`decide_pending`, after the batch, and on every restart): the
   pending firings go through the same next-best-action flow as the batch
   (``ws.decisioning.decide_firings``: consent gate, HITL routing, the decision log with
   its rationale, the outbox); the decision rows and the firings' ``decided`` mark are one
   transaction, and the mark only moves a firing from ``pending``. A process killed
   before that commit leaves the firing pending and the next start decides it; one
   killed after finds nothing left to do. So each firing gets exactly one decision.

The decision reads the customer context the batch path reads (the on-demand snapshot,
rebuilt when a run or an ingest changes the lakehouse) plus the stream's columns as the
batch left them, so it sees the very event that fired it. A golden record the context
does not hold (one the stream created, not yet in a batch run) fires ``no_context``:
recorded, not decided.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import Connection, select, tuple_, update

from c360.consent.vocab import now_us
from c360.errors import C360Error
from c360.stream import windows
from c360.stream.events import Event
from c360.stream.tables import stream_features, stream_firings

if TYPE_CHECKING:
    from c360.workspace import Workspace

log = logging.getLogger("c360.stream")

# the running totals a stream trigger may read, from ``stream_features``
STREAM_TOTALS = {
    "stream_events": "events",
    "stream_logins": "logins",
    "stream_failed_logins": "failed_logins",
}


#: firings decided (and committed) together, at most
DECIDE_CHUNK = 25


@dataclass
class Fired:
    """What a batch fired: new firings by status."""

    pending: int = 0
    no_context: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"pending": self.pending, "no_context": self.no_context}


@dataclass
class Decided:
    decisions: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)


def snapshot(ws: Workspace) -> Any | None:
    """The customer context the decisions read, or None when stream decisions are off or
    there is nothing to decide about yet (no golden records)."""
    if not ws.config.stream.decisions:
        return None
    svc = ws.decisioning
    try:
        return svc.ondemand.snapshot() if svc.stream_triggers else None
    except C360Error as exc:  # e.g. no golden records before the first run
        log.warning("stream triggers skipped: %s", exc)
        return None


def warm(ws: Workspace) -> None:
    """Build what the first decisions need before events arrive (the customer context
    and the trigger file), so the first batch does not pay for it."""
    snapshot(ws)


def _totals(conn: Connection, ids: list[str]) -> dict[str, dict[str, int]]:
    t = stream_features
    out: dict[str, dict[str, int]] = {}
    for i in range(0, len(ids), 500):
        for r in conn.execute(select(t).where(t.c.golden_id.in_(ids[i : i + 500]))):
            out[r.golden_id] = {k: int(getattr(r, c)) for k, c in STREAM_TOTALS.items()}
    return out


def _stream_columns(
    conn: Connection,
    keys: list[windows.Key],
    counters: dict[windows.Key, dict[str, int]] | None = None,
    features: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, int]]:
    """The stream's columns of ``keys``: window counters and running totals, read from
    the store unless the batch that just wrote them hands them over (``counters``: every
    key's; ``features``: the rows of the golden records it touched)."""
    if counters is None:
        counters = windows.read(conn, keys)
    if features is None:
        totals = _totals(conn, sorted({g for g, _ in keys}))
    else:
        totals = {
            g: {k: int(row[c]) for k, c in STREAM_TOTALS.items()} for g, row in features.items()
        }
        missing = sorted({g for g, _ in keys} - set(totals))
        if missing:
            totals.update(_totals(conn, missing))
    zero_w = {f"window_{c}": 0 for c in windows.COUNTERS}
    zero_t = dict.fromkeys(STREAM_TOTALS, 0)
    return [{**counters.get(k, zero_w), **totals.get(k[0], zero_t)} for k in keys]


def _rows(
    snap: Any, columns: list[str], keys: list[windows.Key], stream: list[dict[str, int]]
) -> pa.Table:
    """One Arrow row per window: the context columns (null when unknown) and the stream's."""
    idx = pa.array([snap.index.get(g) for g, _ in keys], pa.int64())
    ctx = snap.rows.select(columns).take(idx)
    for name in (*[f"window_{c}" for c in windows.COUNTERS], *STREAM_TOTALS):
        ctx = ctx.append_column(name, pa.array([s[name] for s in stream], pa.int64()))
    return ctx


def _jsonable(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 6)
    if v is None or isinstance(v, (bool, int, str)):
        return v
    return str(v)


def fire(
    ws: Workspace,
    conn: Connection,
    snap: Any | None,
    batch_id: str,
    fresh: list[tuple[int, Event, str | None]],
    attached: set[str],
    now: int,
    features: dict[str, dict[str, Any]] | None = None,
) -> Fired:
    """Count the batch's new events into windows and record the new firings (in the
    batch's transaction ``conn``). ``features``: the running totals the batch just wrote
    (:func:`c360.stream.features.fold`), by golden id."""
    s = ws.config.stream
    counters: dict[windows.Key, dict[str, int]] = {}
    touched = windows.fold(
        conn,
        fresh,
        attached,
        list(ws.config.consent.capture),
        s.trigger_window_seconds,
        now,
        counters,
    )
    out = Fired()
    if snap is None or not touched:
        return out
    svc = ws.decisioning
    keys = sorted(touched)
    stream = _stream_columns(conn, keys, counters, features)
    rows = _rows(snap, svc.stream_context_columns(snap.rows.column_names), keys, stream)
    fired = svc.fire_stream(rows)
    if not fired:
        return out
    seen = {
        (t, g, int(w))
        for t, g, w in conn.execute(
            select(
                stream_firings.c.trigger,
                stream_firings.c.golden_id,
                stream_firings.c.window_start_us,
            ).where(
                tuple_(stream_firings.c.golden_id, stream_firings.c.window_start_us).in_(
                    [keys[i] for i, _ in fired]
                )
            )
        )
    }
    weights = svc.settings.context_weights
    by_name = {t.name: t for t in svc.stream_triggers}
    records = []
    for i, names in fired:
        g, w = keys[i]
        row = rows.slice(i, 1).to_pylist()[0]
        status = "pending" if g in snap.index else "no_context"
        for name in names:
            if (name, g, w) in seen:
                continue
            t = by_name[name]
            records.append(
                {
                    "trigger": name,
                    "golden_id": g,
                    "window_start_us": w,
                    "batch_id": batch_id,
                    "weight": weights.get(name, t.weight),
                    "evidence": {c: _jsonable(row.get(c)) for c in t.evidence},
                    "received_at_us": touched[(g, w)],
                    "fired_at_us": now,
                    "status": status,
                    "decision_id": None,
                    "decided_at_us": None,
                }
            )
            setattr(out, status, getattr(out, status) + 1)
    if records:
        conn.execute(stream_firings.insert(), records)
    return out


def decide_pending(ws: Workspace, snap: Any | None = None) -> Decided:
    """Decide every pending firing (one decision per customer and window, under its
    highest-weight trigger); the decisions and the firings' mark commit together."""
    out = Decided()
    f = stream_firings
    with ws.store.begin() as conn:
        pending = conn.execute(
            select(f).where(f.c.status == "pending").order_by(f.c.fired_at_us, f.c.golden_id)
        ).all()
    if not pending:
        return out
    snap = snap or snapshot(ws)
    if snap is None:
        return out
    from c360.decisioning.triggers import Firing  # the façade's argument type

    groups: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for r in pending:
        groups[(r.golden_id, int(r.window_start_us))].append(r)
    # one round holds each customer once (the agent's rows are keyed by golden id)
    rounds: list[list[tuple[str, int]]] = []
    placed: dict[str, int] = defaultdict(int)
    for key in groups:
        n = placed[key[0]]
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(key)
        placed[key[0]] = n + 1
    # each round commits in chunks, so a burst of firings (the first events of a day
    # window) gets its first decisions committed early rather than all at the end
    rounds = [r[i : i + DECIDE_CHUNK] for r in rounds for i in range(0, len(r), DECIDE_CHUNK)]
    svc = ws.decisioning
    for keys in rounds:
        gone = [k for k in keys if snap.row(k[0]) is None]  # merged away since it fired
        if gone:
            with ws.store.begin() as conn:
                for g, w in gone:
                    conn.execute(
                        update(f)
                        .where(
                            f.c.golden_id == g, f.c.window_start_us == w, f.c.status == "pending"
                        )
                        .values(status="no_context")
                    )
            keys = [k for k in keys if k not in gone]
        if not keys:
            continue
        with ws.store.begin() as conn:
            stream = dict(zip(keys, _stream_columns(conn, keys), strict=True))
        firings, rows = [], {}
        for key in keys:
            grp = sorted(groups[key], key=lambda r: (-r.weight, r.trigger))
            evidence: dict[str, Any] = {}
            for r in grp:
                evidence.update(r.evidence)
            evidence["window_start"] = _iso(key[1])
            firings.append(
                Firing(
                    key[0], grp[0].trigger, grp[0].weight, evidence, [r.trigger for r in grp[1:]]
                )
            )
            row = snap.row(key[0])
            rows[key[0]] = {**row, **stream[key]}

        def mark(conn: Connection, decisions: list[dict[str, Any]], keys: list[Any] = keys) -> None:
            at = now_us()
            for key, d in zip(keys, decisions, strict=True):
                names = [r.trigger for r in groups[key]]
                n = conn.execute(
                    update(f)
                    .where(
                        f.c.golden_id == key[0],
                        f.c.window_start_us == key[1],
                        f.c.trigger.in_(names),
                        f.c.status == "pending",
                    )
                    .values(status="decided", decision_id=d["decision_id"], decided_at_us=at)
                ).rowcount
                if n != len(names):  # another process decided them meanwhile: roll back
                    raise C360Error("stream.firing_raced", "a firing was decided concurrently")
                out.latencies_ms += [(at - r.received_at_us) / 1000 for r in groups[key]]

        decided = svc.decide_firings(firings, rows, as_of=snap.as_of, run_id="stream", extra=mark)
        out.decisions += len(decided)
        for d in decided:
            out.by_status[d["status"]] = out.by_status.get(d["status"], 0) + 1
    return out


def _iso(us: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()
