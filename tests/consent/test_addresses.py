"""Answers per address: the facts on that address plus the golden-level ones, point and set form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from c360.consent.evaluate import Decision
from c360.consent.ledger import NewEvent
from c360.errors import C360Error
from c360.workspace import Workspace

from .conftest import write_identity

T0 = datetime(2024, 6, 3, 15, 0, tzinfo=UTC)  # 11:00 in New York
HOME, WORK = "ann@example.com", "Ann.Lee+promo@gmail.com"  # the second folds to annlee@gmail.com
MOBILE, LANDLINE = "+12125550101", "+12125554804"


@pytest.fixture
def ann(ws: Workspace) -> Workspace:
    """G1 holds two emails and two phones; G2 one email."""
    write_identity(
        ws,
        {
            "G1": {"emails": [HOME, "annlee@gmail.com"], "phones": [MOBILE, LANDLINE]},
            "G2": {"emails": ["bob@example.com"], "phones": []},
        },
        {("core_customers", "C1"): "G1", ("core_customers", "C2"): "G2"},
    )
    return ws


def _both(ws: Workspace, purpose: str, channel: str, rows: list[tuple[str, str]]) -> list[Decision]:
    """Point-form decisions for (golden_id, address) rows; asserts the set form agrees row by row."""
    points = [ws.consent.check(g, purpose, channel, T0, address=a) for g, a in rows]
    res = ws.consent.audience(
        pa.table({"golden_id": [g for g, _ in rows], "addr": [a for _, a in rows]}),
        purpose,
        channel,
        T0,
        address="addr",
    )
    got: dict[tuple[str, str], list[str]] = {
        (g, a): []
        for g, a in zip(
            *(res.allowed.column(c).to_pylist() for c in ("golden_id", "addr")), strict=True
        )
    }
    for g, a, reasons in zip(
        *(res.excluded.column(c).to_pylist() for c in ("golden_id", "addr", "reasons")), strict=True
    ):
        got[(g, a)] = reasons
    assert res.total == len(rows)
    for (g, a), d in zip(rows, points, strict=True):
        assert got[(g, a)] == ([] if d.allowed else d.reasons), (g, a, d.reasons)
    return points


def test_revocation_on_one_email_never_blocks_another(ann: Workspace) -> None:
    c = ann.consent
    c.record(
        [
            NewEvent(
                "email", HOME, "marketing", "email", "revoked", effective_at=T0 - timedelta(days=2)
            )
        ]
    )
    c.record(
        [
            NewEvent(
                "email",
                WORK,
                "marketing",
                "email",
                "granted",
                method="web_form",
                effective_at=T0 - timedelta(days=1),
            )
        ]
    )
    # the record-level answer: most restrictive over every identifier
    assert c.check("G1", "marketing", "email", T0).reasons == ["consent.revoked"]
    home, work, other = _both(
        ann, "marketing", "email", [("G1", HOME), ("G1", WORK), ("G1", "bob@example.com")]
    )
    assert home.reasons == ["consent.revoked"] and not home.allowed
    assert "a***@example.com" in home.messages["consent.revoked"]
    assert HOME not in str(home.to_dict()) and home.address == "a***@example.com"
    assert work.allowed and work.reasons == ["consent.granted"] and work.address == "a***@gmail.com"
    assert other.reasons == ["gate.unknown_address"]
    assert "b***@example.com" in other.messages["gate.unknown_address"]


def test_golden_level_opt_out_blocks_every_address(ann: Workspace) -> None:
    c = ann.consent
    c.set("G1", "marketing", "email", "revoked", effective_at=T0 - timedelta(days=1))
    for d in _both(ann, "marketing", "email", [("G1", HOME), ("G1", WORK)]):
        assert d.reasons == ["consent.revoked"]
        assert "golden_id G1" in d.messages["consent.revoked"] and d.address
    # a source key is golden-level too
    c.set("G2", "cross_sell", "*", "denied", effective_at=T0 - timedelta(days=1))
    c.record(
        [NewEvent("source_key", "core_customers:C1", "cross_sell", "*", "denied", effective_at=T0)]
    )
    for d in _both(ann, "cross_sell", "email", [("G1", HOME), ("G2", "bob@example.com")]):
        assert d.reasons == ["consent.denied"]


def test_stop_on_one_phone_and_per_address_lists(ann: Workspace) -> None:
    c = ann.consent
    c.set(
        "G1", "marketing", "sms", "granted", method="written", effective_at=T0 - timedelta(days=5)
    )
    c.record(
        [
            NewEvent(
                "phone",
                "(212) 555-4804",
                "*",
                "sms",
                "revoked",
                method="sms_keyword",
                effective_at=T0 - timedelta(days=1),
            )
        ]
    )
    mobile, landline = _both(ann, "marketing", "sms", [("G1", MOBILE), ("G1", "212-555-4804")])
    assert mobile.allowed and mobile.reasons == ["consent.granted"]
    assert landline.reasons == ["consent.revoked"]
    assert "***-***-4804" in landline.messages["consent.revoked"] and "5554804" not in str(landline)
    # do-not-call is per number: the listed landline only; deceased is the whole person
    c.suppress("dnc_national", "phone", MOBILE, effective_at=T0 - timedelta(hours=2))
    mobile, landline = _both(ann, "marketing", "sms", [("G1", MOBILE), ("G1", LANDLINE)])
    assert mobile.reasons == ["suppressed.dnc_national"]
    assert "***-***-0101" in mobile.messages["suppressed.dnc_national"]
    assert landline.reasons == ["consent.revoked"]
    assert c.check("G1", "marketing", "sms", T0).reasons == [
        "suppressed.dnc_national",
        "consent.revoked",
    ]
    c.suppress("deceased", "email", HOME, effective_at=T0 - timedelta(hours=1))
    mobile, landline = _both(ann, "service", "sms", [("G1", MOBILE), ("G1", LANDLINE)])
    assert mobile.reasons == ["suppressed.deceased"]
    assert landline.reasons == ["suppressed.deceased", "consent.revoked"]
    # unsubscribing one mailbox from everything is per address as well
    c.suppress(
        "email_unsubscribe_global",
        "email",
        "annlee@gmail.com",
        effective_at=T0 - timedelta(hours=1),
    )
    home, work = _both(ann, "cross_sell", "email", [("G1", HOME), ("G1", WORK)])
    assert home.reasons == ["suppressed.deceased"]
    assert work.reasons == ["suppressed.deceased", "suppressed.email_unsubscribe_global"]


def test_bad_and_foreign_addresses(ann: Workspace) -> None:
    c = ann.consent
    bad = c.check("G1", "service", "email", T0, address="not an address")
    assert bad.reasons == ["gate.bad_address"] and "not an address" not in str(bad.to_dict())
    assert c.check("G1", "service", "in_app", T0, address=HOME).reasons == ["gate.bad_address"]
    assert c.check("G1", "service", "sms", T0, address=HOME).reasons == ["gate.bad_address"]
    assert c.check("G2", "service", "email", T0, address=HOME).reasons == ["gate.unknown_address"]
    assert c.check("NOPE", "service", "email", T0, address=HOME).reasons == ["gate.unknown_subject"]
    got = _both(
        ann, "service", "email", [("G1", "nope"), ("G2", HOME), ("G2", " BOB@example.com ")]
    )
    assert [d.reasons for d in got] == [
        ["gate.bad_address"],
        ["gate.unknown_address"],
        ["policy.opt_out_default"],
    ]
    with pytest.raises(C360Error) as exc:
        c.audience(
            pa.table({"golden_id": ["G1"], "addr": [HOME]}), "service", "in_app", T0, address="addr"
        )
    assert exc.value.code == "consent.bad_address"
    with pytest.raises(C360Error) as exc:
        c.audience(pa.table({"golden_id": ["G1"]}), "service", "email", T0, address="addr")
    assert exc.value.code == "consent.bad_address" and "no column 'addr'" in exc.value.message


def test_recorded_address_decision_keeps_the_address_masked(ann: Workspace) -> None:
    d = ann.consent.check("G1", "marketing", "email", T0, address=HOME, record=True)
    (row,) = ann.consent.decisions(golden_id="G1")
    assert row["decision_id"] == d.decision_id and row["address"] == "a***@example.com"
    (entry,) = ann.audit.query(action="consent.check")
    assert entry.target == d.decision_id and entry.details["address"] == "a***@example.com"
    assert HOME not in str(entry.to_dict()) and "G1" not in str(entry.to_dict())
