"""Data-subject requests and retention on ingested data: holds, rights, declarations.

The whole-pipeline erasure (identity, consent, model files, redelivered drops) is
``test_erasure_world.py``; these tests cover the rules around it on a workspace
filled by real ingestion of small landing files.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from c360.errors import C360Error
from c360.governance.policy import Principal
from c360.governance.tables import audit_log
from c360.lakehouse.declarations import declare
from c360.workspace import Workspace
from tests.governance.scan import Needles, scan_files, scan_lakehouse, scan_store
from tests.ingest.conftest import CUSTOMERS, HEADER, contract, drop, silver

ROWS = (
    'C1,"LEE, ANN",01/02/1980,123-45-6789,10,call ann.lee@example.com\n'
    'C2,"ROE, BO",03/04/1970,234-56-7890,20,\n'
)
PRIVACY = Principal("pat", "privacy")


@pytest.fixture
def cust_ws(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.init(tmp_path / "ws", template="empty")
    contract(ws, CUSTOMERS)
    yield ws
    ws.close()


@pytest.fixture
def ingested(cust_ws: Workspace) -> Workspace:
    drop(cust_ws, "customers", "d1.csv", HEADER + ROWS)
    assert cust_ws.ingest().ok
    return cust_ws


def test_export_finds_every_zone(ingested: Workspace) -> None:
    res = ingested.governance.dsr.export(PRIVACY, "ssn:123456789")
    assert {t: n for t, n in res.tables.items() if not t.startswith("file:")} == {
        "bronze.customers": 1,
        "restricted.customers": 1,
        "silver.customers": 1,
    }
    assert res.records["restricted.customers"][0]["ssn"] == "123-45-6789"
    assert res.tables["file:landing/customers/d1.csv"] == 1
    entry = ingested.audit.query(action="dsr.export")[0]
    # the subject's identifiers stay out of the audit entry (its target is a request id
    # made of the time, which may hold any digits: 23:12:14 holds "123")
    logged = str(entry.to_dict())
    assert "123-45-6789" not in logged and "123456789" not in logged and "LEE" not in logged


def test_erase_by_source_key_leaves_only_landing_and_tombstones(ingested: Workspace) -> None:
    res = ingested.governance.dsr.erase(PRIVACY, "source:customers:C1")
    assert res.tables["silver.customers"] == 1 and res.tables["restricted.customers"] == 1
    assert res.kept[0]["table"] == "file:landing/customers/d1.csv"
    assert "immutable" in res.kept[0]["reason"]
    needles = Needles("C1", ssns={"123456789"}, keys={"C1"}, emails={"ann.lee@example.com"})
    assert scan_lakehouse(ingested, needles) == []
    assert scan_store(ingested, needles) == []
    assert [h for h in scan_files(ingested.root, needles) if not h.startswith("landing/")] == []
    assert [r["customer_no"] for r in silver(ingested, "customers")] == ["C2"]
    assert ingested.governance.dsr.is_tombstoned("customers", "C1")
    assert not ingested.governance.dsr.is_tombstoned("customers", "C2")
    assert ingested.audit.verify().ok


def test_erase_says_when_a_reader_keeps_the_stores_log(ingested: Workspace) -> None:
    """A connection reading an old snapshot keeps SQLite's write-ahead log from being
    emptied: the erasure still completes, and its result says what it could not clean."""
    import sqlite3

    db = ingested.root / "store" / "c360.db"
    reader = sqlite3.connect(db, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM audit_log").fetchone()  # holds its snapshot
        res = ingested.governance.dsr.erase(PRIVACY, "source:customers:C1")
    finally:
        reader.close()
    assert res.tables["silver.customers"] == 1
    assert [k["table"] for k in res.kept if k["table"].startswith("store:")] == [
        "store:write-ahead log"
    ]
    # with no reader in the way the log is emptied and nothing is reported
    res = ingested.governance.dsr.erase(PRIVACY, "source:customers:C2")
    assert not [k for k in res.kept if k["table"].startswith("store:")]
    assert (db.parent / "c360.db-wal").stat().st_size < 200_000


def test_legal_hold_keeps_and_lists(ingested: Workspace) -> None:
    ingested.governance.dsr.hold("silver.customers", "litigation 2024-17", actor="priya")
    res = ingested.governance.dsr.erase(PRIVACY, "source:customers:C1")
    held = [k for k in res.kept if k["table"] == "silver.customers"]
    assert held == [{"table": "silver.customers", "rows": 1, "reason": "litigation 2024-17"}]
    assert "silver.customers" not in res.tables and res.tables["bronze.customers"] == 1
    assert "C1" in [r["customer_no"] for r in silver(ingested, "customers")]


def test_a_declared_store_table_is_erased_without_being_listed_anywhere(
    ingested: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import Column, String, Table

    from c360.lakehouse import declarations
    from c360.store.schema import metadata

    notes = Table("test_notes", metadata, Column("email", String(200)), Column("note", String(40)))
    monkeypatch.setattr(metadata, "tables", {**metadata.tables})  # forgets test_notes after
    monkeypatch.setitem(
        declarations._REGISTRY,
        "store:test_notes",
        declare(
            "store:test_notes",
            owner="test",
            columns={"email": ("pii", "email"), "note": "none"},
            register=False,
        ),
    )
    notes.create(ingested.store.engine)
    with ingested.store.begin() as conn:
        conn.execute(notes.insert(), [{"email": "Ann.Lee@Example.com", "note": "a"}])
        conn.execute(notes.insert(), [{"email": "other@example.com", "note": "b"}])
    res = ingested.governance.dsr.erase(PRIVACY, "email:ann.lee@example.com")
    assert res.tables["store:test_notes"] == 1
    with ingested.store.begin() as conn:
        assert conn.execute(select(notes.c.email)).scalars().all() == ["other@example.com"]


def test_an_undeclared_table_is_refused(ingested: Workspace) -> None:
    import pyarrow as pa

    with pytest.raises(C360Error) as err:
        ingested.lakehouse.append("gold", "secret_list", pa.table({"email": ["a@b.c"]}))
    assert err.value.code == "governance.undeclared_table"
    with pytest.raises(C360Error) as err:
        ingested.lakehouse.append(
            "silver", "customers", pa.table({"customer_no": ["C9"], "shoe_size": [42]})
        )
    assert err.value.code == "governance.undeclared_column" and "shoe_size" in err.value.message


def test_only_privacy_or_governance_may_run_dsr(ingested: Workspace) -> None:
    with pytest.raises(C360Error) as err:
        ingested.governance.dsr.erase(Principal("al", "agent"), "source:customers:C1")
    assert err.value.code in ("governance.purpose_not_allowed", "governance.zone_denied")
    with pytest.raises(C360Error, match="subject must be"):
        ingested.governance.dsr.export(PRIVACY, "nickname:annie")


def test_retention_deletes_expired_rows_and_respects_holds(cust_ws: Workspace) -> None:
    (cust_ws.root / "c360.yaml").write_text(
        (cust_ws.root / "c360.yaml").read_text() + "\ngovernance:\n  retention:\n"
        "    - {table: 'bronze.*', keep_days: 30}\n"
        "    - {table: 'quarantine.*', keep_days: 30}\n"
        "  legal_holds:\n    - {table: quarantine.customers, reason: audit}\n"
    )
    ws = Workspace.open(cust_ws.root)
    drop(ws, "customers", "old.csv", HEADER + ROWS + "C3,,13/45/1970,,x,\n")
    ws.ingest()
    as_of = datetime.now(UTC) + timedelta(days=31)
    dry = ws.governance.retention.apply(as_of=as_of, dry_run=True)
    assert dry.deleted == {"bronze.customers": 2} and ws.lakehouse.count("bronze", "customers") == 2
    report = ws.governance.retention.apply(as_of=as_of)
    assert report.deleted == {"bronze.customers": 2}
    assert report.kept == [{"table": "quarantine.customers", "rows": 1, "reason": "audit"}]
    assert ws.lakehouse.count("bronze", "customers") == 0
    lake = Path(ws.lakehouse.root) / "bronze"
    assert scan_files(lake, Needles("C1", keys={"C1"})) == []
    with ws.store.begin() as conn:
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert "retention.apply" in actions
    ws.close()


def test_erasure_rewrites_the_agent_desktop_feed_as_json_lines(ingested: Workspace) -> None:
    """Activation's feed is a declared file: erasure removes the subject's lines and the
    feed stays JSON lines its reader parses (a CSV rewrite would break the desktop)."""
    import json

    feed = ingested.root / "feeds" / "agent_desktop.jsonl"
    feed.parent.mkdir(parents=True)
    lines = [
        {"key": f"k{g}", "golden_id": g, "decision_id": f"d{g}", "action": "a", "title": "t",
         "channel": "agent_assisted", "purpose": "retention", "rationale": "r"}
        for g in ("GERASE1", "GKEEP2")
    ]  # fmt: skip
    feed.write_text("".join(json.dumps(x) + "\n" for x in lines))
    res = ingested.governance.dsr.erase(PRIVACY, "golden:GERASE1")
    assert res.tables["file:feeds/agent_desktop.jsonl"] == 1
    kept = [json.loads(x) for x in feed.read_text().splitlines() if x.strip()]
    assert [x["golden_id"] for x in kept] == ["GKEEP2"] and kept[0]["rationale"] == "r"
