"""Evidence: consent writes and recorded decisions in the audit chain, the decision log,
and messages that name no address in clear and no piece of infrastructure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from c360.cli.audit import app as audit_app
from c360.cli.consent import app as consent_app
from c360.consent.ledger import NewEvent
from c360.consent.tables import consent_events, gate_decisions, suppressions
from c360.errors import C360Error
from c360.store import Store
from c360.workspace import Workspace

T0 = datetime(2024, 6, 3, 15, 0, tzinfo=UTC)
CLEAR = ("ann@example.com", "bob@example.com", "5550101", "core_customers:C1")


def _count(ws: Workspace, table: object) -> int:
    with ws.store.begin() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_every_write_and_recorded_decision_is_in_the_chain(people: Workspace) -> None:
    c = people.consent
    eid = c.set("G1", "marketing", "email", "revoked", effective_at=T0 - timedelta(days=1))
    c.record([NewEvent("email", "bob@example.com", "marketing", "email", "granted")])
    entry = c.suppress("deceased", "phone", "+1 212 555 0103", effective_at=T0)
    f = people.root / "dnc.csv"
    f.write_text("phone\n2125550101\n")
    c.import_suppressions(f, "dnc_national", id_type="phone")
    f = people.root / "consent.csv"
    f.write_text(
        "id_type,identifier,purpose,channel,status\nsource_key,core_customers:C1,service,sms,denied\n"
    )
    c.import_events(f)
    d = c.check("G1", "marketing", "email", T0, record=True, address="ann@example.com")
    plain = c.check("G2", "marketing", "email", T0)  # not recorded: not in the chain
    res = c.audience(pa.table({"golden_id": ["G1", "G2", "G3"]}), "marketing", "email", T0)
    entries = people.audit.query(action="consent*")
    by_action: dict[str, list[object]] = {}
    for e in entries:
        by_action.setdefault(e.action, []).append(e)
    assert sorted(by_action) == [
        "consent.audience",
        "consent.check",
        "consent.import",
        "consent.suppress",
        "consent.suppression_import",
        "consent.write",
    ]
    writes = [e.details for e in people.audit.query(action="consent.write")]
    assert writes[0]["event_ids"] == [eid] and len(writes) == 2
    assert people.audit.query(action="consent.suppress")[0].details["entry_id"] == entry
    (check,) = people.audit.query(action="consent.check")
    assert check.target == d.decision_id and check.details["reasons"] == d.reasons
    assert check.details["allowed"] is False and check.details["address"] == "a***@example.com"
    assert plain.decision_id not in {e.target for e in entries}
    (aud,) = people.audit.query(action="consent.audience")
    assert aud.target == res.decision_id and aud.details["allowed_rows"] == res.allowed.num_rows
    text = json.dumps([e.to_dict() for e in entries])
    assert not [v for v in CLEAR if v in text] and '"G1"' not in text
    assert people.audit.verify().ok
    # the CLI shows them
    out = CliRunner().invoke(
        audit_app, ["query", "--action", "consent*", "--json", "-w", str(people.root)]
    )
    assert out.exit_code == 0 and len(json.loads(out.stdout)) == len(entries)


def test_a_write_and_its_audit_entry_commit_together(
    people: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from c360.governance.audit import AuditLog

    def broken(*a: object, **k: object) -> None:
        raise RuntimeError("audit chain unavailable")

    monkeypatch.setattr(AuditLog, "_append_many", broken)
    c = people.consent
    with pytest.raises(RuntimeError):
        c.set("G1", "marketing", "email", "revoked")
    with pytest.raises(RuntimeError):
        c.suppress("deceased", "golden_id", "G1")
    assert _count(people, consent_events) == 0 and _count(people, suppressions) == 0
    # a decision that must be recorded but whose evidence cannot be written is denied, unrecorded
    d = c.check("G1", "service", "email", T0, record=True)
    assert not d.allowed and d.reasons == ["gate.store_unavailable"]
    assert _count(people, gate_decisions) == 0
    with pytest.raises(RuntimeError):
        c.audience(pa.table({"golden_id": ["G1"]}), "service", "email", T0)
    assert _count(people, gate_decisions) == 0
    monkeypatch.undo()
    assert c.check("G1", "service", "email", T0, record=True).allowed
    assert _count(people, gate_decisions) == 1 and people.audit.verify().ok


def test_decision_log_cli(people: Workspace) -> None:
    c = people.consent
    first = c.check("G1", "service", "email", T0, record=True)
    c.check("G2", "marketing", "sms", T0, record=True)
    c.audience(pa.table({"golden_id": ["G1", "G2"]}), "service", "email", T0)
    rows = c.decisions()
    assert len(rows) == 3 and rows[-1]["decision_id"] == first.decision_id  # newest first
    r, w = CliRunner(), ["-w", str(people.root)]
    out = r.invoke(consent_app, ["decisions", "-g", "G1", "--json", *w])
    (only,) = json.loads(out.stdout)
    assert only["decision_id"] == first.decision_id and only["allowed"] is True
    assert only["reasons"] == ["policy.opt_out_default"] and only["kind"] == "point"
    out = r.invoke(consent_app, ["decisions", "--limit", "1", "--json", *w])
    assert [x["kind"] for x in json.loads(out.stdout)] == ["set"]
    future = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    out = r.invoke(consent_app, ["decisions", "--since", future, "--json", *w])
    assert json.loads(out.stdout) == []
    out = r.invoke(consent_app, ["decisions", *w])
    flat = " ".join(out.stdout.split())
    assert out.exit_code == 0 and "point G2 marketing/sms denied gate.missing_address" in flat
    out = r.invoke(consent_app, ["decisions", "--limit", "0", *w])
    assert out.exit_code != 0


def test_store_down_names_no_host_or_database(people: Workspace) -> None:
    people.__dict__["store"] = Store("postgresql+psycopg://scott@127.0.0.1:1/bank_secrets")
    d = people.consent.check("G1", "service", "email", T0, record=True)
    assert not d.allowed and d.reasons == ["gate.store_unavailable"]
    text = json.dumps(d.to_dict())
    assert "127.0.0.1" not in text and "bank_secrets" not in text and "scott" not in text
    assert "the consent store is unavailable" in d.messages["gate.store_unavailable"]
    with pytest.raises(C360Error) as exc:
        people.consent.audience(pa.table({"golden_id": ["G1"]}), "service", "email", T0)
    assert exc.value.code == "consent.gate_unavailable"
    assert "127.0.0.1" not in str(exc.value) and "bank_secrets" not in str(exc.value)


def test_cli_store_down_one_line_without_infrastructure(tmp_path: Path) -> None:
    """The CLI against an unreachable PostgreSQL: a check denies, a write fails, neither names
    the host, the database or the user."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "c360.yaml").write_text(
        "store:\n  url: postgresql+psycopg://scott@127.0.0.1:1/bank_secrets\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("C360_STORE_URL", None)
    for args, code in (
        (["check", "-g", "G1", "-p", "service", "-c", "email"], 3),
        (["set", "-g", "G1", "-p", "service", "-c", "email", "-s", "revoked"], 1),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "c360", "consent", *args, "-w", str(root)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        both = proc.stdout + proc.stderr
        assert proc.returncode == code, both
        assert "store" in both and "unavailable" in both, both
        assert "127.0.0.1" not in both and "bank_secrets" not in both and "scott" not in both, both
