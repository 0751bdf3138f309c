"""Stable golden ids: assign this run's clusters the ids of the previous run by overlap.

A golden_id, once issued, keeps pointing at the same person. Each previous id
goes to the new cluster holding most of its records (ties: smaller cluster
key). A cluster holding several previous ids keeps the one with the largest
overlap (the survivor); the others become aliases through a ``merge`` event.
A previous id whose records now sit in several clusters stays with the
largest part; the other parts get new ids through ``split`` events. New ids
are derived from the cluster's smallest record id, so a rebuild on the same
data reissues the same ids; an id is never reused for a different cluster.

A split that undoes a merge gives ids back (``former``: each record's earlier
golden ids, from the crosswalk's history). A previous id prefers the part
holding its *native* records (those that never sat under an id that has since
been absorbed), so the survivor stays with its own records; a part without an
id takes back the absorbed id most of its records held, the most specific one
first (the id with the fewest records). The id then keeps pointing at the same
person it pointed at before the merge.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from c360.engine import Engine, local_engine
from c360.identity.schema import IDENTITY_EVENTS, IDENTITY_LINKS, conform


def new_id(cluster_key: str, issued: set[str]) -> str:
    salt = 0
    while True:
        text = cluster_key if salt == 0 else f"{cluster_key}#{salt}"
        gid = "G" + hashlib.sha256(text.encode()).hexdigest()[:15].upper()
        if gid not in issued:
            return gid
        salt += 1


@dataclass
class Assignment:
    golden_of_cluster: dict[str, str]
    events: list[dict[str, Any]] = field(default_factory=list)

    def events_table(self) -> pa.Table:
        return pa.Table.from_pylist(self.events, schema=IDENTITY_EVENTS)


def assign(
    clusters: dict[str, list[str]],
    previous: dict[str, str],
    issued: set[str],
    *,
    run_id: str,
    at: datetime,
    former: dict[str, set[str]] | None = None,
    live: set[str] | None = None,
) -> Assignment:
    """``clusters``: cluster_key → record ids; ``previous``: record id → golden_id;
    ``former``: record id → the golden ids it held before its previous one; ``live``: the
    previous golden ids of the whole group, when ``clusters`` leave out unchanged ones
    (default: those of ``previous``)."""
    former = former or {}
    live = set(previous.values()) if live is None else live
    absorbed = {r: {g for g in former.get(r, ()) if g not in live} for r in previous}
    overlap: dict[tuple[str, str], int] = defaultdict(int)
    native: dict[tuple[str, str], int] = defaultdict(int)
    for key, members in clusters.items():
        for rid in members:
            gid = previous.get(rid)
            if gid is not None:
                overlap[(key, gid)] += 1
                native[(key, gid)] += not absorbed.get(rid)
    ranked = sorted(overlap.items(), key=lambda kv: (-native[kv[0]], -kv[1], kv[0][1], kv[0][0]))
    golden: dict[str, str] = {}
    taken: set[str] = set()
    for (key, gid), _n in ranked:
        if key in golden or gid in taken:
            continue
        golden[key] = gid
        taken.add(gid)
    regained = _regain(clusters, golden, absorbed, issued)
    golden.update(regained)
    first_run = not issued  # no golden id was ever issued: nobody is "new"
    issued = set(issued)
    events: list[dict[str, Any]] = []

    def event(kind: str, gid: str, related: str | None, records: list[str], reason: str) -> None:
        events.append(
            {
                "event_id": uuid.uuid5(uuid.NAMESPACE_URL, f"{run_id}/{kind}/{gid}/{related}").hex,
                "run_id": run_id,
                "event_type": kind,
                "golden_id": gid,
                "related_golden_id": related,
                "record_ids": sorted(records)[:50],
                "reason": reason,
                "at": at,
            }
        )

    prev_members: dict[str, list[str]] = defaultdict(list)
    for rid, gid in previous.items():
        prev_members[gid].append(rid)
    for key in sorted(clusters):
        if key in golden and key not in regained:
            continue
        gid = regained.get(key) or new_id(key, issued)
        issued.add(gid)
        golden[key] = gid
        origins = sorted({previous[r] for r in clusters[key] if r in previous})
        back = f"; they take back their former id {gid}" if key in regained else ""
        if origins:
            for origin in origins:
                moved = [r for r in clusters[key] if previous.get(r) == origin]
                event(
                    "split",
                    gid,
                    origin,
                    moved,
                    f"{len(moved)} record(s) of {origin} no longer resolve with it{back}",
                )
        elif not first_run:  # a new person
            event("create", gid, None, clusters[key], "new person")
    # merges: previous ids that now have no cluster of their own
    fresh = {golden[k] for k in clusters if golden[k] not in taken}
    for (key, gid), n in sorted(overlap.items()):
        survivor = golden[key]
        if gid == survivor or survivor in fresh:  # a split-off part: its split event says it
            continue
        moved = [r for r in clusters[key] if previous.get(r) == gid]
        if gid not in taken:
            event(
                "merge",
                gid,
                survivor,
                moved,
                f"{n} record(s) of {gid} now resolve with {survivor}; {gid} is an alias",
            )
            taken.add(gid)
        else:
            event("reassign", survivor, gid, moved, f"{n} record(s) moved from {gid}")
    still = set(golden.values())
    for gid in sorted(set(prev_members) - still - {e["golden_id"] for e in events}):
        event("retire", gid, None, prev_members[gid], "its records are no longer present")
    return Assignment(golden, events)


def unchanged(con: Engine, clustered: str, previous: str) -> pa.Table:
    """``(cluster_key, golden_id)`` of the clusters that keep their previous id untouched.

    ``clustered``: view of ``(record_id, cluster_key)``; ``previous``: view of
    ``(record_id, golden_id)`` for those records that had an id. A cluster whose records
    held one previous id between them, held by no record of another cluster, keeps it:
    :func:`assign` would give it that id and no event whatever the other clusters do (the
    pair is the only overlap of either, so no ranking, take-back or merge reaches it). At
    a full rebuild that is nearly every cluster, so the per-record work of :func:`assign`
    is left for the few that changed; it must then be given ``live``, every previous id
    of the group, as the ids those few may not take back."""
    return con.query(f"""
        WITH r AS (
            SELECT c.record_id, c.cluster_key, p.golden_id
            FROM {clustered} c LEFT JOIN {previous} p USING (record_id)
        ),
        per_key AS (
            SELECT cluster_key, count(DISTINCT golden_id) AS ids, any_value(golden_id) AS gid
            FROM r GROUP BY cluster_key
        ),
        per_id AS (
            SELECT golden_id, count(DISTINCT cluster_key) AS keys
            FROM r WHERE golden_id IS NOT NULL GROUP BY golden_id
        )
        SELECT k.cluster_key, k.gid AS golden_id
        FROM per_key k JOIN per_id i ON i.golden_id = k.gid
        WHERE k.ids = 1 AND i.keys = 1
    """)


def _regain(
    clusters: dict[str, list[str]],
    golden: dict[str, str],
    absorbed: dict[str, set[str]],
    issued: set[str],
) -> dict[str, str]:
    """Cluster key → an absorbed id it takes back (clusters that got no previous id)."""
    size: dict[str, int] = defaultdict(int)
    for ids in absorbed.values():
        for g in ids:
            size[g] += 1
    held: dict[tuple[str, str], int] = defaultdict(int)
    for key, members in clusters.items():
        if key in golden:
            continue
        for rid in members:
            for g in absorbed.get(rid, ()):
                if g in issued:
                    held[(key, g)] += 1
    out: dict[str, str] = {}
    used: set[str] = set()
    for (key, gid), _n in sorted(held.items(), key=lambda kv: (-kv[1], size[kv[0][1]], kv[0])):
        if key in out or gid in used:
            continue
        out[key] = gid
        used.add(gid)
    return out


def former_ids(links: pa.Table, ids: pa.Table) -> dict[str, set[str]]:
    """Record id → golden ids it held in closed crosswalk rows (restricted to ``ids``)."""
    if links.num_rows == 0:
        return {}
    with local_engine() as engine:
        engine.register("links", links.select(["record_id", "golden_id", "is_current"]))
        engine.register("ids", ids.select(["record_id"]))
        rows = engine.query("""
            SELECT DISTINCT record_id, golden_id FROM links SEMI JOIN ids USING (record_id)
            WHERE NOT is_current AND golden_id IS NOT NULL
        """)
    out: dict[str, set[str]] = defaultdict(set)
    for r, g in zip(rows["record_id"].to_pylist(), rows["golden_id"].to_pylist(), strict=True):
        out[str(r)].add(str(g))
    return dict(out)


def first_seen(links: pa.Table, ids: pa.Table | None = None) -> dict[str, int]:
    """Record id → epoch (microseconds) of the first run that resolved it, from the crosswalk.

    ``ids``: a table with column ``record_id`` to restrict the answer to.
    """
    if links.num_rows == 0:
        return {}
    with local_engine() as engine:
        engine.register("links", links.select(["record_id", "valid_from"]))
        engine.register(
            "ids", ids.select(["record_id"]) if ids is not None else links.select(["record_id"])
        )
        rows = engine.query("""
            SELECT record_id, CAST(epoch_us(min(valid_from)) AS BIGINT) AS first_us FROM links
            SEMI JOIN ids USING (record_id) GROUP BY 1
        """)
    return {
        str(r): int(e)
        for r, e in zip(rows["record_id"].to_pylist(), rows["first_us"].to_pylist(), strict=True)
    }


def crosswalk(engine: Engine, run_id: str, at: datetime) -> pa.Table:
    """The crosswalk with history: unchanged rows kept, changed rows closed and re-opened.

    Reads tables ``party``, ``membership_all`` (record_id, golden_id, rule, probability)
    and ``links_prev`` (the previous ``gold.identity_links``).
    """
    table = engine.query(
        """
        WITH cur AS (
            SELECT p.source, p.source_key, m.golden_id, m.rule, m.probability, p.record_id,
                   p.no_identity_reason AS reason
            FROM party p JOIN membership_all m USING (record_id)
        ),
        prev_cur AS (SELECT * FROM links_prev WHERE is_current),
        keep AS (
            SELECT pc.* FROM prev_cur pc JOIN cur c
              ON c.record_id = pc.record_id AND c.golden_id = pc.golden_id AND c.rule = pc.rule
        )
        SELECT * FROM links_prev WHERE NOT is_current
        UNION ALL SELECT * FROM keep
        UNION ALL
        SELECT pc.source, pc.source_key, pc.golden_id, pc.rule, pc.probability, pc.run_id,
               false AS is_current, pc.record_id, pc.reason, pc.valid_from,
               CAST($at AS TIMESTAMPTZ) AS valid_to
        FROM prev_cur pc WHERE pc.record_id NOT IN (SELECT record_id FROM keep)
        UNION ALL
        SELECT c.source, c.source_key, c.golden_id, c.rule, c.probability, $run_id AS run_id,
               true AS is_current, c.record_id, c.reason, CAST($at AS TIMESTAMPTZ) AS valid_from,
               CAST(NULL AS TIMESTAMPTZ) AS valid_to
        FROM cur c WHERE c.record_id NOT IN (SELECT record_id FROM keep)
        """,
        {"at": at, "run_id": run_id},
    )
    return conform(table, IDENTITY_LINKS, "gold.identity_links")
