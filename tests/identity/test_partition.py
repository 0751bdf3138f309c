"""Clustering in partitioned batches gives what one whole run gives.

The components are labelled in SQL and the greedy merge runs per batch of whole
components (the path identity takes on Spark). Here the batches run on DuckDB
(``Engine.apply_in_groups`` calls the merge once per batch) over what the real pipeline
produced for a generated world, with steward constraints and first-seen epochs added,
and the answer is compared with one ``Clusterer.run`` over everything.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from c360.engine import local_engine
from c360.errors import C360Error
from c360.identity import partition
from c360.identity.cluster import Clusterer
from c360.identity.model import hard_attributes, load_model
from c360.identity.pipeline import settings_of
from c360.synth import SynthOptions, generate_world
from c360.workspace import Workspace
from tests.conftest import world_env


def _union_find(edges: list[tuple[str, str]]) -> dict[str, str]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}


def test_components_label_each_node_with_the_smallest_of_its_component() -> None:
    rnd = random.Random(5)
    nodes = [f"n{i:04d}" for i in range(600)]
    rnd.shuffle(nodes)
    # a long path in shuffled id order (many rounds without pointer jumping), a star,
    # a cycle, pairs and a self-loop
    edges = list(itertools.pairwise(nodes[:301]))
    edges += [(nodes[400], n) for n in nodes[401:450]]
    edges += [(nodes[i], nodes[i + 1]) for i in range(450, 499)] + [(nodes[499], nodes[450])]
    edges += [(nodes[i], nodes[i + 1]) for i in range(500, 598, 2)]
    edges += [(nodes[599], nodes[599])]
    rounds: list[tuple[int, int]] = []
    with local_engine() as con:
        con.register("g", pa.table({"a": [a for a, _ in edges], "b": [b for _, b in edges]}))
        n = partition.components(con, "g", on_round=lambda r, c: rounds.append((r, c)))
        got = {r["node"]: r["label"] for r in con.query("SELECT node, label FROM cc").to_pylist()}
    want = _union_find([e for e in edges if e[0] != e[1]])
    assert got == want
    assert rounds[0] == (0, 2 * (len(edges) - 1)) and rounds[-1] == (n, 0)
    assert n <= 8  # contraction: far fewer rounds than the 300-node path is long


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    mp = world_env("p" * 40)
    ws = Workspace.init(tmp_path_factory.mktemp("partition") / "ws", template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=500, seed=9, days=1))
    report = ws.run(stages=["ingest", "identity"])
    assert report.stage("identity").status == "succeeded", report.to_dict()
    party = ws.lakehouse.read("silver", "party_records")
    pairs = ws.lakehouse.read("silver", "identity_pairs")
    auto = pairs.filter(
        pc.greater_equal(pairs["match_probability"], ws.config.identity.thresholds.auto_link)
    )
    st = settings_of(ws)
    loaded = load_model(ws.root / "models" / "identity")
    assert loaded is not None
    hard = hard_attributes(loaded[1], st.strict_max_disagreement)
    yield {"party": party, "auto": auto, "hard": hard}
    ws.close()
    mp.undo()


def _constraints(world: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A steward's decisions on real records: cannot-links inside clusters the model
    formed, must-links across clusters it kept apart."""
    whole = Clusterer(world["party"], world["hard"]).run(world["auto"]).assignment
    by_key: dict[str, list[str]] = {}
    for r, k in zip(whole["record_id"].to_pylist(), whole["cluster_key"].to_pylist(), strict=True):
        by_key.setdefault(k, []).append(r)
    multi = sorted(ms for ms in by_key.values() if len(ms) > 1)
    singles = sorted(ms[0] for ms in by_key.values() if len(ms) == 1)
    cannot = [(ms[0], ms[1]) for ms in multi[:5]]
    must = [(singles[i], singles[i + 1]) for i in range(0, 10, 2)] + [(multi[6][0], multi[7][0])]
    return must, cannot


def test_partitioned_merge_equals_one_whole_run(world: dict[str, Any]) -> None:
    party, auto, hard = world["party"], world["auto"], world["hard"]
    must, cannot = _constraints(world)
    ids = party["record_id"].to_pylist()
    # records resolved in an earlier run cluster first (epochs), a third of them here
    seen = {r: 1_000 + i % 3 for i, r in enumerate(ids) if i % 3 != 2}
    whole = Clusterer(party, hard).run(auto, must=must, cannot=cannot, first_seen=seen)
    with local_engine() as con:
        batched = partition.cluster(
            con, party, auto, hard=hard, must=must, cannot=cannot, first_seen=seen, batches=7
        )
        # nothing is left behind in the engine's database
        assert not {v for v in con.views() if v.startswith(("cl_", "cc"))}
        for working in ("cc", "cc_edges", "cl_links", "cl_batched_records"):
            with pytest.raises(con.errors):
                con.query(f"SELECT * FROM {working}")
    assert batched.assignment.equals(whole.assignment)
    assert (batched.merged, batched.refused) == (whole.merged, whole.refused)
    assert batched.held == whole.held
    # compared on something: merges, refusals and several multi-record components
    assert whole.merged > 100 and whole.refused > 0
    comps = whole.assignment["component"].value_counts().to_pylist()
    assert sum(1 for c in comps if c["counts"] > 1) > 50
    # the steward's decisions were honoured (so they reached their batches)
    key = dict(zip(ids, batched.assignment["cluster_key"].to_pylist(), strict=True))
    assert all(key[a] != key[b] for a, b in cannot)
    assert all(key[a] == key[b] for a, b in must)


@pytest.mark.parametrize("workers", [2, 3])
def test_merge_in_worker_processes_equals_one_whole_run(
    world: dict[str, Any], workers: int, tmp_path: Any
) -> None:
    """The same world merged in ``workers`` processes (the path of a large group on one
    machine) gives, record for record, what one run in this process gives."""
    party, auto, hard = world["party"], world["auto"], world["hard"]
    must, cannot = _constraints(world)
    ids = party["record_id"].to_pylist()
    seen = {r: 1_000 + i % 3 for i, r in enumerate(ids) if i % 3 != 2}
    whole = Clusterer(party, hard).run(auto, must=must, cannot=cannot, first_seen=seen)
    split = partition.cluster_in_processes(
        party,
        auto,
        hard=hard,
        must=must,
        cannot=cannot,
        first_seen=seen,
        workers=workers,
        scratch=tmp_path,
    )
    assert split.assignment.equals(whole.assignment)
    assert (split.merged, split.refused) == (whole.merged, whole.refused)
    assert split.held == whole.held and whole.held  # held records come back in order too
    assert not list(tmp_path.iterdir())  # the batches' files are gone
    key = dict(zip(ids, split.assignment["cluster_key"].to_pylist(), strict=True))
    assert all(key[a] != key[b] for a, b in cannot)
    assert all(key[a] == key[b] for a, b in must)


def test_a_failed_worker_process_says_what_it_printed(tmp_path: Any) -> None:
    """A worker that cannot read its batch stops the merge with its own error, not with a
    missing answer file."""
    from c360.identity import cluster_worker

    process = cluster_worker.start()
    assert process.stdin is not None
    process.stdin.write(f"{tmp_path / 'nothing-here'}\n".encode())
    process.stdin.flush()
    with pytest.raises(C360Error) as err:
        cluster_worker.answer(tmp_path / "nothing-here", process)
    assert err.value.code == "identity.cluster_failed"
    assert "exit status 1" in str(err.value) and "batch.json" in str(err.value)
