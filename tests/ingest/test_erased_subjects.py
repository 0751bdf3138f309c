"""A data subject erased by a DSR never comes back through ingestion."""

from __future__ import annotations

from c360.governance.policy import Principal
from tests.governance.scan import Needles, scan_files, scan_store
from tests.ingest.conftest import HEADER, drop, silver

ROWS = (
    'C1,"LEE, ANN",01/02/1980,123-45-6789,10,card 4111 1111 1111 1111\n'
    'C2,"ROE, BO",03/04/1970,234-56-7890,20,\n'
)


def test_reingested_drop_keeps_person_erased(cust_ws):
    drop(cust_ws, "customers", "d1.csv", HEADER + ROWS)
    assert cust_ws.ingest().ok
    res = cust_ws.governance.dsr.erase(Principal("pat", "privacy"), "source:customers:C1")
    assert res.tables["silver.customers"] == 1
    # the same rows are delivered again, and C1's SSN shows up under a new key too
    drop(
        cust_ws,
        "customers",
        "d1-redelivered.csv",
        HEADER + ROWS + 'C7,"LEE, A",01/02/1980,123456789,5,\n',
    )
    (batch,) = cust_ws.ingest().batches()
    assert batch.reconciles
    assert (batch.rows_in, batch.rows_loaded, batch.rows_quarantined, batch.rows_erased) == (
        3,
        1,
        0,
        2,
    )
    assert [r["customer_no"] for r in silver(cust_ws, "customers")] == ["C2"]
    needles = Needles("C1", ssns={"123456789"}, keys={"C1", "C7"}, names={"lee, ann"})
    assert scan_store(cust_ws, needles) == []
    # landing keeps the delivered files (immutable); everything c360 wrote is clean
    assert scan_files(cust_ws.lakehouse.root, needles) == []


def test_erased_key_in_a_source_without_tokens(workspace):
    from tests.ingest.conftest import contract

    contract(
        workspace,
        "source: acct\nkey: [id]\ncolumns:\n  - {name: id, required: true}\n  - {name: owner}\n",
    )
    drop(workspace, "acct", "a.csv", "id,owner\nK1,ann\nK2,bo\n")
    workspace.ingest()
    workspace.governance.dsr.erase(Principal("pat", "privacy"), "source:acct:K1")
    drop(workspace, "acct", "b.csv", "id,owner\nK1,ann\nK3,cy\n")
    (batch,) = workspace.ingest().batches()
    assert (batch.rows_loaded, batch.rows_erased) == (1, 1)
    assert sorted(r["id"] for r in silver(workspace, "acct")) == ["K2", "K3"]
