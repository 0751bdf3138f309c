"""The steward queue: which review-band pairs are worth a person's time, and in what order.

A task is opened for two *golden records*, not for every record pair between them:
the best-scoring pair in the review band stands for the two. A pair is left out when
the constraints already decide it — the records sit in one golden record, or merging
the two golden records would be refused (a steward cannot-link, SSN tokens or birth
dates that cannot be the same person, different first names, Jr/Sr): a person cannot
change that answer by approving, so asking wastes their time.

Tasks are ranked by **expected impact**: the match probability times the number of
source records whose golden id an approval would change (the smaller side moves,
stable ids keep the larger), so a likely merge of two large records comes before an
unlikely one of two singletons. Open tasks that a later run made moot (now one
golden record, or now refused) become ``superseded``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import insert, select, update

from c360.identity import constraints
from c360.identity.cluster import Clusterer
from c360.identity.compute import tuples
from c360.identity.tables import link_constraints, review_tasks

if TYPE_CHECKING:
    from c360.engine import Engine
    from c360.workspace import Workspace


def expected_impact(probability: float, size_l: int, size_r: int) -> float:
    """Expected number of source records an approval re-points: p × the smaller side."""
    return round(probability * min(size_l, size_r), 4)


def _decoded(detail: str | None) -> Any:
    """A pair's ``detail`` (JSON text) as an object, so the task holds it encoded once."""
    if not detail:
        return None
    try:
        return json.loads(detail)
    except ValueError:
        return {"reason": detail}


def _members(engine: Engine, golden_ids: set[str]) -> dict[str, list[str]]:
    gids = pa.table({"golden_id": pa.array(sorted(golden_ids), pa.string())})
    with engine.temp_views(_review_gids=gids):
        rows = tuples(
            engine.query(
                "SELECT golden_id, record_id FROM membership_all"
                " SEMI JOIN _review_gids USING (golden_id)"
            )
        )
    out: dict[str, list[str]] = defaultdict(list)
    for g, r in rows:
        out[str(g)].append(str(r))
    return out


def create_tasks(
    ws: Workspace,
    engine: Engine,
    band: pa.Table,
    party: pa.Table,
    hard: frozenset[str],
    cannot: list[tuple[str, str]],
    *,
    run_id: str,
    at: datetime,
) -> int:
    """Open tasks for the review band; supersede open tasks the run made moot.

    ``engine`` holds ``membership_all(record_id, golden_id)`` (this run's assignment);
    ``band`` the pairs scored in the review band; ``party`` the standardised records.
    Returns the number of tasks opened.
    """
    with ws.store.begin() as conn:
        open_rows = conn.execute(
            select(
                review_tasks.c.task_id, review_tasks.c.record_id_l, review_tasks.c.record_id_r
            ).where(
                review_tasks.c.status == "open",
                ~review_tasks.c.run_id.startswith(constraints.CONSENT_TASK),
            )
        ).all()
        decided = {
            (r.record_id_l, r.record_id_r)
            for r in conn.execute(
                select(link_constraints.c.record_id_l, link_constraints.c.record_id_r)
            ).all()
        } | {
            (r.record_id_l, r.record_id_r)
            for r in conn.execute(
                select(review_tasks.c.record_id_l, review_tasks.c.record_id_r).where(
                    review_tasks.c.status != "open"
                )
            ).all()
        }
    records = set(band["record_id_l"].to_pylist()) | set(band["record_id_r"].to_pylist())
    records |= {r for row in open_rows for r in (row.record_id_l, row.record_id_r)}
    wanted = pa.table({"record_id": pa.array(sorted(records), pa.string())})
    with engine.temp_views(_review_records=wanted):
        golden_of = {
            str(r): str(g)
            for r, g in tuples(
                engine.query(
                    "SELECT record_id, golden_id FROM membership_all"
                    " SEMI JOIN _review_records USING (record_id)"
                )
            )
        }
    members = _members(engine, set(golden_of.values()))
    involved = {r for g in members.values() for r in g}
    clusterer = Clusterer(
        party.filter(pc.is_in(party["record_id"], pa.array(sorted(involved), pa.string()))), hard
    )
    forbidden = {frozenset(p) for p in cannot}

    def refused(gl: str, gr: str) -> bool:
        if any(frozenset((a, b)) in forbidden for a in members[gl] for b in members[gr]):
            return True
        return clusterer.explain_refusal(members[gl], members[gr]) is not None

    # open tasks made moot by this run
    moot, still_open = [], set()
    for row in open_rows:
        gl, gr = golden_of.get(row.record_id_l), golden_of.get(row.record_id_r)
        if gl is None or gr is None or gl == gr or refused(gl, gr):
            moot.append(row.task_id)
        else:
            still_open.add(frozenset((gl, gr)))

    best: dict[frozenset[str], dict[str, Any]] = {}
    for p in band.to_pylist():
        key = (p["record_id_l"], p["record_id_r"])
        gl, gr = golden_of.get(key[0]), golden_of.get(key[1])
        if gl is None or gr is None or gl == gr or key in decided:
            continue
        pair = frozenset((gl, gr))
        if pair in still_open:
            continue
        if pair not in best or p["match_probability"] > best[pair]["match_probability"]:
            best[pair] = p
    rows: list[dict[str, Any]] = []
    for p in best.values():
        gl, gr = golden_of[p["record_id_l"]], golden_of[p["record_id_r"]]
        if refused(gl, gr):
            continue
        size_l, size_r = len(members[gl]), len(members[gr])
        rows.append(
            {
                "run_id": run_id,
                "record_id_l": p["record_id_l"],
                "record_id_r": p["record_id_r"],
                "golden_id_l": gl,
                "golden_id_r": gr,
                "probability": float(p["match_probability"]),
                "match_weight": float(p["match_weight"]),
                "detail": {
                    "rule": p["rule"],
                    "detail": _decoded(p["detail"]),
                    "records": [size_l, size_r],
                    "impact": expected_impact(float(p["match_probability"]), size_l, size_r),
                },
                "status": "open",
                "created_at": at,
            }
        )
    rows.sort(key=lambda r: (-r["detail"]["impact"], -r["probability"], r["record_id_l"]))
    with ws.store.begin() as conn:
        if moot:
            conn.execute(
                update(review_tasks)
                .where(review_tasks.c.task_id.in_(moot))
                .values(
                    status="superseded",
                    decided_at=at,
                    decided_by="identity run",
                    reason=f"run {run_id}: one golden record now, or the merge is refused",
                )
            )
        if rows:
            conn.execute(insert(review_tasks), rows)
    return len(rows)
