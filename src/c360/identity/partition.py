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

On one machine, :func:`cluster_in_processes` splits the same way with the components
found in memory (scipy) and runs the batches in worker processes, one per core: the
merge is Python, so one process uses one core, and at 1M records it is about a fifth
of the run.

The answer carries each batch's merge and refusal counts on its first row and each
held record's candidates on its own row, so the driver only sums and unnests.
:func:`cluster` is the pipeline's path on engines that are not in-process; on DuckDB the
pipeline clusters the whole group at once, and the tests check the two agree.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c360.engine import Engine
from c360.identity import cluster_worker
from c360.identity.cluster import Clusterer, ClusterResult, components_of
from c360.identity.cluster_worker import Batch as _Batch

__all__ = [
    "DEFAULT_BATCHES",
    "PROCESS_MIN_RECORDS",
    "cluster",
    "cluster_in_processes",
    "components",
]

#: batches the merge is split into on a cluster engine (a few per core of a small cluster)
DEFAULT_BATCHES = 16

#: the group size from which :func:`cluster_in_processes` starts worker processes:
#: below it, starting one (about a second) costs more than half the merge saves
PROCESS_MIN_RECORDS = 150_000

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


def cluster_in_processes(
    records: pa.Table,
    edges: pa.Table,
    *,
    hard: frozenset[str],
    must: Sequence[tuple[str, str]] = (),
    cannot: Sequence[tuple[str, str]] = (),
    first_seen: dict[str, int] | None = None,
    workers: int,
    scratch: Path | None = None,
) -> ClusterResult:
    """What ``Clusterer(records, hard).run(edges, …)`` answers, the components split into
    ``workers`` batches: this process merges one, worker processes the others.

    A worker is a new interpreter (``python -m c360.identity.cluster_worker``), not a fork
    of this process, which holds DuckDB's and Arrow's threads (a fork may inherit a lock
    one of them held); its batch and answer go through Arrow files in a temporary folder
    under ``scratch``. Each batch keeps the input's order of records and edges, so ties
    in the merge order fall as in one whole run, and the answer comes back in the order
    of ``records`` with the held pairs in the order one run gives them."""
    n = records.num_rows
    if workers < 2 or n == 0:
        return Clusterer(records, hard).run(edges, must=must, cannot=cannot, first_seen=first_seen)
    processes = [cluster_worker.start() for _ in range(workers - 1)]
    try:
        return _split_and_run(records, edges, hard, must, cannot, first_seen, processes, scratch)
    finally:
        for process in processes:  # ended, or stopped if the split failed
            if process.poll() is None:
                process.kill()
                process.wait()


def _split_and_run(
    records: pa.Table,
    edges: pa.Table,
    hard: frozenset[str],
    must: Sequence[tuple[str, str]],
    cannot: Sequence[tuple[str, str]],
    first_seen: dict[str, int] | None,
    processes: list[subprocess.Popen[bytes]],
    scratch: Path | None,
) -> ClusterResult:
    n, workers = records.num_rows, len(processes) + 1
    ids = records["record_id"].combine_chunks().cast(pa.string())

    def positions(values: Sequence[str]) -> np.ndarray:
        """Where each of a few ``values`` stands in ``ids`` (-1: not there); the few are
        hashed, not the million."""
        unique = list(dict.fromkeys(values))
        if not unique:
            return np.empty(0, np.int64)
        at = pc.fill_null(pc.index_in(ids, value_set=pa.array(unique, pa.string())), -1)
        at = at.to_numpy().astype(np.int64)
        found = np.full(len(unique), -1, np.int64)
        found[at[at >= 0]] = np.flatnonzero(at >= 0)
        slot = {v: k for k, v in enumerate(unique)}
        return found[[slot[v] for v in values]]

    pairs = [*must, *cannot]
    a, b = positions([p[0] for p in pairs]), positions([p[1] for p in pairs])
    inside = (a >= 0) & (b >= 0)
    # both ends looked up in one pass (one hash table of a million ids, not two)
    ends_at = pc.index_in(
        pa.chunked_array(edges["record_id_l"].chunks + edges["record_id_r"].chunks, pa.string()),
        value_set=ids,
    ).combine_chunks()
    m = edges.num_rows
    left, right = ends_at.slice(0, m), ends_at.slice(m)
    component = components_of(n, left, right, list(zip(a[inside], b[inside], strict=True)))
    # whole components to batches of about n / workers records: consecutive components
    # by label, each to the batch its first record's running count falls in
    before = np.cumsum(np.bincount(component)) - np.bincount(component)
    record_batch = (before * workers // n)[component]
    # an edge with an end outside the group joins nothing: it goes with its other end
    edge_end = pc.fill_null(pc.coalesce(left, right), -1).to_numpy().astype(np.int64)
    edge_batch = np.where(edge_end < 0, -1, record_batch[np.maximum(edge_end, 0)])
    # a constraint goes with its first end (the Clusterer ignores one that leaves its group)
    pair_batch = np.where(a >= 0, record_batch[np.maximum(a, 0)], -1)
    seen = first_seen or {}
    epochs = pc.take(
        pa.array(list(seen.values()), pa.int64()),
        pc.index_in(ids, value_set=pa.array(list(seen), pa.string())),
    )
    # only what the merge reads (a party record has about 40 columns, some of them lists)
    with_epochs = records.select(
        [c for c in _RECORD_COLUMNS if c in records.column_names]
    ).append_column("_first_seen", epochs)
    edges = edges.select(list(_EDGE_COLUMNS))
    jobs = [
        _Batch(
            with_epochs.filter(pa.array(record_batch == k)),
            edges.filter(pa.array(edge_batch == k)),
            [p for p, w in zip(must, pair_batch[: len(must)], strict=True) if w == k],
            [p for p, w in zip(cannot, pair_batch[len(must) :], strict=True) if w == k],
        )
        for k in range(workers)
    ]
    with tempfile.TemporaryDirectory(prefix="c360-cluster-", dir=scratch) as tmp:
        folders = [Path(tmp) / f"batch-{k}" for k in range(1, workers)]
        for folder, job, process in zip(folders, jobs[1:], processes, strict=True):
            job.write(folder, hard)
            # a worker that died starting (a broken pipe) is reported by answer(), with
            # its exit status and message
            with contextlib.suppress(BrokenPipeError):
                process.stdin.write(f"{folder}\n".encode())  # type: ignore[union-attr]
                process.stdin.flush()  # type: ignore[union-attr]
        results = [jobs[0].run(hard)]
        results += [cluster_worker.answer(f, p) for f, p in zip(folders, processes, strict=True)]
    assignment = pa.concat_tables([r.assignment for r in results])
    # each batch answers in its records' order: put the rows back where they came from
    came_from = np.concatenate([np.flatnonzero(record_batch == k) for k in range(workers)])
    order = pa.array(np.argsort(came_from, kind="stable"))
    held = [h for r in results for h in r.held]
    at = positions([h[0] for h in held])
    # stable: each record's candidates keep their order
    held = [held[i] for i in np.argsort(at, kind="stable")]
    return ClusterResult(
        assignment.take(order),
        refused=sum(r.refused for r in results),
        merged=sum(r.merged for r in results),
        held=held,
    )
