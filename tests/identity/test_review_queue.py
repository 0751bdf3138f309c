"""The steward queue on the real path (synth → run): only decidable pairs, ranked, comparable."""

from __future__ import annotations

import itertools
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


# ---------------------------------------------------------------------- the evidence a steward reads
def _pairs(world: Workspace) -> list[dict]:
    return world.lakehouse.read("silver", "identity_pairs").to_pylist()


def test_evidence_weights_are_splinks_level_by_level(world: Workspace) -> None:
    """On scored pairs the prior and the per-comparison weights add up to the stored match
    weight, and each level evaluated from the saved model is the one Splink scored."""
    import math

    loaded = model.load_model(world.root / "models" / "identity")
    assert loaded is not None
    settings = loaded[1]
    levels = {c["output_column_name"]: c["comparison_levels"] for c in settings["comparisons"]}
    party = {r["record_id"]: r for r in world.lakehouse.read("silver", "party_records").to_pylist()}
    scored = [p for p in _pairs(world) if p["rule"] == "splink"][::40][:25]
    assert len(scored) >= 10
    checked = 0
    for p in scored:
        ev = world.identity.evidence(p["record_id_l"], p["record_id_r"])
        assert ev["scored"] and ev["prior"]["probability"] == pytest.approx(
            settings["probability_two_random_records_match"]
        )
        assert ev["total_weight"] == pytest.approx(p["match_weight"], abs=0.06)
        for c in ev["comparisons"]:
            level = next(
                lv
                for lv in levels[c["comparison"]]
                if ("null level" if lv.get("is_null_level") else lv["label_for_charts"])
                == c["level"]
            )
            if level.get("is_null_level"):
                assert c["weight"] == 0.0 and c["state"] in ("missing", "neutral")
                column = {"first_name": "first_key", "last_name": "last_key", "ssn": "ssn_token"}
                col = column.get(c["comparison"], c["comparison"])
                blank = [party[r][col] is None for r in ev["records"]]
                assert (c["state"] == "missing") == any(blank), c
            elif "tf_adjustment_column" not in level and level.get("m_probability"):
                expected = math.log2(level["m_probability"] / level["u_probability"])
                assert c["weight"] == pytest.approx(expected, abs=0.011), (p, c)
                checked += 1
            if c["state"] in ("for", "against"):
                assert abs(c["weight"]) >= 0.1 and (c["weight"] > 0) == (c["state"] == "for")
    assert checked > 0


def test_missing_and_neutral_are_told_apart_in_words(world: Workspace) -> None:
    seen = set()
    for t in _open(world):
        for c in world.identity.evidence(t["record_id_l"], t["record_id_r"])["comparisons"]:
            seen.add(c["state"])
            if c["state"] == "missing":
                assert c["state_label"] == "missing"
                assert (
                    "record has no value" in c["note"] or c["note"] == "neither record has a value"
                )
                assert c["left"] is None or c["right"] is None
            if c["state"] == "neutral":
                assert c["state_label"] == "neutral" and c["note"].startswith("carries no evidence")
                assert c["left"] is not None and c["right"] is not None
    assert {"missing", "neutral"} <= seen, seen


def test_evidence_names_other_golden_records_holding_the_same_identifiers(world: Workspace) -> None:
    party = world.lakehouse.read("silver", "party_records").to_pylist()
    golden = {
        r: g
        for r, g in zip(
            *(world.identity.links()[c].to_pylist() for c in ("record_id", "golden_id")),
            strict=True,
        )
    }
    holders: dict[tuple[str, str], set[str]] = {}
    for r in party:
        g = golden.get(r["record_id"])
        for kind in ("email", "phone"):
            for v in r[f"{kind}s"] or []:
                holders.setdefault((kind, v), set()).add(g)
        if r["street"] and r["zip"]:
            holders.setdefault(("address", f"{r['street']}|{r['zip']}"), set()).add(g)
    found_other = 0
    for t in _open(world):
        ev = world.identity.evidence(t["record_id_l"], t["record_id_r"])
        own = set(ev["golden_ids"])
        by_id = {r["record_id"]: r for r in party if r["record_id"] in ev["records"]}
        expected = {}
        for side, rid in zip(("left", "right"), ev["records"], strict=True):
            r = by_id[rid]
            values = [("email", v) for v in r["emails"] or []]
            values += [("phone", v) for v in r["phones"] or []]
            if r["street"] and r["zip"]:
                values.append(("address", f"{r['street']}|{r['zip']}"))
            for kind, v in values:
                expected.setdefault((kind, v), []).append(side)
        assert len(ev["shared"]) == len(expected)
        for s in ev["shared"]:
            # the steward reads emails and phones in clear: the shown value is the value
            key = (
                (s["kind"], s["value"])
                if s["kind"] != "address"
                else next(k for k in expected if k[0] == "address" and s["held_by"] == expected[k])
            )
            assert s["held_by"] == expected[key]
            others = holders[key] - own - {None}
            assert s["other_golden_count"] == len(others)
            assert set(s["other_golden_ids"]) <= others
            found_other += bool(others)
    assert found_other, "no queued pair shares an identifier with a third golden record"


def test_a_link_through_a_third_record_shows_its_chain(world: Workspace) -> None:
    auto = world.config.identity.thresholds.auto_link
    strong = {
        (p["record_id_l"], p["record_id_r"]): p
        for p in _pairs(world)
        if p["match_probability"] >= auto
    }
    links = world.identity.links()
    members: dict[str, list[str]] = {}
    for r, g in zip(links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True):
        members.setdefault(g, []).append(r)
    pair = next(
        (a, b)
        for g in sorted(members)
        for a in sorted(members[g])
        for b in sorted(members[g])
        if a < b and (a, b) not in strong
    )
    ev = world.identity.evidence(*pair)
    assert ev["linked"] and ev["path"] and len(ev["path"]) >= 2
    hops = ev["path"]
    assert hops[0]["from"] == pair[0] and hops[-1]["to"] == pair[1]
    for h, nxt in itertools.pairwise(hops):
        assert h["to"] == nxt["from"]
    gid = ev["golden_ids"][0]
    for h in hops:
        stored = strong[tuple(sorted((h["from"], h["to"])))]
        assert h["rule"] == stored["rule"] and h["match_weight"] == stored["match_weight"]
        assert world.identity.golden_id(h["to"]) == gid


def test_a_deterministic_rule_names_the_identifier_it_used(world: Workspace) -> None:
    party = {r["record_id"]: r for r in world.lakehouse.read("silver", "party_records").to_pylist()}
    for rule in ("email", "phone", "ssn", "reference", "email_typo"):
        p = next(p for p in _pairs(world) if p["rule"] == rule)
        ev = world.identity.evidence(p["record_id_l"], p["record_id_r"])
        row = next(e for e in ev["evidence"] if e["rule"] == rule)
        ident = row["identifier"]
        a, b = (party[r] for r in ev["records"])
        if rule in ("email", "phone"):
            assert ident["kind"] == rule and ident["values"]
            for v in ident["values"]:
                assert v in a[f"{rule}s"] and v in b[f"{rule}s"]
        elif rule == "ssn":
            assert ident["kind"] == "SSN" and a["ssn_token"] == b["ssn_token"]
            assert ident["values"] == [f"last four {a['ssn_last4']}"]
        elif rule == "email_typo":
            assert ident["kind"] == "email (one keystroke apart)" and ident["values"]
            for shown in ident["values"]:
                x, y = shown.split(" ~ ")
                assert x != y and x in a["emails"] and y in b["emails"]
        else:
            assert ident["kind"] == "source reference"
            assert ident["values"][0] in ev["records"]
            assert set(ev["records"]) & {*(a["refs"] or []), *(b["refs"] or [])}


def test_explain_cli_prints_the_same_evidence(world: Workspace, capsys) -> None:
    t = next(t for t in _open(world) if t["detail"]["rule"] == "splink")
    keys = (t["record_id_l"], t["record_id_r"])
    res = c360(capsys, "-w", str(world.root), "identity", "explain", *keys, "--json")
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert {"comparisons", "prior", "shared", "path", "constraint", "compare"} <= set(data)
    assert data["comparisons"] == json.loads(
        json.dumps(world.identity.evidence(*keys)["comparisons"])
    )
    res = c360(capsys, "-w", str(world.root), "identity", "explain", *keys)
    assert res.code == 0, res.err
    assert "prior" in res.out and f"{data['prior']['match_weight']:+.2f}" in res.out
    assert "total match weight" in res.out
    for c in data["comparisons"]:
        assert c["comparison"] in res.out


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


def test_a_decision_is_a_constraint_the_next_run_applies(world: Workspace) -> None:
    """Reject keeps two records apart and approve merges them, from the next run on; the
    evidence names the decision in force."""
    tasks = [t for t in _open(world) if t["detail"]["rule"] == "splink"]
    assert len(tasks) >= 2, "needs two open tasks"
    reject, approve = tasks[0], tasks[1]
    world.identity.review_reject(reject["task_id"], actor="ann", reason="different people")
    world.identity.review_approve(approve["task_id"], actor="ann", reason="same person")
    keys_r = (reject["record_id_l"], reject["record_id_r"])
    keys_a = (approve["record_id_l"], approve["record_id_r"])
    before = world.identity.evidence(*keys_a)
    assert not before["linked"] and before["constraint"]["kind"] == "must_link"
    world.identity.run()
    after_r = world.identity.evidence(*keys_r)
    assert not after_r["linked"] and after_r["golden_ids"][0] != after_r["golden_ids"][1]
    assert after_r["refused_by"] == "steward cannot-link"
    assert after_r["constraint"]["kind"] == "cannot_link"
    assert after_r["constraint"]["created_by"] == "ann"
    after_a = world.identity.evidence(*keys_a)
    assert after_a["linked"] and after_a["golden_ids"][0] == after_a["golden_ids"][1]
    assert after_a["path"] and after_a["path"][-1]["to"] == after_a["records"][1]
