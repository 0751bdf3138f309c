"""The gate, point and set forms, on the behaviours the policy promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from c360.consent.ledger import NewEvent
from c360.workspace import Workspace

from .conftest import write_identity

T0 = datetime(2024, 6, 3, 15, 0, tzinfo=UTC)  # 11:00 in New York


def _set_form(
    ws: Workspace, purpose: str, channel: str, at: datetime, ids: list[str]
) -> dict[str, list[str]]:
    res = ws.consent.audience(pa.table({"golden_id": ids}), purpose, channel, at)
    out: dict[str, list[str]] = {g: [] for g in res.allowed.column("golden_id").to_pylist()}
    for g, reasons in zip(
        res.excluded.column("golden_id").to_pylist(),
        res.excluded.column("reasons").to_pylist(),
        strict=True,
    ):
        out[g] = reasons
    return out


def test_email_marketing_is_opt_out_and_unsubscribe_wins(people: Workspace) -> None:
    c = people.consent
    d = c.check("G1", "marketing", "email", T0)
    assert d.allowed and d.reasons == ["policy.opt_out_default"]
    assert d.policy_version.startswith("builtin-1+")
    c.record(
        [
            NewEvent(
                "email",
                "ANN@example.com ",
                "marketing",
                "email",
                "revoked",
                method="esp",
                effective_at=T0 - timedelta(days=1),
            )
        ]
    )
    d = c.check("G1", "marketing", "email", T0)
    assert not d.allowed and d.reasons == ["consent.revoked"] and d.evidence


def test_revocation_effective_on_next_check_point_and_set(people: Workspace) -> None:
    c = people.consent
    c.set(
        "G1", "marketing", "sms", "granted", method="written", effective_at=T0 - timedelta(days=3)
    )
    assert c.check("G1", "marketing", "sms", T0).allowed
    assert _set_form(people, "marketing", "sms", T0, ["G1"])["G1"] == []
    c.record(
        [
            NewEvent(
                "phone",
                "(212) 555-0101",
                "*",
                "sms",
                "revoked",
                method="sms_keyword",
                effective_at=T0 - timedelta(seconds=1),
            )
        ]
    )
    d = c.check("G1", "marketing", "sms", T0)
    assert not d.allowed and d.reasons == ["consent.revoked"]
    assert _set_form(people, "marketing", "sms", T0, ["G1"])["G1"] == ["consent.revoked"]


def test_future_effective_consent_is_not_yet_effective(people: Workspace) -> None:
    c = people.consent
    c.set(
        "G1", "marketing", "sms", "granted", method="written", effective_at=T0 + timedelta(days=1)
    )
    d = c.check("G1", "marketing", "sms", T0)
    assert not d.allowed and d.reasons == ["consent.missing"]
    assert c.check("G1", "marketing", "sms", T0 + timedelta(days=2)).allowed
    assert _set_form(people, "marketing", "sms", T0, ["G1"])["G1"] == ["consent.missing"]


def test_sms_needs_written_consent(people: Workspace) -> None:
    c = people.consent
    c.set("G1", "marketing", "sms", "granted", method="verbal", effective_at=T0 - timedelta(days=1))
    d = c.check("G1", "marketing", "sms", T0)
    assert d.reasons == ["consent.not_written"]
    assert _set_form(people, "marketing", "sms", T0, ["G1"])["G1"] == ["consent.not_written"]


def test_bitemporal_what_we_knew_then(people: Workspace) -> None:
    c = people.consent
    c.set("G2", "marketing", "email", "denied", effective_at=T0 - timedelta(days=10))
    before_recording = datetime.now(UTC) - timedelta(hours=1)
    assert c.check("G2", "marketing", "email", T0, known_at=before_recording).allowed
    assert not c.check("G2", "marketing", "email", T0).allowed
    assert c.check("G2", "marketing", "email", T0 - timedelta(days=11)).allowed


def test_most_restrictive_identifier_wins_and_minors(people: Workspace) -> None:
    c = people.consent
    c.record(
        [
            NewEvent(
                "source_key",
                "crm_contacts:K1",
                "marketing",
                "email",
                "granted",
                method="web_form",
                effective_at=T0 - timedelta(days=5),
            ),
            NewEvent(
                "source_key",
                "core_customers:C1",
                "marketing",
                "email",
                "denied",
                effective_at=T0 - timedelta(days=9),
            ),
        ]
    )
    assert c.check("G1", "marketing", "email", T0).reasons == ["consent.denied"]
    d = c.check("G3", "marketing", "email", T0)
    assert d.reasons == ["suppressed.minor"]
    assert c.check("G3", "service", "email", T0).allowed


def test_unknown_subject_purpose_channel_deny(people: Workspace) -> None:
    c = people.consent
    assert c.check("NOPE", "marketing", "email", T0).reasons == ["gate.unknown_subject"]
    assert c.check("G1", "astrology", "email", T0).reasons == ["gate.unknown_purpose"]
    assert c.check("G1", "marketing", "pigeon", T0).reasons == ["gate.unknown_channel"]
    assert _set_form(people, "marketing", "email", T0, ["NOPE"])["NOPE"] == ["gate.unknown_subject"]
    assert _set_form(people, "astrology", "email", T0, ["G1"])["G1"] == ["gate.unknown_purpose"]


def test_missing_address_and_sharing_jurisdiction(people: Workspace) -> None:
    c = people.consent
    assert c.check("G2", "service", "sms", T0).reasons == ["gate.missing_address"]
    # CA makes non-affiliate sharing opt-in; NY does not
    assert c.check("G2", "third_party_sharing", "in_app", T0).reasons == ["consent.missing"]
    assert c.check("G1", "third_party_sharing", "in_app", T0).allowed
    # Global Privacy Control signal = a denial of sharing
    c.record([NewEvent("golden_id", "G1", "third_party_sharing", "*", "denied", method="gpc")])
    assert c.check("G1", "third_party_sharing", "in_app").reasons == ["consent.denied"]


def test_suppression_lists(people: Workspace) -> None:
    c = people.consent
    c.suppress("deceased", "email", "bob@example.com", effective_at=T0 - timedelta(days=1))
    assert c.check("G2", "service", "email", T0).reasons == ["suppressed.deceased"]
    c.suppress("dnc_national", "phone", "+1 212 555 0101", effective_at=T0 - timedelta(days=1))
    c.set(
        "G1", "marketing", "phone", "granted", method="written", effective_at=T0 - timedelta(days=2)
    )
    assert c.check("G1", "marketing", "phone", T0).reasons == ["suppressed.dnc_national"]
    assert c.check("G1", "service", "phone", T0).allowed
    c.suppress(
        "dnc_national",
        "phone",
        "+1 212 555 0101",
        action="remove",
        effective_at=T0 - timedelta(hours=1),
    )
    assert c.check("G1", "marketing", "phone", T0).allowed
    got = _set_form(people, "service", "email", T0, ["G1", "G2"])
    assert got == {"G1": [], "G2": ["suppressed.deceased"]}


def test_contact_policy(people: Workspace) -> None:
    c = people.consent
    assert c.check("G1", "marketing", "email", T0, activation=True).allowed
    c.record_contact("G1", "email", "marketing", at=T0 - timedelta(hours=2))
    d = c.check("G1", "marketing", "email", T0, activation=True)
    assert d.reasons == ["contact.cooldown"]
    assert c.check("G1", "marketing", "email", T0).allowed  # audience build ignores contact policy
    for h in (30, 60):
        c.record_contact("G1", "email", "marketing", at=T0 - timedelta(hours=h))
    assert c.check("G1", "marketing", "email", T0 + timedelta(days=1), activation=True).reasons == [
        "contact.cap"
    ]
    c.record_contact("G2", "email", "cross_sell", outcome="declined", at=T0 - timedelta(days=3))
    assert c.check("G2", "cross_sell", "email", T0, activation=True).reasons == [
        "contact.declined_cooldown"
    ]
    c.set("G1", "service", "sms", "granted", method="written")
    night = datetime(2024, 6, 4, 3, 0, tzinfo=UTC)  # 23:00 in New York
    assert (
        c.check("G1", "retention", "sms", night, activation=True).reasons[-1]
        == "contact.quiet_hours"
    )
    res = people.consent.audience(
        pa.table({"golden_id": ["G1", "G2"]}), "cross_sell", "email", T0, activation=True
    )
    got = dict(
        zip(
            res.excluded.column("golden_id").to_pylist(),
            res.excluded.column("reasons").to_pylist(),
            strict=True,
        )
    )
    assert got == {"G1": ["contact.cooldown", "contact.cap"], "G2": ["contact.declined_cooldown"]}
    for g in ("G1", "G2"):
        assert c.check(g, "cross_sell", "email", T0, activation=True).reasons == got[g]


def test_merge_and_split_remap(people: Workspace) -> None:
    c = people.consent
    c.set("G2", "marketing", "email", "denied", effective_at=T0 - timedelta(days=1))
    c.set("G2", "cross_sell", "email", "granted", effective_at=T0 - timedelta(days=1))
    # merge G2 into G1
    write_identity(
        people,
        {
            "G1": {"emails": ["ann@example.com", "bob@example.com"], "phones": ["+12125550101"]},
            "G3": {"emails": ["kid@example.com"]},
        },
        {
            ("core_customers", "C1"): "G1",
            ("crm_contacts", "K1"): "G1",
            ("core_customers", "C2"): "G1",
            ("core_customers", "C3"): "G3",
        },
    )
    assert c.check("G1", "marketing", "email", T0).reasons == ["consent.denied"]
    # the absorbed id is answered by its survivor, and the answer says so
    d = c.check("G2", "marketing", "email", T0)
    assert (d.reasons, d.golden_id, d.redirected_from) == (["consent.denied"], "G1", "G2")
    # split again: C2 goes to a new G9 that does not keep G2's id; G2's facts were given
    # for C2 alone, so they follow it: the denial and the grant
    write_identity(
        people,
        {
            "G1": {"emails": ["ann@example.com"], "phones": ["+12125550101"]},
            "G9": {"emails": ["bob2@example.com"]},
            "G3": {"emails": ["kid@example.com"]},
        },
        {
            ("core_customers", "C1"): "G1",
            ("crm_contacts", "K1"): "G1",
            ("core_customers", "C2"): "G9",
            ("core_customers", "C3"): "G3",
        },
    )
    assert c.check("G9", "marketing", "email", T0).reasons == ["consent.denied"]
    assert c.check("G9", "cross_sell", "email", T0).reasons == ["consent.granted"]
    assert c.check("G1", "marketing", "email", T0).allowed
    events = c.history("G9")
    assert {e.purpose for e in events} == {"marketing", "cross_sell"}


def test_decisions_are_recorded(people: Workspace) -> None:
    from sqlalchemy import select

    from c360.consent.tables import gate_decisions

    c = people.consent
    d = c.check("G1", "marketing", "email", T0, activation=True, record=True)
    res = c.audience("SELECT golden_id FROM gold__golden_customers", "marketing", "email", T0)
    with people.store.begin() as conn:
        rows = {r.decision_id: r for r in conn.execute(select(gate_decisions))}
    assert rows[d.decision_id].allowed and rows[d.decision_id].policy_version == d.policy_version
    assert rows[res.decision_id].kind == "set"
    assert rows[res.decision_id].inputs["allowed_rows"] == res.allowed.num_rows == 2


def test_check_many_decides_each_request_as_check_does_and_records_them(
    people: Workspace,
) -> None:
    """The drain's batched re-check: same answers as the point form, one decision each."""
    from sqlalchemy import select

    from c360.consent.tables import gate_decisions
    from c360.governance.tables import audit_log

    c = people.consent
    c.record_contact("G1", "email", "marketing", at=T0 - timedelta(hours=2))
    c.record_contact("G2", "email", "cross_sell", outcome="declined", at=T0 - timedelta(days=3))
    c.set(
        "G2", "marketing", "sms", "revoked", method="written", effective_at=T0 - timedelta(days=1)
    )
    reqs = [
        ("G1", "marketing", "email"),
        ("G1", "service", "email"),
        ("G2", "cross_sell", "email"),
        ("G2", "marketing", "sms"),
        ("G-unknown", "marketing", "email"),
        ("G1", "marketing", "carrier_pigeon"),
    ]
    many = c.check_many(reqs, T0, activation=True, record=True)
    one = [c.check(g, p, ch, T0, activation=True) for g, p, ch in reqs]
    assert [(d.allowed, d.reasons) for d in many] == [(d.allowed, d.reasons) for d in one]
    assert [(d.golden_id, d.purpose, d.channel) for d in many] == reqs
    assert any(d.allowed for d in many) and not all(d.allowed for d in many)
    with people.store.begin() as conn:
        rows = {r.decision_id: r for r in conn.execute(select(gate_decisions))}
        entry = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc())).first()
        audited = {
            a.target
            for a in conn.execute(select(audit_log).where(audit_log.c.action == "consent.check"))
        }
    # every decision of the batch is in the audit chain, written with its row
    assert {d.decision_id for d in many} <= audited
    for d in many:
        r = rows[d.decision_id]
        assert (r.golden_id, r.allowed, r.activation, r.kind) == (
            d.golden_id,
            d.allowed,
            True,
            "point",
        )
    assert entry is not None and entry.action == "consent.check" and "G1" not in entry.details
    assert c.check_many([], T0) == []
