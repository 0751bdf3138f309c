"""A streamed day against a batch pass over the same events: are the decisions the same?

The stream decides identity event by event in micro-batches, across restarts and
redeliveries. :func:`derive` is the batch path over the same data: it takes the day's
events from the events zone (``silver.stream_events``, each event once, in intake order)
and resolves them in **one** pass against the crosswalk the stream started from (the
subject index without the stream's own identifiers), inside a transaction it rolls back,
so it writes nothing. :func:`reconcile` compares the two: each event's golden id, every
identifier decision (attached, new, conflict, with the event that made it) and the
crosswalk rows the stream added to the subject index.

Equal means: micro-batch boundaries, kills and retries changed no identity decision, and
the events zone alone is enough to reproduce them. It does not make the Splink batch run
read the events zone (docs/streaming.md, "Not yet").
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, select, tuple_

from c360.consent.tables import consent_subject_index, consent_subjects
from c360.consent.vocab import now_us
from c360.stream import resolve
from c360.stream.events import Event
from c360.stream.tables import LAKE, stream_identifiers

if TYPE_CHECKING:
    from c360.workspace import Workspace

Decision = tuple[str, str, str | None, str, str]  # id_type, id_value, golden_id, outcome, event_id
_SAMPLE = 5


@dataclass
class Derivation:
    """The batch pass's answers: golden id per event, and the identifier decisions."""

    golden: dict[str, str | None]
    identifiers: set[Decision]
    counts: dict[str, int]


@dataclass
class Reconciliation:
    events: int
    equal: bool
    golden_mismatches: int
    identifiers_only_stream: int
    identifiers_only_batch: int
    crosswalk_only_stream: int
    crosswalk_only_batch: int
    outcomes_stream: dict[str, int] = field(default_factory=dict)
    outcomes_batch: dict[str, int] = field(default_factory=dict)
    sample_event_ids: list[str] = field(default_factory=list)  # ids only, never identifiers

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _events(ws: Workspace) -> list[tuple[Event, str | None]]:
    """The events zone in intake order, each event with the golden id the stream gave it."""
    if not ws.lakehouse.exists("silver", LAKE):
        return []
    cols = ["event_id", "type", "source", "event_at", "identifiers", "payload", "golden_id"]
    t = ws.lakehouse.read("silver", LAKE, [*cols, "_position"]).sort_by("_position")
    return [
        (
            Event(
                r["event_id"],
                r["type"],
                r["source"],
                r["event_at"],
                json.loads(r["identifiers"]),
                json.loads(r["payload"]),
            ),
            r["golden_id"],
        )
        for r in t.to_pylist()
    ]


def _streamed(conn: Connection) -> set[Decision]:
    s = stream_identifiers.c
    return {
        (t, v, g, o, e)
        for t, v, g, o, e in conn.execute(
            select(s.id_type, s.id_value, s.golden_id, s.outcome, s.event_id)
        )
    }


def _forget_stream(conn: Connection, decided: set[Decision]) -> None:
    """Take the stream's own rows out of the crosswalk (the caller rolls this back)."""
    idx = consent_subject_index
    rows = [(t, v, g) for t, v, g, _, _ in decided if g is not None]
    rows += [("golden_id", g, g) for _, _, g, o, _ in decided if o == "new" and g]
    for i in range(0, len(rows), 400):
        conn.execute(
            delete(idx).where(
                tuple_(idx.c.id_type, idx.c.id_value, idx.c.golden_id).in_(rows[i : i + 400])
            )
        )
    new = sorted({g for _, _, g, o, _ in decided if o == "new" and g})
    for i in range(0, len(new), 400):
        conn.execute(
            delete(consent_subjects).where(consent_subjects.c.golden_id.in_(new[i : i + 400]))
        )
    conn.execute(delete(stream_identifiers))


def derive(ws: Workspace, events: list[Event] | None = None) -> Derivation:
    """Resolve the day's events in one batch against the pre-stream crosswalk (writes nothing)."""
    evs = [e for e, _ in _events(ws)] if events is None else events
    with ws.store.engine.connect() as conn:
        tx = conn.begin()
        try:
            _forget_stream(conn, _streamed(conn))
            res = resolve.Resolver(conn, evs, now_us()).resolve(evs)
        finally:
            tx.rollback()
    ids = {
        (r["id_type"], r["id_value"], r["golden_id"], r["outcome"], r["event_id"])
        for r in res.identifiers
    }
    return Derivation(res.golden, ids, dict(res.counts))


def _crosswalk(decided: set[Decision]) -> set[tuple[str, str, str]]:
    rows = {(t, v, g) for t, v, g, _, _ in decided if g is not None}
    return rows | {("golden_id", g, g) for _, _, g, o, _ in decided if o == "new" and g}


def reconcile(ws: Workspace) -> Reconciliation:
    """Compare the stream's identity decisions with a batch pass over the same events."""
    pairs = _events(ws)
    with ws.write_lock("stream"):
        batch = derive(ws, [e for e, _ in pairs])
        with ws.store.engine.connect() as conn:
            streamed = _streamed(conn)
    differ = [e.event_id for e, g in pairs if batch.golden.get(e.event_id) != g]
    only_s, only_b = streamed - batch.identifiers, batch.identifiers - streamed
    cw_s, cw_b = _crosswalk(streamed), _crosswalk(batch.identifiers)
    sample = differ[:_SAMPLE] + sorted({d[4] for d in only_s | only_b})[:_SAMPLE]
    return Reconciliation(
        events=len(pairs),
        equal=not differ and not only_s and not only_b and cw_s == cw_b,
        golden_mismatches=len(differ),
        identifiers_only_stream=len(only_s),
        identifiers_only_batch=len(only_b),
        crosswalk_only_stream=len(cw_s - cw_b),
        crosswalk_only_batch=len(cw_b - cw_s),
        outcomes_stream=dict(Counter(d[3] for d in streamed)),
        outcomes_batch=dict(Counter(d[3] for d in batch.identifiers)),
        sample_event_ids=sample,
    )
