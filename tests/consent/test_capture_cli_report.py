"""Capture from silver tables, the CLI, and the golden attributes / audience report."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from c360.cli.consent import app as consent_app
from c360.cli.suppression import app as suppression_app
from c360.workspace import Workspace

T0 = datetime(2024, 6, 3, 15, tzinfo=UTC)


def _ts(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def _declare_silver(monkeypatch: pytest.MonkeyPatch, tables: dict[str, list[str]]) -> None:
    """This workspace has no contracts for the silver tables the test writes: declare them."""
    from c360.lakehouse import declarations

    for name, cols in tables.items():
        d = declarations.declare(
            f"silver.{name}", owner="test", columns=dict.fromkeys(cols, "pii"), register=False
        )
        monkeypatch.setitem(declarations._REGISTRY, d.name, d)


def test_capture_from_sources_is_idempotent(
    people: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _declare_silver(
        monkeypatch,
        {
            "email_subscribers": ["email", "status", "unsubscribed_at"],
            "sms_consent": ["phone", "keyword", "received_at"],
            "crm_contacts": ["contact_id", "email_marketing_opt_in", "sms_opt_in", "updated_at"],
            "core_customers": ["customer_id", "dnc", "updated_at"],
        },
    )
    lh = people.lakehouse
    lh.overwrite(
        "silver",
        "email_subscribers",
        pa.table(
            {
                "email": ["ANN@example.com", "bob@example.com", "broken"],
                "status": ["unsubscribed", "subscribed", "unsubscribed"],
                "unsubscribed_at": pa.array(
                    [_ts("2024-05-01"), None, _ts("2024-05-01")], pa.timestamp("us")
                ),
            }
        ),
    )
    lh.overwrite(
        "silver",
        "sms_consent",
        pa.table(
            {
                "phone": ["2125550101", "2125550101"],
                "keyword": ["START", "STOP"],
                "received_at": pa.array([_ts("2024-04-01"), _ts("2024-05-20")], pa.timestamp("us")),
            }
        ),
    )
    lh.overwrite(
        "silver",
        "crm_contacts",
        pa.table(
            {
                "contact_id": ["K1"],
                "email_marketing_opt_in": ["Y"],
                "sms_opt_in": ["N"],
                "updated_at": pa.array([_ts("2024-03-01")], pa.timestamp("us")),
            }
        ),
    )
    lh.overwrite(
        "silver",
        "core_customers",
        pa.table(
            {
                "customer_id": ["C2"],
                "dnc": ["Y"],
                "updated_at": pa.array([_ts("2024-03-01")], pa.timestamp("us")),
            }
        ),
    )
    res = {r.name: r for r in people.consent.capture_from_sources()}
    # bob has no time (counted invalid), "broken" is not an email
    assert res["esp_subscribers"].appended == 1 and res["esp_subscribers"].invalid == 2
    assert res["esp_unsubscribe_events"].status == "skipped"  # silver.email_events does not exist
    assert res["sms_keywords"].appended == 2
    assert res["crm_email_pref"].appended == 1 and res["crm_sms_pref"].appended == 1
    assert res["core_dnc"].appended == 1
    again = people.consent.capture_from_sources()
    assert sum(r.appended for r in again) == 0
    c = people.consent
    assert c.check("G1", "marketing", "email", T0).reasons == ["consent.revoked"]
    assert c.check("G1", "marketing", "sms", T0).reasons == ["consent.revoked", "consent.denied"]
    assert c.check("G2", "marketing", "phone", T0).reasons[0] == "suppressed.dnc_internal"


def test_cli_set_check_show_history(people: Workspace) -> None:
    r = CliRunner()
    w = ["-w", str(people.root)]
    out = r.invoke(
        consent_app,
        [
            "set",
            "--golden-id",
            "G1",
            "--purpose",
            "marketing",
            "--channel",
            "email",
            "--status",
            "revoked",
            "--evidence",
            "called in",
            *w,
        ],
    )
    assert out.exit_code == 0, out.output
    out = r.invoke(
        consent_app,
        [
            "check",
            "--golden-id",
            "G1",
            "--purpose",
            "marketing",
            "--channel",
            "email",
            "--json",
            *w,
        ],
    )
    assert out.exit_code == 3
    data = json.loads(out.stdout)
    assert (
        data["allowed"] is False
        and data["reasons"] == ["consent.revoked"]
        and data["policy_version"]
    )
    out = r.invoke(consent_app, ["check", "-g", "G1", "-p", "service", "-c", "email", *w])
    assert out.exit_code == 0 and "ALLOWED" in out.stdout
    out = r.invoke(consent_app, ["history", "-g", "G1", "--json", *w])
    assert json.loads(out.stdout)[0]["evidence"] == "called in"
    out = r.invoke(consent_app, ["show", "-g", "G1", "--json", *w])
    assert len(json.loads(out.stdout)["decisions"]) == 49


def test_cli_suppression_import_and_list(people: Workspace) -> None:
    f = people.root / "dnc.csv"
    f.write_text("phone\n2125550101\nnope\n")
    r = CliRunner()
    w = ["-w", str(people.root)]
    out = r.invoke(
        suppression_app, ["import", str(f), "--list", "dnc_national", "--id-type", "phone", *w]
    )
    assert out.exit_code != 0 and out.exception is not None
    f.write_text("phone\n2125550101\n")
    out = r.invoke(
        suppression_app,
        ["import", str(f), "--list", "dnc_national", "--id-type", "phone", "--json", *w],
    )
    assert json.loads(out.stdout)["matched"] == 1
    out = r.invoke(suppression_app, ["list", "--json", *w])
    assert json.loads(out.stdout)[0]["list_name"] == "dnc_national"


def test_golden_attributes_and_audience_report(people: Workspace) -> None:
    c = people.consent
    c.suppress("deceased", "golden_id", "G2", effective_at=T0)
    attrs = c.golden_attributes(T0, purposes=["marketing", "service"], channels=["email", "sms"])
    rows = {r["golden_id"]: r for r in attrs.to_pylist()}
    assert set(rows) == {"G1", "G2", "G3"}
    assert rows["G2"]["suppression_flags"] == ["deceased"]
    g1 = {(x["purpose"], x["channel"]): x for x in rows["G1"]["consent"]}
    assert (
        g1[("marketing", "email")]["allowed"]
        and g1[("marketing", "sms")]["reason"] == "consent.missing"
    )
    # in passes over ranges of golden ids (a large bank's rows do not fit one aggregate)
    import c360.consent.report as report

    for rows_per_pass in (4, 1):  # 3 passes of one golden id; as many passes as ids
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(report, "ROWS_PER_PASS", rows_per_pass)
            again = c.golden_attributes(
                T0, purposes=["marketing", "service"], channels=["email", "sms"]
            )
        assert again.equals(attrs)
    rep = c.audience_report(
        "SELECT golden_id FROM gold__golden_customers", "marketing", "email", T0
    )
    assert (rep["before"], rep["after"]) == (3, 1)
    assert rep["excluded_by_reason"] == {"suppressed.deceased": 1, "suppressed.minor": 1}
