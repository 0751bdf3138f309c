"""Review pairs for records kept apart because a shared identifier cannot say who they are.

Two sources: the clusterer's ``held`` records (a sparse or weak record whose
auto-link evidence points at several clusters, :class:`c360.identity.cluster.ClusterResult`)
and the rules' ``shared_pairs`` (such a record sharing only a discounted identifier —
ambiguous value, household mailbox, a value several people hold — with a record whose
names do not conflict, :func:`c360.identity.rules.shared_pairs`). Each pair of golden
records gets at most one task.
"""

from __future__ import annotations

import json

import pyarrow as pa

from c360.engine import Engine
from c360.identity.schema import PAIRS, conform

SHARED_REASON = (
    "a shared identifier (household mailbox or phone) is evidence for none of its holders "
    "on its own: the record has no first name, or no birth date or SSN to tell them apart"
)


def held_pairs(held: list[tuple[str, str, str, float, float]], review: float) -> pa.Table:
    """Review pairs for records the clusterer kept apart (``ClusterResult.held``).

    Their scores are at or above the auto-link threshold; the task is shown at the
    review threshold's band floor at the least (``review``)."""
    reason = json.dumps({"held": "its evidence points at several golden records; " + SHARED_REASON})
    return pa.Table.from_pylist(
        [
            {
                "record_id_l": min(a, b),
                "record_id_r": max(a, b),
                "match_weight": float(w),
                "match_probability": max(float(p), review),
                "rule": f"held:{rule}",
                "detail": reason,
            }
            for a, b, rule, w, p in held
        ],
        schema=PAIRS,
    )


def review_pairs(
    engine: Engine, held: list[tuple[str, str, str, float, float]], review: float
) -> pa.Table:
    """Pairs (schema ``PAIRS``) for review tasks; needs tables ``shared_pairs`` and
    ``membership_all`` (record id → golden id) on ``engine``. ``review``: the review threshold."""
    engine.register("held_pairs", held_pairs(held, review))
    out = engine.query(
        """
        WITH c AS (
            SELECT * FROM held_pairs
            UNION ALL
            SELECT record_id_l, record_id_r, 0.0, CAST($review AS DOUBLE), 'shared_id:' || kind, $detail
            FROM shared_pairs
        )
        SELECT c.* FROM c
        JOIN membership_all ml ON ml.record_id = c.record_id_l
        JOIN membership_all mr ON mr.record_id = c.record_id_r
        WHERE ml.golden_id <> mr.golden_id
        QUALIFY row_number() OVER (
            PARTITION BY least(ml.golden_id, mr.golden_id), greatest(ml.golden_id, mr.golden_id)
            ORDER BY c.match_probability DESC, c.record_id_l, c.record_id_r) = 1
        """,
        {"review": float(review), "detail": json.dumps({"held": SHARED_REASON})},
    )
    return conform(out, PAIRS, "review pairs")
