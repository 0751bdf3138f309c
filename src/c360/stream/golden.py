"""The stream's identity decisions in ``gold.golden_customers``, the same on both paths.

The stream attaches new e-mails and phones to golden records and creates golden
records for people no system knows (:mod:`.resolve`); those decisions are rows of
``stream_identifiers``. :func:`fold` writes them into ``gold.golden_customers``:

- an *attached* e-mail or phone joins the record's ``emails`` / ``phones``, and becomes
  its ``email`` / ``phone`` when the record had none (the earliest attached one, in
  intake order; ``provenance`` names ``stream_events`` and the event);
- a *new* golden record (``gs-…``) becomes a row holding its identifiers, with
  ``sources = ["stream_events"]`` and ``record_count = 0`` (no source record yet);
- an attachment whose golden record is gone (merged away by a batch run) is left out.

The result is a function of the identity run's rows and the decisions only (a value the
fold set earlier is recognised by its provenance and recomputed), so folding again, after
any number of micro-batches, kills or batch runs, gives the same rows. ``c360 stream``
folds when it goes idle, when it stops and at most every ``stream.golden_every_seconds``
under load; ``c360 run`` folds in its ``stream`` stage. :func:`compare` checks two
workspaces' golden records: ids, members and key attributes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select

from c360.stream.tables import stream_applied, stream_identifiers

if TYPE_CHECKING:
    from c360.workspace import Workspace

SOURCE = "stream_events"
#: golden record columns compared between two workspaces (besides ids and members)
KEY_ATTRIBUTES = (
    "first_name",
    "last_name",
    "dob",
    "email",
    "phone",
    "emails",
    "phones",
    "street",
    "zip",
    "sources",
    "record_count",
)
_SAMPLE = 5


def decisions(
    ws: Workspace, golden_ids: list[str] | None = None, *, after_us: int | None = None
) -> list[tuple[str, str, str, str, str]]:
    """(id_type, id_value, golden_id, outcome, event_id) of every identifier the stream
    gave a golden record (of ``golden_ids`` only, when given; recorded after ``after_us``
    only, when given), in intake order of the event that decided it."""
    sid, sa = stream_identifiers.c, stream_applied.c
    q = (
        select(sid.id_type, sid.id_value, sid.golden_id, sid.outcome, sid.event_id, sa.position)
        .select_from(stream_identifiers.outerjoin(stream_applied, sa.event_id == sid.event_id))
        .where(sid.golden_id.is_not(None))
    )
    if after_us is not None:
        q = q.where(sid.recorded_at_us > after_us)
    rows: list[Any] = []
    with ws.store.engine.connect() as conn:
        if golden_ids is None:
            rows = list(conn.execute(q).all())
        else:
            for i in range(0, len(golden_ids), 500):
                chunk = golden_ids[i : i + 500]
                rows += conn.execute(q.where(sid.golden_id.in_(chunk))).all()
    rows.sort(key=lambda r: (r[5] if r[5] is not None else 0, r[0], r[1]))
    return [(t, v, g, o, e) for t, v, g, o, e, _ in rows]


def touched_since(ws: Workspace, after_us: int | None) -> tuple[list[str] | None, int | None]:
    """Golden records given an identifier after ``after_us`` (None: all of them) and the
    latest decision time (the next call's ``after_us``)."""
    sid = stream_identifiers.c
    with ws.store.engine.connect() as conn:
        top = conn.execute(select(func.max(sid.recorded_at_us))).scalar()
        if after_us is None:
            return None, top
        ids = conn.execute(
            select(sid.golden_id)
            .where(sid.recorded_at_us > after_us, sid.golden_id.is_not(None))
            .distinct()
        ).scalars()
        return sorted(ids), top


def _origin(event_id: str) -> dict[str, Any]:
    return {"source": SOURCE, "source_key": event_id, "updated_at": None}


def _fill(row: dict[str, Any], attr: str, found: list[tuple[str, str]], keep: bool) -> None:
    """Set ``email``/``phone`` from the earliest streamed value when the record has none
    (or when the fold set it: it is recomputed, not kept — unless ``keep``: ``found`` are
    then only decisions later than those the row was folded from)."""
    prov = dict(row.get("provenance") or {})
    ours = (prov.get(attr) or {}).get("source") == SOURCE
    if row.get(attr) is not None and (keep or not ours):
        return
    if found:
        value, event_id = found[0]
        row[attr] = value
        prov[attr] = _origin(event_id)
    elif ours:
        row[attr], prov[attr] = None, None
    row["provenance"] = prov


def folded_rows(
    gold: pa.Table, decided: list[tuple[str, str, str, str, str]], *, incremental: bool = False
) -> pa.Table:
    """The golden rows the decisions change, in the table's schema (only changed rows).

    ``decided`` holds every decision of the records it names, or with ``incremental``
    only those recorded since the rows in ``gold`` were folded (they are added to them)."""
    by_golden: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
    for t, v, g, o, e in decided:
        by_golden[g].append((t, v, o, e))
    if not by_golden:
        return gold.schema.empty_table()
    wanted = pa.array(sorted(by_golden), pa.string())
    current = {
        r["golden_id"]: r for r in gold.filter(pc.is_in(gold["golden_id"], wanted)).to_pylist()
    }
    out = []
    for g, items in sorted(by_golden.items()):
        old = current.get(g)
        if old is None and not any(o == "new" for _, _, o, _ in items):
            continue  # attached to a golden record a batch run merged away
        row = dict(old) if old is not None else _new_row(gold.schema, g)
        for attr, plural in (("email", "emails"), ("phone", "phones")):
            found = [(v, e) for t, v, _, e in items if t == attr]
            row[plural] = sorted(set(row.get(plural) or []) | {v for v, _ in found})
            _fill(row, attr, found, incremental)
        row["sources"] = sorted(set(row.get("sources") or []) | {SOURCE})
        if row != old:
            out.append(row)
    return pa.Table.from_pylist(out, schema=gold.schema)


def _new_row(schema: pa.Schema, golden_id: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(schema.names)
    row.update(golden_id=golden_id, emails=[], phones=[], addresses=[], record_count=0)
    row["provenance"] = None
    row["run_id"] = "stream"
    return row


def fold(
    ws: Workspace,
    batch_id: str = "stream",
    *,
    since_us: int | None = None,
    since_version: int | None = None,
) -> dict[str, Any]:
    """Write the stream's identity decisions into ``gold.golden_customers``.

    With ``since_us`` (the ``watermark_us`` a previous fold returned, in the same
    process) only the golden records given an identifier since are recomputed, from all
    of their decisions; without it, every golden record the stream touched. With
    ``since_version`` too (the ``version`` that fold returned) and the table still at
    that version (nobody else wrote it since), only the decisions recorded since are
    read and added to the rows as they stand (ADR 0064): the same rows, without
    rereading every decision of a record that keeps collecting identifiers.
    """
    lh = ws.lakehouse
    touched, top = touched_since(ws, since_us)
    out: dict[str, Any] = {"golden_changed": 0, "watermark_us": top, "version": None}
    if not lh.exists("gold", "golden_customers"):
        return out
    version = lh.table("gold", "golden_customers").version()
    out["version"] = version
    if touched == []:
        return out
    incremental = since_us is not None and since_version == version
    decided = decisions(ws, after_us=since_us) if incremental else decisions(ws, touched)
    if not decided:
        return out
    # only the golden records the decisions touch are read here (the merge below still
    # reads and rewrites the whole table: ADR 0064)
    wanted = pa.array(sorted({g for _, _, g, _, _ in decided}), pa.string())
    gold = lh.dataset("gold", "golden_customers").to_table(
        filter=pc.field("golden_id").isin(wanted)
    )
    changed = folded_rows(gold, decided, incremental=incremental)
    if changed.num_rows:
        lh.merge("gold", "golden_customers", changed, ["golden_id"], batch_id=batch_id)
        out["version"] = lh.table("gold", "golden_customers").version()
    out["golden_changed"] = changed.num_rows
    out["incremental"] = incremental
    return out


# ---------------------------------------------------------------------- comparison
def members(ws: Workspace) -> dict[str, frozenset[str]]:
    """Each golden record's members: its source records (``gold.identity_links``, current)
    and the identifiers the stream gave it (``email:…``, ``phone:…``)."""
    out: dict[str, set[str]] = defaultdict(set)
    lh = ws.lakehouse
    if lh.exists("gold", "identity_links"):
        links = lh.read("gold", "identity_links", ["record_id", "golden_id", "is_current"])
        links = links.filter(pc.fill_null(links["is_current"], False))
        for r, g in zip(
            links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True
        ):
            out[g].add(f"record:{r}")
    for t, v, g, _, _ in decisions(ws):
        out[g].add(f"{t}:{v}")
    return {g: frozenset(m) for g, m in out.items()}


@dataclass
class Comparison:
    golden_a: int
    golden_b: int
    only_a: int
    only_b: int
    members_differ: int
    attributes_differ: dict[str, int] = field(default_factory=dict)
    sample_golden_ids: list[str] = field(default_factory=list)  # ids only, never values

    @property
    def equal(self) -> bool:
        return not (
            self.only_a
            or self.only_b
            or self.members_differ
            or any(self.attributes_differ.values())
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "equal": self.equal}


def _by_id(ws: Workspace) -> dict[str, dict[str, Any]]:
    if not ws.lakehouse.exists("gold", "golden_customers"):
        return {}
    t = ws.lakehouse.read("gold", "golden_customers", ["golden_id", *KEY_ATTRIBUTES])
    return {r["golden_id"]: r for r in t.to_pylist()}


def compare(a: Workspace, b: Workspace) -> Comparison:
    """Golden records of two workspaces: the same ids, members and key attributes?"""
    ga, gb = _by_id(a), _by_id(b)
    ma, mb = members(a), members(b)
    both = sorted(set(ga) & set(gb))
    member_diff = [g for g in sorted(set(ma) | set(mb)) if ma.get(g) != mb.get(g)]
    attrs = {c: [g for g in both if ga[g][c] != gb[g][c]] for c in KEY_ATTRIBUTES}
    only_a, only_b = sorted(set(ga) - set(gb)), sorted(set(gb) - set(ga))
    sample: list[str] = []
    for ids in (only_a, only_b, member_diff, *attrs.values()):
        sample += [g for g in ids[:_SAMPLE] if g not in sample]
    return Comparison(
        golden_a=len(ga),
        golden_b=len(gb),
        only_a=len(only_a),
        only_b=len(only_b),
        members_differ=len(member_diff),
        attributes_differ={c: len(ids) for c, ids in attrs.items()},
        sample_golden_ids=sample[: 3 * _SAMPLE],
    )
