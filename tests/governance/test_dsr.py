"""Data-subject requests and retention: export, erase everywhere, tombstones, legal holds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import inspect, select, text

from c360.errors import C360Error
from c360.governance.policy import Principal
from c360.governance.registry import register_store_table
from c360.workspace import Workspace
from tests.governance.conftest import PEOPLE, crm_silver

ANN = PEOPLE[0]


def _identifiers(ws: Workspace) -> set[str]:
    tk = ws.tokenizer
    return {
        ANN["email"],
        ANN["phone"],
        ANN["ssn"],
        ANN["ssn"].replace("-", ""),
        ANN["full_name"],
        ANN["pan"],
        tk.token("ssn", ANN["ssn"]) or "",
        tk.token("pan", ANN["pan"]) or "",
    }


def _search_disk(root: Path, needles: set[str]) -> list[str]:
    """Every file under the lakehouse: Parquet decoded cell by cell, everything else as bytes."""
    hits: list[str] = []
    for f in root.rglob("*"):
        if not f.is_file():
            continue
        if f.suffix == ".parquet":
            table = pq.read_table(f)
            for col in table.columns:
                for v in col.to_pylist():
                    s = str(v)
                    hits += [f"{f}: {n}" for n in needles if n in s]
        data = f.read_bytes()
        hits += [f"{f}: {n}" for n in needles if n.encode() in data]
    return hits


def _search_store(ws: Workspace, needles: set[str]) -> list[str]:
    hits: list[str] = []
    with ws.store.begin() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                s = " ".join(str(v) for v in row)
                hits += [f"{table}: {n}" for n in needles if n in s]
    return hits


def test_export_contains_each_record(loaded: Workspace, privacy: Principal) -> None:
    res = loaded.governance.dsr.export(privacy, f"email:{ANN['email'].upper()}")
    assert res.tables == {
        "bronze.crm": 1,
        "gold.golden_customers": 1,
        "gold.identity_links": 2,
        "restricted.cards": 1,
        "restricted.crm": 1,
        "silver.cards": 1,
        "silver.crm": 1,
    }
    assert res.records["restricted.crm"][0]["ssn"] == ANN["ssn"]
    assert res.records["silver.cards"][0]["card_id"] == "K001"
    assert all(r.get("golden_id", "G1") == "G1" for r in res.records["gold.identity_links"])
    entry = loaded.audit.query(action="dsr.export")[0]
    assert ANN["email"] not in str(entry.to_dict())


def test_erase_leaves_only_the_tombstone(loaded: Workspace, privacy: Principal) -> None:
    needles = _identifiers(loaded)
    loaded.governance.read(privacy, "silver", "crm", "dsr")  # reads are audited without values
    assert _search_disk(loaded.root / "lakehouse", needles)  # present before
    res = loaded.governance.dsr.erase(privacy, f"ssn:{ANN['ssn']}")
    assert (
        res.tables["silver.crm"] == 1
        and res.tables["restricted.cards"] == 1
        and res.tombstones >= 4
    )
    assert _search_disk(loaded.root / "lakehouse", needles) == []
    assert _search_store(loaded, needles) == []
    db = Path(loaded.store.url.split("///", 1)[1])
    assert not any(n.encode() in db.read_bytes() for n in needles)
    assert loaded.lakehouse.count("silver", "crm") == 2  # others untouched
    assert loaded.governance.dsr.is_tombstoned("crm", "C001")
    assert not loaded.governance.dsr.is_tombstoned("crm", "C002")
    assert loaded.audit.verify().ok
    # every table is still readable after its history was scrubbed, and writable
    loaded.lakehouse.append("silver", "crm", crm_silver(loaded, [PEOPLE[1]]))
    assert loaded.lakehouse.count("silver", "crm") == 3


def test_reingest_of_the_same_drop_keeps_the_person_erased(
    loaded: Workspace, privacy: Principal
) -> None:
    loaded.governance.dsr.erase(privacy, "source:crm:C001")
    again = crm_silver(loaded, PEOPLE)  # the same source drop arrives again
    kept, dropped = loaded.governance.dsr.filter_tombstoned("crm", again)
    assert dropped == 1 and "C001" not in kept["customer_id"].to_pylist()
    loaded.lakehouse.append("silver", "crm", kept)
    assert loaded.governance.dsr.export(privacy, f"email:{ANN['email']}").tables == {}


def test_legal_hold_keeps_and_lists(loaded: Workspace, privacy: Principal) -> None:
    loaded.governance.dsr.hold("silver.cards", "litigation 2024-17", actor="priya")
    res = loaded.governance.dsr.erase(privacy, "golden:G1")
    assert res.kept == [{"table": "silver.cards", "rows": 1, "reason": "litigation 2024-17"}]
    assert "silver.cards" not in res.tables and res.tables["silver.crm"] == 1
    assert "K001" in loaded.lakehouse.read("silver", "cards")["card_id"].to_pylist()


def test_registered_store_tables_are_erased(loaded: Workspace, privacy: Principal) -> None:
    with loaded.store.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS test_contacts (email TEXT, note TEXT)"))
        conn.execute(
            text("INSERT INTO test_contacts VALUES (:e, 'a'), ('other@example.com', 'b')"),
            {"e": ANN["email"]},
        )
    register_store_table("test_contacts", {"email": "email"})
    res = loaded.governance.dsr.erase(privacy, f"email:{ANN['email']}")
    assert res.tables["store:test_contacts"] == 1
    with loaded.store.begin() as conn:
        assert [r[0] for r in conn.execute(text("SELECT email FROM test_contacts"))] == [
            "other@example.com"
        ]


def test_only_privacy_or_governance_may_run_dsr(loaded: Workspace) -> None:
    with pytest.raises(C360Error) as err:
        loaded.governance.dsr.erase(Principal("al", "agent"), f"email:{ANN['email']}")
    assert err.value.code in ("governance.purpose_not_allowed", "governance.zone_denied")
    with pytest.raises(C360Error, match="subject must be"):
        loaded.governance.dsr.export(Principal("p", "privacy"), "nickname:annie")


def test_retention_deletes_expired_rows_and_respects_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C360_TOKEN_KEY", "k" * 40)
    (tmp_path / "c360.yaml").write_text(
        "governance:\n  retention:\n    - {table: 'bronze.*', keep_days: 30}\n"
        "    - {table: 'quarantine.*', keep_days: 30}\n"
        "  legal_holds:\n    - {table: quarantine.crm, reason: audit}\n"
    )
    ws = Workspace.open(tmp_path)
    ts = pa.array(
        [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)],
        pa.timestamp("us", tz="UTC"),
    )
    for zone in ("bronze", "quarantine"):
        ws.lakehouse.append(
            zone, "crm", pa.table({"customer_id": ["OLD", "NEW"], "_ingested_at": ts})
        )
    as_of = datetime(2024, 6, 15, tzinfo=UTC)
    dry = ws.governance.retention.apply(as_of=as_of, dry_run=True)
    assert dry.deleted == {"bronze.crm": 1} and ws.lakehouse.count("bronze", "crm") == 2
    report = ws.governance.retention.apply(as_of=as_of)
    assert report.deleted == {"bronze.crm": 1}
    assert report.kept == [{"table": "quarantine.crm", "rows": 1, "reason": "audit"}]
    assert ws.lakehouse.read("bronze", "crm")["customer_id"].to_pylist() == ["NEW"]
    assert _search_disk(tmp_path / "lakehouse" / "bronze", {"OLD"}) == []
    with ws.store.begin() as conn:
        from c360.governance.tables import audit_log

        assert conn.execute(select(audit_log.c.action)).scalars().all() == ["retention.apply"]
