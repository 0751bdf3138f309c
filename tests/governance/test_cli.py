"""The governance CLI groups, principals and API tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from c360.cli import audit, catalog, dsr, lineage, retention
from c360.errors import C360Error
from c360.governance.tables import audit_log
from c360.workspace import Workspace

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    for name, mod in (
        ("audit", audit),
        ("catalog", catalog),
        ("dsr", dsr),
        ("lineage", lineage),
        ("retention", retention),
    ):
        app.add_typer(mod.app, name=name)
    return app


def run(ws: Workspace, *args: str) -> tuple[int, str]:
    res = runner.invoke(_app(), [*args, "-w", str(ws.root)])
    return res.exit_code, res.stdout


def test_catalog_json_and_table(loaded: Workspace) -> None:
    code, out = run(loaded, "catalog", "--json")
    assert code == 0
    tables = {t["table"]: t for t in json.loads(out)}
    cols = {c["column"]: c["pii_class"] for c in tables["silver.crm"]["columns"]}
    assert cols["email"] == "pii" and tables["silver.crm"]["owner"] == "crm-team"
    code, out = run(loaded, "catalog")
    assert code == 0 and "ssn_token" in out


def test_catalog_uc_sql_writes_files(loaded: Workspace, tmp_path: Path) -> None:
    code, out = run(loaded, "catalog", "uc-sql", "--out", str(tmp_path / "uc"), "--json")
    assert code == 0 and len(json.loads(out)["files"]) == 6
    assert (tmp_path / "uc" / "20_column_masks.sql").read_text().count("SET MASK") > 10


def test_audit_verify_and_query(loaded: Workspace) -> None:
    for i in range(3):
        loaded.audit.append("ops", "model.promote", f"churn:v{i}", {"stage": "production"})
    code, out = run(loaded, "audit", "verify")
    assert code == 0 and "OK" in out
    code, out = run(loaded, "audit", "query", "--actor", "ops", "--since", "2000-01-01", "--json")
    assert code == 0 and [e["target"] for e in json.loads(out)] == [
        "churn:v0",
        "churn:v1",
        "churn:v2",
    ]
    with loaded.store.begin() as conn:
        conn.execute(audit_log.update().where(audit_log.c.seq == 2).values(actor="mallory"))
    code, out = run(loaded, "audit", "verify", "--json")
    report = json.loads(out)
    assert code == 1 and report["problems"][0]["seq"] == 2


def test_lineage_trace_cli(loaded: Workspace) -> None:
    code, out = run(loaded, "lineage", "trace", "--source", "crm", "--key", "C001", "--json")
    assert code == 0
    node = json.loads(out)
    assert {p["kind"] for p in node["parents"]} == {"silver_row", "bronze_row"}
    code, out = run(loaded, "lineage", "trace", "--golden", "G2")
    assert code == 0 and "batch" in out and "B-crm-1" in out


def test_dsr_cli_needs_a_stored_principal(loaded: Workspace) -> None:
    loaded.governance.principals.create("priya", "privacy", ["dsr"])
    code, out = run(
        loaded, "dsr", "export", "--subject", "source:crm:C002", "--principal", "priya", "--json"
    )
    assert code == 0 and json.loads(out)["tables"]["silver.crm"] == 1
    code, out = run(
        loaded,
        "dsr",
        "erase",
        "--subject",
        "source:crm:C002",
        "--principal",
        "priya",
        "--yes",
        "--json",
    )
    assert code == 0 and json.loads(out)["tables"]["silver.crm"] == 1
    code, _ = run(loaded, "retention", "apply", "--dry-run", "--json")
    assert code == 0


def test_principals_and_hashed_tokens(loaded: Workspace) -> None:
    p = loaded.governance.principals
    with pytest.raises(C360Error, match="purpose"):
        p.create("nobody", "agent", [])
    with pytest.raises(C360Error, match="unknown role"):
        p.create("x", "superuser", ["service"])
    with pytest.raises(C360Error, match="may not act"):
        p.create("x", "agent", ["marketing"])
    p.create("al", "agent", ["service"], {"region": "west"})
    token = p.issue_token("al")
    assert p.authenticate(token).attributes == {"region": "west"}
    with loaded.store.begin() as conn:
        stored = " ".join(
            str(v) for r in conn.execute(text("SELECT * FROM gov_api_tokens")) for v in r
        )
    assert token not in stored and token.split("_", 2)[2] not in stored
    with pytest.raises(C360Error) as err:
        p.authenticate(token[:-2] + "xx")
    assert err.value.code == "governance.unauthenticated"
    p.revoke_token(token.split("_")[1])
    with pytest.raises(C360Error):
        p.authenticate(token)
    who = p.authenticate(p.issue_token("al"))
    west = loaded.governance.read(who, "gold", "golden_customers", "service")
    assert set(west["region"].to_pylist()) == {"west"}
