"""Suppression and consent file imports: row-by-row rejection, nothing partially applied."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from c360.consent.tables import consent_events, suppressions
from c360.errors import C360Error
from c360.workspace import Workspace

T0 = datetime(2024, 6, 3, 15, tzinfo=UTC)


def _count(ws: Workspace, table: object) -> int:
    with ws.store.begin() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_clear_import_counts_matches(people: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "dnc.csv"
    f.write_text("phone,reason\n(212) 555-0101,asked\n+1 415 555 0199,\n")
    rep = people.consent.import_suppressions(f, "dnc_national", id_type="phone")
    assert (rep.rows, rep.matched, rep.unmatched, rep.inserted) == (2, 1, 1, 2)
    assert people.consent.check("G1", "marketing", "phone").reasons[0] == "suppressed.dnc_national"
    again = people.consent.import_suppressions(f, "dnc_national", id_type="phone")
    assert again.inserted == 0  # idempotent


def test_hashed_import(people: Workspace, tmp_path: Path) -> None:
    h = hashlib.sha256(b"bob@example.com").hexdigest()
    f = tmp_path / "unsub.csv"
    f.write_text(f"sha256\n{h.upper()}\n{'0' * 64}\n")
    rep = people.consent.import_suppressions(
        f, "email_unsubscribe_global", id_type="email", hashed=True
    )
    assert (rep.matched, rep.unmatched) == (1, 1)
    assert people.consent.check("G2", "marketing", "email").reasons == [
        "suppressed.email_unsubscribe_global"
    ]
    assert people.consent.check("G2", "service", "email").allowed


def test_malformed_rows_reject_whole_file(people: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("email\nok@example.com\nnot-an-email\n\nalso@example.com\nx@@y\n")
    with pytest.raises(C360Error) as exc:
        people.consent.import_suppressions(f, "deceased", id_type="email")
    assert exc.value.code == "suppression.import_rejected"
    rows = {r["row"] for r in exc.value.details["rejected"]}
    assert rows == {3, 6}  # line numbers of the file; the blank line is not an entry
    assert all(r["reason"] for r in exc.value.details["rejected"])
    assert _count(people, suppressions) == 0


def test_bad_hashes_and_unknown_list(people: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "h.csv"
    f.write_text("hash\nabc\n")
    with pytest.raises(C360Error) as exc:
        people.consent.import_suppressions(f, "deceased", id_type="email", hashed=True)
    assert exc.value.details["rejected"][0]["row"] == 2
    with pytest.raises(C360Error) as exc:
        people.consent.import_suppressions(f, "no_such_list", id_type="email", hashed=True)
    assert exc.value.code == "suppression.unknown_list"


def test_consent_event_import_all_or_nothing(people: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "events.csv"
    f.write_text(
        "id_type,identifier,purpose,channel,status,effective_at\n"
        "email,ann@example.com,marketing,email,revoked,2024-06-01T00:00:00Z\n"
        "phone,12,marketing,sms,granted,\n"
        "email,bob@example.com,astrology,email,granted,\n"
        "email,bob@example.com,marketing,email,maybe,\n"
        "email,bob@example.com,marketing,email,granted,yesterday\n"
    )
    with pytest.raises(C360Error) as exc:
        people.consent.import_events(f)
    assert [r["row"] for r in exc.value.details["rejected"]] == [3, 4, 5, 6]
    assert _count(people, consent_events) == 0
    f.write_text(
        "id_type,identifier,purpose,channel,status,effective_at\n"
        "email,ann@example.com,marketing,email,revoked,2024-06-01T00:00:00Z\n"
    )
    assert len(people.consent.import_events(f)) == 1
    assert people.consent.check("G1", "marketing", "email", T0).reasons == ["consent.revoked"]
