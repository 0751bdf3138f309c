"""Golden-level facts follow the records they were given for (point and set form, both stores).

``people``: G1 = {core:C1, crm:K1}, G2 = {core:C2}, G3 = {core:C3}; after a merge or split
G1 and G2 live in CA, where sharing with third parties needs an opt-in. Identity changes are
written as the pipeline writes them (gold tables) and the subject index is refreshed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select

from c360.consent.tables import consent_fact_members
from c360.errors import C360Error
from c360.workspace import Workspace

from .conftest import write_identity

T0 = datetime(2024, 6, 3, 15, tzinfo=UTC)
PAST = T0 - timedelta(days=2)
G3 = {"emails": ["kid@example.com"]}
BASE_LINKS = {("core_customers", "C1"): "G1", ("crm_contacts", "K1"): "G1"}


def _merge(ws: Workspace) -> None:
    """G2 absorbed by G1."""
    write_identity(
        ws,
        {"G1": {"emails": ["ann@example.com", "bob@example.com"], "state": "CA"}, "G3": G3},
        {**BASE_LINKS, ("core_customers", "C2"): "G1", ("core_customers", "C3"): "G3"},
    )


def _split(ws: Workspace, part: str = "G2") -> None:
    """C2 leaves G1 again, as ``part``."""
    write_identity(
        ws,
        {
            "G1": {"emails": ["ann@example.com"], "state": "CA"},
            part: {"emails": ["bob@example.com"], "state": "CA"},
            "G3": G3,
        },
        {**BASE_LINKS, ("core_customers", "C2"): part, ("core_customers", "C3"): "G3"},
    )


def _set(ws: Workspace, ids: list[str], purpose: str, channel: str) -> dict[str, list[str]]:
    res = ws.consent.audience(pa.table({"golden_id": ids}), purpose, channel, T0, record=False)
    out: dict[str, list[str]] = {g: [] for g in res.allowed.column("golden_id").to_pylist()}
    for g, why in zip(
        res.excluded.column("golden_id").to_pylist(),
        res.excluded.column("reasons").to_pylist(),
        strict=True,
    ):
        out[g] = list(why)
    return out


def _both(ws: Workspace, g: str, purpose: str, channel: str) -> tuple[list[str], list[str]]:
    """(point-form reasons, set-form reasons): [] / ['consent.granted'] style comparable."""
    d = ws.consent.check(g, purpose, channel, T0)
    point = [] if d.allowed else d.reasons
    return point, _set(ws, [g], purpose, channel)[g]


def test_a_golden_level_fact_records_the_members_of_its_record(people: Workspace) -> None:
    eid = people.consent.set("G1", "marketing", "email", "denied", effective_at=PAST)
    with people.store.begin() as conn:
        rows = conn.execute(
            select(consent_fact_members.c.record_id, consent_fact_members.c.fact_kind).where(
                consent_fact_members.c.fact_id == eid
            )
        ).all()
    assert sorted(rows) == [("core_customers:C1", "event"), ("crm_contacts:K1", "event")]


def test_facts_of_both_records_follow_them_through_merge_and_undo(people: Workspace) -> None:
    c = people.consent
    c.set("G1", "third_party_sharing", "email", "granted", effective_at=PAST)
    c.set("G2", "third_party_sharing", "email", "revoked", effective_at=PAST)
    _merge(people)
    assert _both(people, "G1", "third_party_sharing", "email") == (
        ["consent.revoked"],
        ["consent.revoked"],
    )
    _split(people)  # the pipeline gives C2 its old id back
    assert _both(people, "G1", "third_party_sharing", "email") == ([], [])
    assert c.check("G1", "third_party_sharing", "email", T0).reasons == ["consent.granted"]
    assert _both(people, "G2", "third_party_sharing", "email") == (
        ["consent.revoked"],
        ["consent.revoked"],
    )
    assert people.consent.refresh_identity_index()["undecided"] == []


def test_a_part_under_a_new_id_keeps_the_facts_of_its_records(people: Workspace) -> None:
    c = people.consent
    c.set("G1", "third_party_sharing", "email", "granted", effective_at=PAST)
    c.set("G2", "third_party_sharing", "email", "revoked", effective_at=PAST)
    _merge(people)
    _split(people, part="G9")
    assert _both(people, "G1", "third_party_sharing", "email") == ([], [])
    assert _both(people, "G9", "third_party_sharing", "email") == (
        ["consent.revoked"],
        ["consent.revoked"],
    )


def test_golden_level_suppressions_follow_their_records(people: Workspace) -> None:
    people.consent.suppress("deceased", "golden_id", "G2", effective_at=PAST)
    _merge(people)
    assert _both(people, "G1", "service", "email")[0] == ["suppressed.deceased"]
    _split(people)
    assert _both(people, "G1", "service", "email") == ([], [])
    assert _both(people, "G2", "service", "email") == (
        ["suppressed.deceased"],
        ["suppressed.deceased"],
    )


def _review_tasks(ws: Workspace) -> list[dict[str, Any]]:
    return [t for t in ws.identity.review_list("all", 100) if t["run_id"].startswith("consent:")]


def test_a_fact_given_to_the_merged_record_binds_both_parts_restrictively(
    people: Workspace,
) -> None:
    c = people.consent
    _merge(people)
    # given while G1 held C1, K1 and C2: whose it was cannot be told after the split
    c.set("G1", "third_party_sharing", "email", "granted", effective_at=PAST)
    c.set("G1", "marketing", "email", "revoked", effective_at=PAST)
    assert _both(people, "G1", "third_party_sharing", "email") == ([], [])
    _split(people)
    for g in ("G1", "G2"):  # the grant binds neither part, the revocation both
        assert _both(people, g, "third_party_sharing", "email") == (
            ["consent.missing"],
            ["consent.missing"],
        ), g
        assert _both(people, g, "marketing", "email") == (
            ["consent.revoked"],
            ["consent.revoked"],
        ), g
    (task,) = _review_tasks(people)
    assert task["status"] == "open"
    assert task["detail"]["golden_id"] == "G1"
    assert sorted(task["detail"]["parts"]) == ["G1", "G2"]
    assert {task["record_id_l"], task["record_id_r"]} & {"core_customers:C2"}
    # the next refresh still reports it, but does not raise it again
    again = people.consent.refresh_identity_index()
    assert (again["undecided"], again["review_tasks_raised"]) == (["G1"], [])
    assert len(_review_tasks(people)) == 1
    # it is not a match to approve: the steward settles it and closes it
    with pytest.raises(C360Error) as err:
        people.identity.review_approve(task["task_id"], actor="stew", reason="same")
    assert err.value.code == "identity.not_a_match_task"
    c.set("G2", "marketing", "email", "revoked", effective_at=PAST)
    closed = people.identity.review_close(task["task_id"], actor="stew", reason="re-recorded")
    assert (closed["status"], closed["decided_by"]) == ("closed", "stew")


def test_the_absorbed_id_is_redirected_in_point_and_set_form(people: Workspace) -> None:
    c = people.consent
    c.set("G2", "marketing", "email", "denied", effective_at=PAST)
    _merge(people)
    d = c.check("G2", "marketing", "email", T0)
    assert (d.allowed, d.golden_id, d.redirected_from) == (False, "G1", "G2")
    assert d.to_dict()["redirected_from"] == "G2"
    assert c.check("G1", "marketing", "email", T0).redirected_from is None
    many = c.check_many([("G2", "marketing", "email"), ("G1", "marketing", "email")], T0)
    assert [(m.golden_id, m.redirected_from, m.reasons) for m in many] == [
        ("G1", "G2", d.reasons),
        ("G1", None, d.reasons),
    ]
    res = c.audience(pa.table({"golden_id": ["G2", "G1", "NOPE"]}), "service", "email", T0)
    assert sorted(res.allowed.column("golden_id").to_pylist()) == ["G1", "G2"]
    assert res.extra["redirected"] == 1
    assert res.excluded.column("reasons").to_pylist() == [["gate.unknown_subject"]]
    shown = c.show("G2", T0)
    assert (shown["golden_id"], shown["redirected_from"]) == ("G1", "G2")
    assert {e.id_value for e in c.history("G2")} >= {"G2"}
    _split(people)
    d = c.check("G2", "marketing", "email", T0)
    assert (d.golden_id, d.redirected_from, d.reasons) == ("G2", None, ["consent.denied"])


def test_an_id_split_between_records_is_not_redirected(people: Workspace) -> None:
    people.consent.set("G1", "marketing", "email", "granted", effective_at=PAST)
    # G1's records go to two new ids: no single survivor
    write_identity(
        people,
        {"G7": {"emails": ["ann@example.com"]}, "G8": {"emails": ["x@example.com"]}},
        {("core_customers", "C1"): "G7", ("crm_contacts", "K1"): "G8"},
    )
    d = people.consent.check("G1", "marketing", "email", T0)
    assert d.reasons == ["gate.unknown_subject"] and d.redirected_from is None
