"""No silent no-ops: facts for nobody, intervals that never hold, questions the gate cannot answer."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from c360.cli.consent import app as consent_app
from c360.cli.suppression import app as suppression_app
from c360.consent.ledger import NewEvent
from c360.consent.tables import consent_events, suppressions
from c360.errors import C360Error
from c360.workspace import Workspace

from .conftest import write_identity

T0 = datetime(2024, 6, 3, 15, 0, tzinfo=UTC)


def _count(ws: Workspace, table: object) -> int:
    with ws.store.begin() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _gate(
    ws: Workspace, g: str, purpose: str, channel: str, at: datetime
) -> tuple[list[str], list[str]]:
    """(point-form reasons, set-form reasons) for one golden record."""
    d = ws.consent.check(g, purpose, channel, at)
    res = ws.consent.audience(pa.table({"golden_id": [g]}), purpose, channel, at, record=False)
    reasons = res.excluded.column("reasons").to_pylist()
    return d.reasons, (reasons[0] if reasons else [d.reasons[0]] if d.allowed else [])


def test_facts_for_unknown_subjects_are_refused(people: Workspace) -> None:
    c = people.consent
    with pytest.raises(C360Error) as exc:
        c.set("NO-SUCH-ID", "marketing", "email", "revoked")
    assert exc.value.code == "consent.unknown_subject" and "--allow-unknown" in exc.value.message
    with pytest.raises(C360Error) as exc:
        c.record([NewEvent("source_key", "core_customers:C9", "*", "*", "revoked")])
    assert exc.value.code == "consent.unknown_subject"
    assert "core_customers:***C9" in exc.value.message
    with pytest.raises(C360Error) as exc:
        c.suppress("deceased", "source_key", "core_customers:C9")
    assert exc.value.code == "consent.unknown_subject"
    with pytest.raises(C360Error) as exc:  # one unknown identifier refuses the whole batch
        c.record(
            [
                NewEvent("golden_id", "G1", "marketing", "email", "granted"),
                NewEvent("email", "nobody@example.com", "marketing", "email", "revoked"),
            ]
        )
    assert "n***@example.com" in exc.value.message and "nobody@" not in exc.value.message
    assert _count(people, consent_events) == 0 and _count(people, suppressions) == 0
    # taking an identifier off a list needs no customer; known identifiers pass
    c.suppress("deceased", "source_key", "core_customers:C9", action="remove")
    c.set("G1", "marketing", "email", "granted")
    c.record([NewEvent("email", " ANN@example.com", "marketing", "email", "granted")])
    assert _count(people, consent_events) == 2


def test_recorded_ahead_binds_when_the_subject_arrives(people: Workspace) -> None:
    c = people.consent
    c.record(
        [
            NewEvent(
                "source_key",
                "crm_contacts:K9",
                "*",
                "*",
                "revoked",
                effective_at=T0 - timedelta(days=1),
            )
        ],
        allow_unknown=True,
    )
    c.suppress(
        "deceased",
        "phone",
        "+1 212 555 0199",
        effective_at=T0 - timedelta(days=1),
        allow_unknown=True,
    )
    c.set(
        "G7",
        "marketing",
        "email",
        "denied",
        effective_at=T0 - timedelta(days=1),
        allow_unknown=True,
    )
    assert _gate(people, "G2", "marketing", "email", T0)[0] == ["policy.opt_out_default"]
    (write,) = [
        e for e in people.audit.query(action="consent.write") if e.details["ahead_of_subject"]
    ][:1]
    assert write.details["ahead_of_subject"] == 1
    # the next identity run brings K9 (to G2), the phone (to G1) and a record G7
    write_identity(
        people,
        {
            "G1": {"emails": ["ann@example.com"], "phones": ["+12125550101", "+12125550199"]},
            "G2": {"emails": ["bob@example.com"], "phones": []},
            "G7": {"emails": ["gus@example.com"]},
        },
        {
            ("core_customers", "C1"): "G1",
            ("core_customers", "C2"): "G2",
            ("crm_contacts", "K9"): "G2",
            ("core_customers", "C7"): "G7",
        },
    )
    assert _gate(people, "G2", "marketing", "email", T0) == (
        ["consent.revoked"],
        ["consent.revoked"],
    )
    assert _gate(people, "G1", "service", "email", T0) == (
        ["suppressed.deceased"],
        ["suppressed.deceased"],
    )
    assert _gate(people, "G7", "marketing", "email", T0) == (["consent.denied"], ["consent.denied"])


def test_invalid_intervals_are_refused(people: Workspace) -> None:
    c = people.consent
    for eff, exp in ((T0, T0), (T0, T0 - timedelta(days=1))):
        with pytest.raises(C360Error) as exc:
            c.set("G1", "marketing", "email", "granted", effective_at=eff, expires_at=exp)
        assert (
            exc.value.code == "consent.invalid_event" and "never be in force" in exc.value.message
        )
        with pytest.raises(C360Error) as exc:
            c.suppress("deceased", "golden_id", "G1", effective_at=eff, expires_at=exp)
        assert exc.value.code == "suppression.bad_interval"
    with pytest.raises(C360Error):  # no effective_at: it starts now, so a past expiry never holds
        c.set(
            "G1", "marketing", "email", "granted", expires_at=datetime.now(UTC) - timedelta(days=1)
        )
    f = people.root / "consent.csv"
    f.write_text(
        "id_type,identifier,purpose,channel,status,effective_at,expires_at\n"
        "golden_id,G1,marketing,email,granted,2024-01-02,2025-01-01\n"
        "golden_id,G1,marketing,email,granted,2024-01-02,2024-01-01\n"
    )
    with pytest.raises(C360Error) as exc:
        c.import_events(f)
    assert exc.value.details["rejected"][0]["row"] == 3
    f.write_text("golden_id,effective_at,expires_at\nG1,2024-01-02,2024-01-01\n")
    with pytest.raises(C360Error) as exc:
        c.import_suppressions(f, "deceased")
    assert "never be in force" in exc.value.details["rejected"][0]["reason"]
    assert _count(people, consent_events) == 0 and _count(people, suppressions) == 0


def test_far_future_and_before_birth_are_explained(people: Workspace) -> None:
    c = people.consent
    far = datetime(2999, 1, 1, tzinfo=UTC)
    d = c.check("G1", "service", "email", far)
    assert not d.allowed and d.reasons == ["gate.time_out_of_range"]
    assert "2999-01-01" in d.messages["gate.time_out_of_range"]
    with pytest.raises(C360Error) as exc:
        c.audience(pa.table({"golden_id": ["G1"]}), "service", "email", far)
    assert exc.value.code == "consent.bad_time"
    soon = datetime.now(UTC) + timedelta(days=300)
    assert c.check("G1", "service", "email", soon).allowed  # inside the horizon
    later = datetime.now(UTC) + timedelta(hours=1)
    assert c.check("G1", "service", "email", T0, known_at=later).reasons == [
        "gate.time_out_of_range"
    ]
    # G3 was born 2015-05-05: before that nothing is answered about them, on any purpose
    born = datetime(2015, 5, 5, tzinfo=UTC)
    for purpose in ("marketing", "service"):
        reasons = _gate(people, "G3", purpose, "email", born - timedelta(days=1))
        assert reasons == (["gate.before_birth"], ["gate.before_birth"])
    assert _gate(people, "G3", "marketing", "email", born)[0] == ["suppressed.minor"]
    assert c.check("G3", "service", "email", born).allowed
    assert "2015" not in str(c.check("G3", "service", "email", born - timedelta(days=1)).messages)


def test_cli_refuses_unknown_and_bad_times(people: Workspace) -> None:
    r = CliRunner()
    w = ["-w", str(people.root)]
    base = ["set", "-g", "NO-SUCH-ID", "-p", "marketing", "-c", "email", "-s", "revoked", *w]
    out = r.invoke(consent_app, base)
    assert out.exit_code != 0 and isinstance(out.exception, C360Error)
    assert out.exception.code == "consent.unknown_subject"
    out = r.invoke(consent_app, [*base, "--allow-unknown", "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["event_id"]
    out = r.invoke(
        consent_app,
        ["set", "-g", "G1", "-p", "marketing", "-c", "email", "-s", "granted",
         "--effective-at", "2024-02-01", "--expires-at", "2024-01-01", *w],
    )  # fmt: skip
    assert isinstance(out.exception, C360Error) and out.exception.code == "consent.invalid_event"
    out = r.invoke(
        consent_app, ["check", "-g", "G1", "-p", "service", "-c", "email", "--at", "2999-01-01", *w]
    )
    assert out.exit_code == 3 and "gate.time_out_of_range" in out.stdout
    out = r.invoke(
        suppression_app,
        ["add", "-l", "deceased", "--id-type", "source_key", "--value", "core:X1", *w],
    )
    assert isinstance(out.exception, C360Error) and out.exception.code == "consent.unknown_subject"
    out = r.invoke(
        suppression_app,
        ["add", "-l", "deceased", "--id-type", "golden_id", "--value", "G2", "--json", *w],
    )
    assert out.exit_code == 0 and json.loads(out.stdout)["entry_id"]
    out = r.invoke(consent_app, ["check", "-g", "G2", "-p", "service", "-c", "email", *w])
    assert out.exit_code == 3 and "suppressed.deceased" in out.stdout


def test_cli_known_at_answers_from_what_was_known(people: Workspace) -> None:
    r = CliRunner()
    w = ["-w", str(people.root)]
    before = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    people.consent.set("G2", "marketing", "email", "denied", effective_at=T0 - timedelta(days=10))
    ask = ["check", "-g", "G2", "-p", "marketing", "-c", "email", "--at", T0.isoformat(), *w]
    assert r.invoke(consent_app, ask).exit_code == 3
    out = r.invoke(consent_app, [*ask, "--known-at", before, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["known_at"] is not None
    assert date.fromisoformat(json.loads(out.stdout)["at"][:10]) == T0.date()
