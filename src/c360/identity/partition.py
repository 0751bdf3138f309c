"""Clustering in partitioned batches: the greedy merge on an engine's workers.

:class:`~c360.identity.cluster.Clusterer` merges edges strongest first, one record
at a time, in Python. Its clusters never cross the connected components of the edges
(the auto-link pairs plus the steward's must- and cannot-links), and its choices inside
one component read nothing outside it. So the merge splits by component with the same
result:

1. **Components in SQL** (:func:`components`): rounds of hooking each record to its
   smallest neighbour, pointer jumping and contracting the graph, until no edge is
   left. Each component ends labelled with its smallest record id, the same
   ``component`` the Clusterer names.
2. **Batches**: a component goes whole to one of ``batches`` batches (a hash of its
   label); records without an edge are batches' singletons.
3. **The merge per batch**, through :meth:`Engine.apply_in_groups`: on Spark each
   batch's records and edges are cogrouped and clustered on a worker; in-process
   engines call it per batch.

The answer carries each batch's merge and refusal counts on its first row and each
held record's candidates on its own row, so the driver only sums and unnests.
:func:`cluster` is the pipeline's path on engines that are not in-process; on DuckDB the
pipeline clusters the whole group at once, and the tests check the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import pyarrow as pa

from c360.engine import Engine
from c360.identity.cluster import Clusterer, ClusterResult

__all__ = ["DEFAULT_BATCHES", "cluster", "components"]

#: batches the merge is split into on a cluster engine (a few per core of a small cluster)
DEFAULT_BATCHES = 16

# what the Clusterer reads of a party record
_RECORD_COLUMNS = (
    "record_id",
    "first_name",
    "first_key",
    "last_key",
    "dob",
    "ssn_token",
    "ssn_variants",
    "suffix",
)
_EDGE_COLUMNS = ("record_id_l", "record_id_r", "match_weight", "match_probability", "rule")

_HELD = pa.struct(
    [
        ("candidate", pa.string()),
        ("rule", pa.string()),
        ("weight", pa.float64()),
        ("probability", pa.float64()),
    ]
)
ANSWER = pa.schema(
    [
        ("record_id", pa.string()),
        ("cluster_key", pa.string()),
        ("component", pa.string()),
        ("rule", pa.string()),
        ("probability", pa.float64()),
        ("merged", pa.int64()),
        ("refused", pa.int64()),
        ("held", pa.list_(_HELD)),
    ]
)
# the Clusterer's assignment: the answer's first columns
_ASSIGNMENT = ANSWER.names[:5]


def components(con: Engine, edges: str, on_round: Callable[[int, int], None] | None = None) -> int:
    """Label the connected components of view ``edges`` (columns ``a``, ``b``) into
    working table ``cc(node, label)``: each node's label is the smallest node of its
    component. Returns the number of rounds; ``on_round(round, edges_left)`` is told
    before each and once at the end.

    Each round hooks every node of the remaining graph to the smallest of itself and its
    neighbours, follows those hooks to their roots (pointer jumping: a chain of ``k``
    hooks in about log2 ``k`` steps), relabels every node with its root, and keeps the
    edges between different roots. A root is the smallest node of its tree, so labels
    only fall and stay inside their component; the graph shrinks until no edge is left.
    """
    con.execute(f"""
        CREATE OR REPLACE TABLE cc_edges AS
        SELECT a, b FROM {edges} WHERE a <> b UNION SELECT b AS a, a AS b FROM {edges} WHERE a <> b
    """)
    con.execute("CREATE OR REPLACE TABLE cc AS SELECT DISTINCT a AS node, a AS label FROM cc_edges")
    rounds = 0
    while True:
        left = int(con.scalar("SELECT count(*) FROM cc_edges"))
        if on_round is not None:
            on_round(rounds, left)
        if left == 0:
            return rounds
        rounds += 1
        con.execute(
            "CREATE OR REPLACE TABLE cc_hook AS SELECT a AS node, least(a, min(b)) AS up"
            " FROM cc_edges GROUP BY a"
        )
        while con.scalar(
            "SELECT count(*) FROM cc_hook h JOIN cc_hook u ON u.node = h.up WHERE u.up <> h.up"
        ):
            con.execute("""
                CREATE OR REPLACE TABLE cc_hook AS
                SELECT h.node, coalesce(u.up, h.up) AS up
                FROM cc_hook h LEFT JOIN cc_hook u ON u.node = h.up
            """)
        con.execute("""
            CREATE OR REPLACE TABLE cc AS
            SELECT c.node, coalesce(h.up, c.label) AS label
            FROM cc c LEFT JOIN cc_hook h ON h.node = c.label
        """)
        con.execute("""
            CREATE OR REPLACE TABLE cc_edges AS
            SELECT DISTINCT x.up AS a, y.up AS b FROM cc_edges e
            JOIN cc_hook x ON x.node = e.a JOIN cc_hook y ON y.node = e.b
            WHERE x.up <> y.up
        """)


def cluster(
    con: Engine,
    records: pa.Table,
    edges: pa.Table,
    *,
    hard: frozenset[str],
    must: Sequence[tuple[str, str]] = (),
    cannot: Sequence[tuple[str, str]] = (),
    first_seen: dict[str, int] | None = None,
    batches: int = DEFAULT_BATCHES,
) -> ClusterResult:
    """What ``Clusterer(records, hard).run(edges, …)`` answers, computed on ``con`` in
    ``batches`` batches of whole components (see the module's docstring)."""
    seen = first_seen or {}
    ids = records["record_id"].to_pylist()
    con.register(
        "cl_records",
        records.select([c for c in _RECORD_COLUMNS if c in records.column_names])
        .append_column("first_seen", pa.array([seen.get(r) for r in ids], pa.int64()))
        .append_column("pos", pa.array(range(len(ids)), pa.int64())),
    )
    con.register(
        "cl_edges_in",
        edges.select(list(_EDGE_COLUMNS)).append_column(
            "epos", pa.array(range(edges.num_rows), pa.int64())
        ),
    )
    con.register(
        "cl_constraints",
        pa.table(
            {
                "a": pa.array([a for a, _ in (*must, *cannot)], pa.string()),
                "b": pa.array([b for _, b in (*must, *cannot)], pa.string()),
            }
        ),
    )
    # edges and constraints between records of this group only, as the Clusterer reads them
    con.execute("""
        CREATE OR REPLACE TABLE cl_links AS
        SELECT e.record_id_l AS a, e.record_id_r AS b FROM cl_edges_in e
        JOIN cl_records l ON l.record_id = e.record_id_l
        JOIN cl_records r ON r.record_id = e.record_id_r
        UNION ALL
        SELECT k.a, k.b FROM cl_constraints k
        JOIN cl_records l ON l.record_id = k.a JOIN cl_records r ON r.record_id = k.b
    """)
    components(con, "cl_links")
    con.execute(
        f"""
        CREATE OR REPLACE TABLE cl_batched_records AS
        SELECT r.*, CAST(abs(hash(coalesce(c.label, r.record_id))) % {int(batches)} AS BIGINT)
            AS batch
        FROM cl_records r LEFT JOIN cc c ON c.node = r.record_id
        """
    )
    con.execute("""
        CREATE OR REPLACE TABLE cl_batched_edges AS
        SELECT e.*, r.batch FROM cl_edges_in e
        JOIN cl_batched_records r ON r.record_id = e.record_id_l
        JOIN cl_batched_records o ON o.record_id = e.record_id_r
    """)
    con.apply_in_groups(
        "cl_answer",
        ["cl_batched_records", "cl_batched_edges"],
        "batch",
        # a plain function of its arguments: it runs on the engine's workers
        partial(_merge_batch, hard=hard, must=tuple(must), cannot=tuple(cannot)),
        ANSWER,
    )
    # in the order of ``records``, as the Clusterer answers
    answer = con.query(
        "SELECT a.* FROM cl_answer a JOIN cl_records r USING (record_id) ORDER BY r.pos"
    )
    for view in ("cl_records", "cl_edges_in", "cl_constraints", "cl_answer"):
        con.unregister(view)
    # the working tables too: on an in-process engine they live in its database
    for working in (
        "cl_links",
        "cl_batched_records",
        "cl_batched_edges",
        "cc",
        "cc_hook",
        "cc_edges",
    ):
        con.execute(f"DROP TABLE IF EXISTS {working}")
    return _result(answer)


def _merge_batch(
    records: pa.Table,
    edges: pa.Table,
    *,
    hard: frozenset[str],
    must: Sequence[tuple[str, str]],
    cannot: Sequence[tuple[str, str]],
) -> pa.Table:
    """One batch of whole components clustered, as rows of :data:`ANSWER`."""
    if records.num_rows == 0:
        return ANSWER.empty_table()
    records = records.sort_by("pos")
    ids = records["record_id"].to_pylist()
    seen = {
        r: int(e)
        for r, e in zip(ids, records["first_seen"].to_pylist(), strict=True)
        if e is not None
    }
    # input order kept: ties in the merge order fall to it, as in one whole run
    result = Clusterer(records, hard).run(
        edges.sort_by("epos").select(list(_EDGE_COLUMNS)), must=must, cannot=cannot, first_seen=seen
    )
    n = result.assignment.num_rows
    held: dict[str, list[dict[str, Any]]] = {}
    for s, c, rule, w, p in result.held:
        held.setdefault(s, []).append({"candidate": c, "rule": rule, "weight": w, "probability": p})
    assigned = result.assignment["record_id"].to_pylist()
    return (
        result.assignment.select(_ASSIGNMENT)
        .append_column("merged", pa.array([result.merged] + [0] * (n - 1), pa.int64()))
        .append_column("refused", pa.array([result.refused] + [0] * (n - 1), pa.int64()))
        .append_column("held", pa.array([held.get(r) for r in assigned], pa.list_(_HELD)))
    )


def _result(answer: pa.Table) -> ClusterResult:
    held = [
        (r, h["candidate"], h["rule"], h["weight"], h["probability"])
        for r, hs in zip(answer["record_id"].to_pylist(), answer["held"].to_pylist(), strict=True)
        if hs
        for h in hs
    ]
    return ClusterResult(
        answer.select(_ASSIGNMENT),
        refused=int(sum(answer["refused"].to_pylist())),
        merged=int(sum(answer["merged"].to_pylist())),
        held=held,
    )
