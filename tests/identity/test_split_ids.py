"""Stable ids through a merge and the split that undoes it (``c360.identity.ids.assign``)."""

from __future__ import annotations

from datetime import UTC, datetime

from c360.identity.ids import assign

AT = datetime(2025, 1, 1, tzinfo=UTC)


def test_split_after_merge_gives_each_part_its_own_id_back() -> None:
    # before: A = {a1, a2} is GA, B = {b1} is GB; the merge kept GA (larger) and absorbed GB
    merged = assign(
        {"k1": ["a1", "a2", "b1"]},
        {"a1": "GA", "a2": "GA", "b1": "GB"},
        {"GA", "GB"},
        run_id="r2",
        at=AT,
    )
    assert merged.golden_of_cluster == {"k1": "GA"}
    assert [(e["event_type"], e["golden_id"]) for e in merged.events] == [("merge", "GB")]
    # the steward undoes it: b1 is its own cluster again
    split = assign(
        {"k1": ["a1", "a2"], "k2": ["b1"]},
        {"a1": "GA", "a2": "GA", "b1": "GA"},
        {"GA", "GB"},
        run_id="r3",
        at=AT,
        former={"b1": {"GB"}},
    )
    assert split.golden_of_cluster == {"k1": "GA", "k2": "GB"}
    (event,) = split.events
    assert (event["event_type"], event["golden_id"], event["related_golden_id"]) == (
        "split",
        "GB",
        "GA",
    )
    assert "take back their former id GB" in event["reason"]


def test_survivor_stays_with_its_native_records_even_when_the_absorbed_part_is_larger() -> None:
    # GS had one record; three records of GX were merged into it (e.g. by a must-link)
    split = assign(
        {"k0": ["x1", "x2", "x3"], "k9": ["s1"]},
        {"s1": "GS", "x1": "GS", "x2": "GS", "x3": "GS"},
        {"GS", "GX"},
        run_id="r",
        at=AT,
        former={"x1": {"GX"}, "x2": {"GX"}, "x3": {"GX"}},
    )
    assert split.golden_of_cluster == {"k9": "GS", "k0": "GX"}


def test_two_rounds_of_merges_unwind_to_the_most_specific_ids() -> None:
    # A (GA) was absorbed by B (GB); then that record was absorbed by C (GC)
    former = {"a1": {"GA", "GB"}, "b1": {"GB"}}
    split = assign(
        {"ka": ["a1"], "kb": ["b1"], "kc": ["c1"]},
        {"a1": "GC", "b1": "GC", "c1": "GC"},
        {"GA", "GB", "GC"},
        run_id="r",
        at=AT,
        former=former,
    )
    assert split.golden_of_cluster == {"ka": "GA", "kb": "GB", "kc": "GC"}


def test_a_split_that_was_never_merged_still_mints_a_new_id() -> None:
    split = assign(
        {"k1": ["r1", "r2"], "k2": ["r3"]},
        {"r1": "G1", "r2": "G1", "r3": "G1"},
        {"G1"},
        run_id="r",
        at=AT,
        former={},
    )
    assert split.golden_of_cluster["k1"] == "G1"
    assert split.golden_of_cluster["k2"] not in {"G1"}
    assert split.events[0]["event_type"] == "split"
    assert "take back" not in split.events[0]["reason"]


def test_an_absorbed_id_is_taken_back_only_once() -> None:
    split = assign(
        {"k1": ["s1"], "k2": ["x1"], "k3": ["x2"]},
        {"s1": "GS", "x1": "GS", "x2": "GS"},
        {"GS", "GX"},
        run_id="r",
        at=AT,
        former={"x1": {"GX"}, "x2": {"GX"}},
    )
    ids = split.golden_of_cluster
    assert ids["k1"] == "GS"
    assert sorted([ids["k2"], ids["k3"]]).count("GX") == 1
    assert len(set(ids.values())) == 3


def test_unchanged_clusters_left_out_change_no_answer() -> None:
    """The pipeline leaves out the clusters that keep their id (``ids.unchanged``) and
    passes the group's previous ids as ``live``: the others get what the whole call gives
    them, a new person's ``create`` event included when only new records are left."""
    clusters = {"k1": ["a1", "a2"], "k2": ["b1", "b2"], "k3": ["n1"], "k4": ["c1", "d1"]}
    previous = {"a1": "GA", "a2": "GA", "b1": "GB", "b2": "GB", "c1": "GC", "d1": "GD"}
    issued = {"GA", "GB", "GC", "GD"}
    whole = assign(clusters, previous, issued, run_id="r2", at=AT)
    assert sorted(e["event_type"] for e in whole.events) == ["create", "merge"]
    # k1 and k2 keep GA and GB untouched; k3 is a new person, k4 merged GC and GD
    left = {"k3": ["n1"], "k4": ["c1", "d1"]}
    part = assign(
        left,
        {"c1": "GC", "d1": "GD"},
        issued,
        run_id="r2",
        at=AT,
        live=set(previous.values()),
    )
    assert part.golden_of_cluster == {k: whole.golden_of_cluster[k] for k in left}
    assert part.events == whole.events
    # only the new person left: still a create event, since ids were issued before
    alone = assign({"k3": ["n1"]}, {}, issued, run_id="r2", at=AT, live=set(previous.values()))
    assert [e["event_type"] for e in alone.events] == ["create"]


def test_new_people_alone_are_created_and_a_first_run_creates_nobody() -> None:
    """A drop whose re-clustered group holds only new records (nobody it touches had an
    id) still records each new person's ``create`` event; a first run (no id ever
    issued) records none."""
    drop = assign(
        {"k1": ["n1"], "k2": ["n2", "n3"]}, {}, {"GA", "GB"}, run_id="r2", at=AT, live=set()
    )
    assert [e["event_type"] for e in drop.events] == ["create", "create"]
    assert set(drop.golden_of_cluster.values()).isdisjoint({"GA", "GB"})
    first = assign({"k1": ["n1"], "k2": ["n2", "n3"]}, {}, set(), run_id="r1", at=AT)
    assert first.events == []
