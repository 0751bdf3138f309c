"""The steward queue on the real path (synth → run): only decidable pairs, ranked, comparable."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow.types as pa_types
import pytest

from c360.identity import model
from c360.identity.cluster import Clusterer
from c360.identity.display import proper_name, proper_street
from c360.identity.pipeline import settings_of
from c360.synth import SynthOptions, generate_world
from c360.workspace import Workspace
from tests.core.cli_helpers import c360

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    import os

    os.environ.setdefault("C360_TOKEN_KEY", "test-key-0123456789abcdef0123456789abcdef")
    root = tmp_path_factory.mktemp("queue") / "ws"
    ws = Workspace.init(root, template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=400, seed=7, days=1))
    ws.config.identity.thresholds.review = 0.3  # a wide band, so the queue has work in it
    report = ws.run()
    assert report.status == "succeeded", report.to_dict()
    yield ws
    ws.close()


def _open(ws: Workspace) -> list[dict]:
    return ws.identity.review_list("open", limit=100_000)


def test_queue_holds_only_pairs_a_person_can_decide(world: Workspace) -> None:
    tasks = _open(world)
    assert tasks, "a wide review band on 400 people should leave some work"
    links = world.identity.links()
    golden = dict(zip(links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True))
    members: dict[str, list[str]] = {}
    for r, g in golden.items():
        members.setdefault(g, []).append(r)
    party = world.lakehouse.read("silver", "party_records")
    loaded = model.load_model(world.root / "models" / "identity")
    assert loaded is not None
    hard = model.hard_attributes(loaded[1], settings_of(world).strict_max_disagreement)
    clusterer = Clusterer(party, hard)
    pairs = set()
    for t in tasks:
        gl, gr = golden[t["record_id_l"]], golden[t["record_id_r"]]
        assert gl != gr and {gl, gr} == {t["golden_id_l"], t["golden_id_r"]}
        assert clusterer.explain_refusal(members[gl], members[gr]) is None, t
        pairs.add(frozenset((gl, gr)))
    assert len(pairs) == len(tasks), "one task per pair of golden records"


def test_queue_is_ranked_by_expected_impact(world: Workspace) -> None:
    tasks = _open(world)
    impacts = [t["detail"]["impact"] for t in tasks]
    assert impacts == sorted(impacts, reverse=True)
    for t in tasks:
        size_l, size_r = t["detail"]["records"]
        assert t["detail"]["impact"] == pytest.approx(t["probability"] * min(size_l, size_r), 1e-3)


def test_list_json_detail_is_an_object_not_a_string(world: Workspace, capsys) -> None:
    res = c360(capsys, "-w", str(world.root), "review", "list", "--json", "--limit", "3")
    assert res.code == 0, res.err
    for t in json.loads(res.out):
        assert isinstance(t["detail"], dict)
        assert isinstance(t["detail"]["detail"], dict | None)


def test_show_compares_values_side_by_side_in_display_case(world: Workspace, capsys) -> None:
    task = _open(world)[0]
    shown = world.identity.review_show(task["task_id"])
    rows = {r["field"]: r for r in shown["compare"]}
    assert {"first_name", "last_name", "dob", "street"} <= set(rows)
    party = world.lakehouse.read("silver", "party_records").to_pylist()
    rec = next(p for p in party if p["record_id"] == shown["explain"]["records"][0])
    assert rows["last_name"]["left"] == proper_name(rec["last_name"])
    assert rows["street"]["left"] == proper_street(rec["street"])
    res = c360(capsys, "-w", str(world.root), "review", "show", str(task["task_id"]))
    assert res.code == 0, res.err
    if rec["last_name"]:
        assert proper_name(rec["last_name"]) in res.out


def test_show_masks_per_role(world: Workspace) -> None:
    from c360.errors import C360Error

    task = _open(world)[0]
    with pytest.raises(C360Error) as err:
        world.identity.review_show(task["task_id"], role="marketing")
    assert err.value.code.startswith("governance.")


def test_batch_decisions_check_every_id_first(world: Workspace, capsys) -> None:
    a, b = (t["task_id"] for t in _open(world)[-2:])
    res = c360(capsys, "-w", str(world.root), "review", "reject", str(a), str(b), "--reason", "x")
    assert res.code == 0, res.err
    statuses = {t["task_id"]: t["status"] for t in world.identity.review_list("all", 100_000)}
    assert statuses[a] == statuses[b] == "rejected"
    c = _open(world)[0]["task_id"]
    res = c360(capsys, "-w", str(world.root), "review", "approve", str(c), str(a), "--reason", "y")
    assert res.code == 1 and "identity.task_closed" in res.err
    assert {t["task_id"]: t["status"] for t in world.identity.review_list("all", 100_000)}[
        c
    ] == "open"


def test_decided_pairs_leave_the_queue_after_the_next_run(world: Workspace) -> None:
    from c360.freshness import stage_status

    assert {s.stage: s.state for s in stage_status(world)}["consent"] == "fresh"
    world.identity.run()
    consent = {s.stage: s for s in stage_status(world)}["consent"]
    assert consent.state == "stale" and "gold.identity_links" in consent.why, consent
    rejected = world.identity.review_list("rejected", 100_000)
    open_pairs = {(t["record_id_l"], t["record_id_r"]) for t in _open(world)}
    for t in rejected:
        assert (t["record_id_l"], t["record_id_r"]) not in open_pairs


def test_golden_records_are_display_ready_with_typed_provenance(world: Workspace) -> None:
    from c360.identity.names import fold

    golden = world.lakehouse.read("gold", "golden_customers")
    assert pa_types.is_struct(golden.schema.field("provenance").type)
    rows = golden.to_pylist()
    named = [r for r in rows if r["first_name"] and r["last_name"]]
    assert named
    for r in named:
        assert r["first_name"][0].isupper() and r["last_name"][0].isupper(), r
        assert proper_name(r["first_name"]) == r["first_name"]
        origin = r["provenance"]["name"]
        assert origin is not None and origin["source"] in r["sources"]
    streets = [r["street"] for r in rows if r["street"]]
    assert streets and all(s == proper_street(s) and s != s.upper() for s in streets[:50])
    # matching keeps the standardised forms
    party = world.lakehouse.read("silver", "party_records")
    firsts = [f for f in party["first_name"].to_pylist() if f]
    assert firsts and all(f == fold(f) for f in firsts[:50])


def test_golden_consent_speaks_the_gates_vocabulary(world: Workspace) -> None:
    table = world.lakehouse.read("gold", "golden_consent").slice(0, 15).to_pylist()
    assert table
    for row in table:
        at = row["consent_as_of"]
        for c in row["consent"]:
            d = world.consent.check(row["golden_id"], c["purpose"], c["channel"], at)
            assert d.allowed == c["allowed"]
            assert c["reason"] in d.reasons, (row["golden_id"], c, d.reasons)
            assert c["reason"] != "allowed"
