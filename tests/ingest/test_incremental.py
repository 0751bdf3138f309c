"""Exactly-once, CDC, contract breaks and schema drift."""

from __future__ import annotations

import pytest

from tests.ingest.conftest import HEADER, contract, drop, silver

CDC = """
source: crm
format: csv
key: [id]
cdc: {op_column: op, sequence_column: seq}
columns:
  - {name: id, type: string, required: true}
  - {name: op, type: string, required: true}
  - {name: seq, type: int}
  - {name: email, type: string, pii: pii}
"""


def test_rerun_is_a_noop(cust_ws):
    drop(cust_ws, "customers", "d1.csv", HEADER + "C1,A,01/02/1980,,1,\n")
    first = cust_ws.ingest()
    versions = {t.qualified: t.version for t in cust_ws.tables()}
    second = cust_ws.ingest()
    assert first.batches()[0].status == "loaded"
    assert second.sources[0].status == "nothing_new" and second.batches() == []
    assert {t.qualified: t.version for t in cust_ws.tables()} == versions


def test_new_drop_merges_by_key(cust_ws):
    drop(cust_ws, "customers", "d1.csv", HEADER + "C1,A,01/02/1980,,1,\nC2,B,01/02/1980,,2,\n")
    cust_ws.ingest()
    drop(cust_ws, "customers", "d2.csv", HEADER + "C2,B2,01/02/1980,,5,\nC3,C,01/02/1980,,3,\n")
    cust_ws.ingest()
    assert [(r["customer_no"], r["name"]) for r in silver(cust_ws, "customers")] == [
        ("C1", "A"),
        ("C2", "B2"),
        ("C3", "C"),
    ]
    assert cust_ws.lakehouse.count("bronze", "customers") == 4  # bronze is append-only


def test_cdc_inserts_updates_and_deletes(workspace):
    contract(workspace, CDC)
    drop(
        workspace, "crm", "1.csv", "id,op,seq,email\nA,I,1,a@x.com\nB,I,1,b@x.com\nC,I,1,c@x.com\n"
    )
    workspace.ingest()
    drop(
        workspace,
        "crm",
        "2.csv",
        "id,op,seq,email\nA,U,3,a2@x.com\nA,U,2,stale@x.com\nB,D,2,\nD,I,1,d@x.com\nD,D,2,\n",
    )
    batch = workspace.ingest().batches()[0]
    assert batch.reconciles and batch.rows_loaded == 5
    assert [(r["id"], r["email"]) for r in silver(workspace, "crm")] == [
        ("A", "a2@x.com"),
        ("C", "c@x.com"),
    ]


def test_unknown_cdc_operation_is_quarantined(workspace):
    contract(workspace, CDC)
    drop(workspace, "crm", "1.csv", "id,op,seq,email\nA,X,1,a@x.com\n")
    batch = workspace.ingest().batches()[0]
    assert batch.rows_quarantined == 1
    reason = workspace.lakehouse.read("quarantine", "crm").column("_reason")[0].as_py()
    assert reason == "unknown CDC operation in column op: X"


def test_missing_required_column_stops_only_that_source(cust_ws):
    contract(cust_ws, CDC)
    drop(cust_ws, "customers", "d1.csv", "name,dob\nA,01/02/1980\n")
    drop(cust_ws, "customers", "d2.csv", HEADER + "C9,Z,01/02/1980,,1,\n")
    drop(cust_ws, "crm", "1.csv", "id,op,seq,email\nA,I,1,a@x.com\n")
    report = cust_ws.ingest()
    by = {s.source: s for s in report.sources}
    assert not report.ok
    assert by["customers"].status == "failed"
    assert by["customers"].error.startswith(
        "customers/d1.csv: required column 'customer_no' is missing"
    )
    assert len(by["customers"].batches) == 1  # stopped before d2
    assert by["crm"].status == "ok"
    assert (cust_ws.landing_dir / "customers" / "d1.csv").exists()
    from sqlalchemy import select

    from c360.store.schema import ingest_batches

    with cust_ws.store.begin() as conn:
        status = conn.execute(
            select(ingest_batches.c.status).where(ingest_batches.c.file == "customers/d1.csv")
        ).scalar()
    assert status == "failed"


def test_missing_required_column_message_names_file_row_column(workspace):
    contract(
        workspace,
        """
source: acct
key: [id]
columns:
  - {name: id, type: string, required: true}
  - {name: owner, type: string, required: true}
""",
    )
    drop(workspace, "acct", "a.csv", "id,holder\n1,x\n")
    report = workspace.ingest()
    assert report.sources[0].error == (
        "acct/a.csv: required column 'owner' is missing from the header "
        "(expected by contracts/acct.yaml; found: id, holder)"
    )


def test_fixed_file_reruns_after_failure(workspace):
    contract(
        workspace,
        """
source: acct
key: [id]
columns:
  - {name: id, type: string, required: true}
  - {name: owner, type: string, required: true}
""",
    )
    path = drop(workspace, "acct", "a.csv", "id,holder\n1,x\n")
    assert workspace.ingest().sources[0].status == "failed"
    path.write_text("id,owner\n1,x\n")
    report = workspace.ingest()
    assert report.ok and report.batches()[0].rows_loaded == 1


def test_type_change_stops_source_with_column_and_row(workspace):
    contract(
        workspace,
        """
source: txn
mode: events
columns:
  - {name: id, type: string, required: true}
  - {name: amount, type: decimal}
""",
    )
    rows = "".join(f"{i},USD{i}\n" for i in range(30))
    drop(workspace, "txn", "t.csv", "id,amount\n" + rows)
    report = workspace.ingest()
    assert report.sources[0].status == "failed"
    assert report.sources[0].error.startswith(
        "txn/t.csv: column 'amount' expected decimal but 30 of 30 values do not parse (first at row 1: 'USD0')"
    )
    assert not workspace.lakehouse.exists("bronze", "txn")


def test_additive_column_is_accepted_with_a_warning(cust_ws):
    drop(
        cust_ws,
        "customers",
        "d1.csv",
        "customer_no,name,dob,ssn,balance,note,loyalty_tier\nC1,A,01/02/1980,,1,,gold\n",
    )
    batch = cust_ws.ingest().batches()[0]
    assert batch.status == "loaded"
    assert "undeclared column(s) accepted into bronze only: loyalty_tier" in batch.warnings[0]
    assert "loyalty_tier" in cust_ws.lakehouse.read("bronze", "customers").column_names
    assert "loyalty_tier" not in cust_ws.lakehouse.read("silver", "customers").column_names


@pytest.mark.parametrize("ssn", ["123-45-6789", "123456789"])
def test_raw_ssn_and_pan_only_in_restricted(cust_ws, ssn):
    drop(
        cust_ws,
        "customers",
        "d1.csv",
        HEADER + f'C1,A,01/02/1980,{ssn},1,"my card is 4111-1111-1111-1111 and ssn 987-65-4329"\n'
        f"C2,B,99/99/1980,{ssn},1,\n"  # quarantined row carries the ssn too
        f'C3,"broken\n',
    )
    cust_ws.ingest()
    raw_values = [
        "123456789",
        "123-45-6789",
        "4111111111111111",
        "4111-1111-1111-1111",
        "987-65-4329",
        "987654329",
    ]
    leaks = []
    for info in cust_ws.tables():
        if info.zone == "restricted":
            continue
        table = cust_ws.lakehouse.read(info.zone, info.name)
        for row in table.to_pylist():
            text = repr(row)
            leaks += [(info.qualified, v) for v in raw_values if v in text]
    assert leaks == []
    restricted = repr(cust_ws.lakehouse.read("restricted", "customers").to_pylist())
    assert ssn in restricted
    found = repr(cust_ws.lakehouse.read("restricted", "pii_in_text").to_pylist())
    assert "4111-1111-1111-1111" in found and "987-65-4329" in found
    note = silver(cust_ws, "customers")[0]["note"]
    assert note.startswith("my card is [PAN:") and "[SSN:" in note


def test_undeclared_pii_is_reported(cust_ws):
    drop(
        cust_ws,
        "customers",
        "d1.csv",
        "customer_no,name,dob,ssn,balance,note,remarks\nC1,A,01/02/1980,,1,,call 217-555-0134 or a@b.com\n",
    )
    batch = cust_ws.ingest().batches()[0]
    assert batch.pii_found == {"remarks:email": 1, "remarks:phone": 1}
    from sqlalchemy import select

    from c360.store.schema import pii_findings

    with cust_ws.store.begin() as conn:
        rows = conn.execute(
            select(pii_findings.c.column_name, pii_findings.c.kind, pii_findings.c.declared)
        ).all()
    assert sorted(rows) == [("remarks", "email", "undeclared"), ("remarks", "phone", "undeclared")]
