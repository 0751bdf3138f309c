"""Incremental identity for streamed events: attach, create, or refuse — never merge.

The batch identity run is the authority on who is who; the stream only decides
what is safe without it, against the crosswalk the gate already reads
(``consent_subject_index``: every current golden record's source keys, e-mails,
phones and golden ids) plus what the stream itself recorded:

- a *source key* or *golden id* names its golden record outright (strong);
- an e-mail or phone names one only when exactly one golden record holds it;
  a value held by several (a couple's shared address, a placeholder) is no
  evidence and is never attached;
- strong identifiers naming two different golden records, or a strong one and
  a unique weak one disagreeing, is a *conflict*: the event is kept without a
  golden id and nothing is attached or merged;
- a new e-mail or phone arriving with a strong identifier is *attached* to that
  golden record (the source system says this customer has it); arriving with
  only a weak identifier it is not (the batch run would want a name or a date
  of birth to agree before linking);
- an ``identify`` event none of whose identifiers is known at all becomes a *new*
  golden record (id ``gs-`` + a hash of its identifiers, so a re-run gives the same
  id); a login or a STOP from an unknown identifier does not create one (the ledger
  keeps the consent fact against the identifier, which applies once it is known).

Every decision is a ``stream_identifiers`` row, and attached or new identifiers
are added to the consent subject index so consent facts about them reach the
gate at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select, tuple_

from c360.consent.tables import consent_subject_index, consent_subjects
from c360.consent.vocab import id_hash
from c360.stream.events import Event
from c360.stream.tables import stream_identifiers

STRONG = ("source_key", "golden_id")
WEAK = ("email", "phone")


@dataclass
class Resolution:
    """The decisions of one batch, to write in its transaction."""

    golden: dict[str, str | None] = field(default_factory=dict)  # event_id -> golden_id
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    index: list[dict[str, Any]] = field(default_factory=list)
    subjects: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"attached": 0, "new": 0, "conflict": 0, "resolved": 0}
    )


class Resolver:
    """Resolves a batch's events against the crosswalk, in event order."""

    def __init__(self, conn: Connection, events: list[Event], now_us: int) -> None:
        self.conn, self.now = conn, now_us
        pairs = {(t, v) for e in events for t, v in e.identifiers.items()}
        # known: what the crosswalk and the stream's earlier decisions say; recorded:
        # identifiers an earlier batch already decided (a conflict keeps no golden id, so
        # it is not "known"): decided once, as when both events fall in one batch
        self.known, self.recorded = self._lookup(pairs)

    def _lookup(
        self, pairs: Iterable[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], set[str]], set[tuple[str, str]]]:
        known: dict[tuple[str, str], set[str]] = {}
        recorded: set[tuple[str, str]] = set()
        wanted = sorted(pairs)
        idx, sid = consent_subject_index, stream_identifiers
        for i in range(0, len(wanted), 400):
            chunk = wanted[i : i + 400]
            q1 = select(idx.c.id_type, idx.c.id_value, idx.c.golden_id).where(
                tuple_(idx.c.id_type, idx.c.id_value).in_(chunk), idx.c.restrict_only.is_(False)
            )
            for t, v, g in self.conn.execute(q1):
                known.setdefault((t, v), set()).add(g)
            q2 = select(sid.c.id_type, sid.c.id_value, sid.c.golden_id).where(
                tuple_(sid.c.id_type, sid.c.id_value).in_(chunk)
            )
            for t, v, g in self.conn.execute(q2):
                recorded.add((t, v))
                if g is not None:
                    known.setdefault((t, v), set()).add(g)
        return known, recorded

    def resolve(self, events: list[Event]) -> Resolution:
        res = Resolution()
        seen: set[tuple[str, str]] = set(self.recorded)
        for ev in events:
            res.golden[ev.event_id] = self._one(ev, res, seen)
        return res

    def _one(self, ev: Event, res: Resolution, seen: set[tuple[str, str]]) -> str | None:
        ids = ev.identifiers
        if not ids:
            return None
        strong = {g for t in STRONG if t in ids for g in self.known.get((t, ids[t]), set())}
        weak_unique = {
            t: next(iter(gs))
            for t in WEAK
            if t in ids and len(gs := self.known.get((t, ids[t]), set())) == 1
        }
        unknown = [(t, v) for t, v in sorted(ids.items()) if (t, v) not in self.known]
        if len(strong) > 1 or (
            len(strong) == 1 and any(g not in strong for g in weak_unique.values())
        ):
            self._record(res, seen, unknown, None, "conflict", ev)
            res.counts["conflict"] += 1
            return None
        if len(strong) == 1:
            golden = next(iter(strong))
            attach = [(t, v) for t, v in unknown if t in WEAK]
            self._record(res, seen, attach, golden, "attached", ev)
            res.counts["attached" if attach else "resolved"] += 1
            return golden
        weak = set(weak_unique.values())
        if len(weak) > 1:
            self._record(res, seen, unknown, None, "conflict", ev)
            res.counts["conflict"] += 1
            return None
        if len(weak) == 1:
            res.counts["resolved"] += 1
            return next(iter(weak))
        if len(unknown) != len(ids) or ev.type != "identify":
            return None  # only shared values, or not a statement of who someone is
        key = "|".join(f"{t}:{v}" for t, v in unknown)
        golden = "gs-" + hashlib.sha256(key.encode()).hexdigest()[:24]
        self._record(res, seen, unknown, golden, "new", ev)
        res.subjects.append(
            {
                "golden_id": golden,
                "dob": None,
                "state": None,
                "has_email": "email" in ids,
                "has_phone": "phone" in ids,
                "refreshed_at_us": self.now,
            }
        )
        res.index.append(_index_row(golden, "golden_id", golden))
        res.counts["new"] += 1
        return golden

    def _record(
        self,
        res: Resolution,
        seen: set[tuple[str, str]],
        pairs: list[tuple[str, str]],
        golden: str | None,
        outcome: str,
        ev: Event,
    ) -> None:
        for t, v in pairs:
            if (t, v) in seen:
                continue
            seen.add((t, v))
            res.identifiers.append(
                {
                    "id_type": t,
                    "id_value": v,
                    "golden_id": golden,
                    "outcome": outcome,
                    "event_id": ev.event_id,
                    "recorded_at_us": self.now,
                }
            )
            if golden is not None:
                self.known[(t, v)] = {golden}
                res.index.append(_index_row(golden, t, v))


def _index_row(golden: str, id_type: str, value: str) -> dict[str, Any]:
    return {
        "golden_id": golden,
        "id_type": id_type,
        "id_value": value,
        "id_hash": id_hash(value),
        "restrict_only": False,
    }


def write(conn: Connection, res: Resolution) -> None:
    """Record the batch's identity decisions (in the batch's transaction)."""
    if res.identifiers:
        conn.execute(stream_identifiers.insert(), res.identifiers)
    if res.subjects:
        conn.execute(consent_subjects.insert(), res.subjects)
    if res.index:
        conn.execute(consent_subject_index.insert(), res.index)


def restore_index(conn: Connection, now_us: int) -> int:
    """Put the stream's attached and new identifiers back into the subject index after a
    batch refresh rebuilt it from the identity tables (which do not know them yet).

    An attachment whose golden record no longer exists (merged away by the batch run)
    is left out; a golden record the stream created is restored with its subject row.
    """
    sid, idx, subj = stream_identifiers, consent_subject_index, consent_subjects
    rows = conn.execute(
        select(sid.c.id_type, sid.c.id_value, sid.c.golden_id, sid.c.outcome).where(
            sid.c.golden_id.is_not(None)
        )
    ).all()
    if not rows:
        return 0
    present = {
        (t, v, g)
        for t, v, g in conn.execute(select(idx.c.id_type, idx.c.id_value, idx.c.golden_id))
    }
    subjects = {g for (g,) in conn.execute(select(subj.c.golden_id))}
    index: list[dict[str, Any]] = []
    new_subjects: dict[str, dict[str, Any]] = {}
    for t, v, g, outcome in rows:
        if g not in subjects:
            if outcome != "new":
                continue
            s = new_subjects.setdefault(
                g,
                {
                    "golden_id": g,
                    "dob": None,
                    "state": None,
                    "has_email": False,
                    "has_phone": False,
                    "refreshed_at_us": now_us,
                },
            )
            s["has_email"] = s["has_email"] or t == "email"
            s["has_phone"] = s["has_phone"] or t == "phone"
            if (("golden_id", g, g)) not in present:
                index.append(_index_row(g, "golden_id", g))
                present.add(("golden_id", g, g))
        if (t, v, g) not in present:
            index.append(_index_row(g, t, v))
            present.add((t, v, g))
    if new_subjects:
        conn.execute(subj.insert(), list(new_subjects.values()))
    if index:
        conn.execute(idx.insert(), index)
    return len(index)
