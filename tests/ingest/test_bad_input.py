"""Every kind of bad input ends in quarantine with an exact reason, counts reconcile."""

from __future__ import annotations

from tests.ingest.conftest import HEADER, drop, quarantine_reasons, silver


def _one_batch(report):
    (src,) = report.sources
    (batch,) = src.batches
    assert batch.reconciles, batch
    return batch


def test_good_file_loads_typed_with_lineage(cust_ws):
    drop(
        cust_ws,
        "customers",
        "d1.csv",
        HEADER + 'C1,"SMITH, JOHN",01/02/1980,123-45-6789,"1,100.50",hello\n',
    )
    batch = _one_batch(cust_ws.ingest())
    assert (batch.status, batch.rows_in, batch.rows_loaded, batch.rows_quarantined) == (
        "loaded",
        1,
        1,
        0,
    )
    (row,) = silver(cust_ws, "customers")
    assert row["name"] == "SMITH, JOHN"
    assert str(row["dob"]) == "1980-01-02"
    assert str(row["balance"]) == "1100.50"
    assert row["ssn_last4"] == "6789" and len(row["ssn_token"]) == 32
    assert row["_source_file"] == "customers/d1.csv" and row["_row_number"] == 1
    bronze = cust_ws.lakehouse.read("bronze", "customers").to_pylist()
    assert bronze[0]["_batch_id"] == batch.batch_id and bronze[0]["_row_hash"]


def test_wrong_column_count_and_bad_quoting(cust_ws):
    body = (
        HEADER
        + 'C1,A,01/02/1980,,1,\nC2,B,01/02/1980\nC3,C,01/02/1980,,1,x,EXTRA\nC4,"D,01/02/1980,,1,\n'
    )
    drop(cust_ws, "customers", "d1.csv", body)
    batch = _one_batch(cust_ws.ingest())
    assert (batch.rows_in, batch.rows_loaded, batch.rows_quarantined) == (4, 1, 3)
    reasons = quarantine_reasons(cust_ws, "customers")
    assert any("missing columns" in r for r in reasons)
    assert any("too many columns" in r for r in reasons)
    assert any("unquoted value" in r or "unterminated quote" in r.lower() for r in reasons)
    lines = sorted(
        x for x in cust_ws.lakehouse.read("quarantine", "customers").column("_line").to_pylist()
    )
    assert lines == [3, 4, 5]


def test_a_quarantined_line_hides_ssns_and_keeps_account_ids(cust_ws):
    """The steward reads a rejected line with its SSNs and card numbers tokenised and
    its identifiers as written: nine digits inside an account id are not an SSN."""
    body = (
        HEADER
        + "CRD010855442,A,01/02/1980,,1,x,EXTRA\n"
        + "C2,B,01/02/1980,123-45-6789,1,x,EXTRA\n"
        + "C3,C,01/02/1980,123456789,1,card 4111111111111111,EXTRA\n"
    )
    drop(cust_ws, "customers", "d1.csv", body)
    batch = _one_batch(cust_ws.ingest())
    assert (batch.rows_in, batch.rows_quarantined) == (3, 3)
    q = cust_ws.lakehouse.read("quarantine", "customers", columns=["_line", "_raw_line"])
    raw = dict(zip(q["_line"].to_pylist(), q["_raw_line"].to_pylist(), strict=True))
    assert raw[2] == "CRD010855442,A,01/02/1980,,1,x,EXTRA"
    assert raw[3].startswith("C2,B,01/02/1980,[SSN:") and "6789" not in raw[3]
    assert raw[4].count("[SSN:") == 1 and "[PAN:" in raw[4] and "4111" not in raw[4]


def test_bad_encoding_is_quarantined_and_bom_is_accepted(cust_ws):
    body = (
        "\ufeff" + HEADER + "C1,Ann,01/02/1980,,1,\n"
    ).encode() + b"C2,B\xff\xfeb,01/02/1980,,1,\n"
    drop(cust_ws, "customers", "d1.csv", body)
    batch = _one_batch(cust_ws.ingest())
    assert (batch.rows_in, batch.rows_loaded, batch.rows_quarantined) == (2, 1, 1)
    assert quarantine_reasons(cust_ws, "customers")[0].startswith("malformed row: invalid encoding")
    assert [r["customer_no"] for r in silver(cust_ws, "customers")] == ["C1"]


def test_unparsable_values_missing_required_and_duplicates(cust_ws):
    body = HEADER + (
        "C1,A,13/40/1990,,1,\n"  # bad date
        "C2,B,01/02/1980,,abc,\n"  # bad number
        ",C,01/02/1980,,1,\n"  # missing key
        "C4,D,01/02/1980,,1,\n"
        "C4,D2,01/02/1980,,2,\n"  # duplicate key
    )
    drop(cust_ws, "customers", "d1.csv", body)
    batch = _one_batch(cust_ws.ingest())
    assert (batch.rows_in, batch.rows_loaded, batch.rows_quarantined) == (5, 1, 4)
    assert quarantine_reasons(cust_ws, "customers") == [
        "duplicate key within batch (first at row 4)",
        "missing required value in column customer_no",
        "unparsable date in column dob: 13/40/1990",
        "unparsable decimal in column balance: abc",
    ]
    assert silver(cust_ws, "customers")[0]["name"] == "D"


def test_empty_and_header_only_files(cust_ws):
    drop(cust_ws, "customers", "a.csv", "")
    drop(cust_ws, "customers", "b.csv", HEADER)
    report = cust_ws.ingest()
    statuses = [(b.file, b.status, b.rows_in) for b in report.batches()]
    assert statuses == [("customers/a.csv", "loaded", 0), ("customers/b.csv", "loaded", 0)]
    assert all("empty file" in b.warnings[0] for b in report.batches())
    assert not cust_ws.lakehouse.exists("silver", "customers")


def test_in_flight_files_are_skipped_until_complete(cust_ws):
    drop(cust_ws, "customers", "d1.csv.part", HEADER + "C1,A,01/02/1980,,1,\n")
    report = cust_ws.ingest()
    assert report.sources[0].status == "nothing_new"
    assert "in-flight" in report.sources[0].skipped_files[0]
    (cust_ws.landing_dir / "customers" / "d1.csv.part").rename(
        cust_ws.landing_dir / "customers" / "d1.csv"
    )
    assert cust_ws.ingest().batches()[0].rows_loaded == 1


def test_recently_modified_files_wait_when_configured(tmp_path):
    from c360.workspace import Workspace
    from tests.ingest.conftest import CUSTOMERS, contract

    ws = Workspace.init(tmp_path / "w", template="empty")
    cfg = ws.root / "c360.yaml"
    cfg.write_text(
        cfg.read_text().replace("min_file_age_seconds: 0.0", "min_file_age_seconds: 3600")
    )
    ws = Workspace.open(ws.root)
    contract(ws, CUSTOMERS)
    drop(ws, "customers", "d1.csv", HEADER + "C1,A,01/02/1980,,1,\n")
    report = ws.ingest()
    assert report.sources[0].status == "nothing_new"
    assert "may still be written" in report.sources[0].skipped_files[0]


def test_jsonl_bad_lines_keep_their_reason(workspace):
    from tests.ingest.conftest import contract

    contract(
        workspace,
        """
source: events
format: jsonl
mode: events
columns:
  - {name: id, type: int, required: true}
  - {name: at, type: timestamp, format: "%Y-%m-%d %H:%M:%S"}
  - {name: payload, type: text}
""",
    )
    drop(
        workspace,
        "events",
        "e.jsonl",
        '{"id": 1, "at": "2026-01-01 10:00:00", "payload": "hi"}\n'
        '{"id": 2, "at": "2026-01-01 10:00:00", "payload": \n'
        "[1,2]\n"
        '{"id": "x", "at": "yesterday"}\n',
    )
    batch = _one_batch(workspace.ingest())
    assert (batch.rows_in, batch.rows_loaded, batch.rows_quarantined) == (4, 1, 3)
    reasons = quarantine_reasons(workspace, "events")
    assert reasons[0].startswith("malformed row: a JSON object was expected")
    assert reasons[1].startswith("malformed row: invalid JSON")
    assert (
        reasons[2] == "unparsable int in column id: x; unparsable timestamp in column at: yesterday"
    )


def test_jsonl_is_read_in_chunks_with_columns_first_seen_late(workspace, monkeypatch):
    """Records become Arrow a chunk at a time (JSONL_CHUNK): a column first seen in a
    later chunk is empty in the earlier rows, bad lines between chunks keep their line,
    a header spelled in another case takes the contract's spelling, and every row keeps
    its place."""
    from c360.ingest import readers
    from tests.ingest.conftest import contract

    monkeypatch.setattr(readers, "JSONL_CHUNK", 2)
    contract(
        workspace,
        """
source: events
format: jsonl
mode: events
header_case: insensitive
columns:
  - {name: id, type: int, required: true}
  - {name: payload, type: text}
  - {name: Channel, type: string}
""",
    )
    lines = [
        '{"id": 1}',
        "{}",
        '{"id": 2, "payload": "p2"}',
        "not json",
        '{"id": 3, "channel": "email"}',
        '{"id": 4, "payload": "p4"}',
        '{"id": 5}',
    ]
    drop(workspace, "events", "e.jsonl", "\n".join(lines) + "\n")
    batch = _one_batch(workspace.ingest())
    assert (batch.rows_in, batch.rows_loaded, batch.rows_quarantined) == (7, 5, 2)
    rows = silver(workspace, "events")
    assert [(r["id"], r["payload"], r["Channel"], r["_row_number"]) for r in rows] == [
        (1, None, None, 1),
        (2, "p2", None, 3),
        (3, None, "email", 4),
        (4, "p4", None, 5),
        (5, None, None, 6),
    ]
    reasons = quarantine_reasons(workspace, "events")
    assert sorted(reasons) == [
        "malformed row: invalid JSON: Expecting value at column 1",
        "missing required value in column id",
    ]


def test_parquet_native_types(workspace):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.ingest.conftest import contract

    contract(
        workspace,
        """
source: policies
format: parquet
key: [policy_no]
columns:
  - {name: policy_no, type: string, required: true}
  - {name: start, type: date}
  - {name: premium, type: float}
""",
    )
    folder = workspace.landing_dir / "policies"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "policy_no": ["P1", "P2"],
                "start": [dt.date(2026, 1, 5), None],
                "premium": [12.5, 3.0],
            }
        ),
        folder / "p.parquet",
    )
    batch = _one_batch(workspace.ingest())
    assert batch.rows_loaded == 2
    rows = silver(workspace, "policies")
    assert rows[0]["start"] == dt.date(2026, 1, 5) and rows[0]["premium"] == 12.5


PLAIN = """
source: accounts
key: [acct]
columns:
  - {name: acct, type: string, required: true}
  - {name: opened, type: date, format: "%Y-%m-%d"}
  - {name: balance, type: decimal}
"""


def test_streaming_path_keeps_every_bad_row(workspace):
    """A source with no tokens or free text is parsed in one streaming pass: same outcomes."""
    from tests.ingest.conftest import contract

    contract(workspace, PLAIN)
    body = (
        "acct,opened,balance\n"
        "A1,2026-01-02,1.50\n"
        "A2,2026-13-40,2\n"  # bad date
        "A3,2026-01-02\n"  # missing column
        "A4,2026-01-02,3,x\n"  # too many
        "A1,2026-01-03,9\n"  # duplicate key
        ",2026-01-03,9\n"  # missing key
        'A5,2026-01-02,"1,234.50"\n'
    )
    drop(workspace, "accounts", "a.csv", body)
    batch = _one_batch(workspace.ingest())
    assert (batch.rows_in, batch.rows_loaded, batch.rows_quarantined) == (7, 2, 5)
    assert quarantine_reasons(workspace, "accounts") == [
        "duplicate key within batch (first at row 1)",
        "malformed row: missing columns: Expected Number of Columns: 3 Found: 2",
        "malformed row: too many columns: Expected Number of Columns: 3 Found: 4",
        "missing required value in column acct",
        "unparsable date in column opened: 2026-13-40",
    ]
    rows = {r["acct"]: r for r in silver(workspace, "accounts")}
    assert str(rows["A5"]["balance"]) == "1234.50" and rows["A1"]["_row_number"] == 1
    assert rows["A5"]["_row_number"] == 5  # ordinal among parsed records


def test_streaming_path_empty_and_header_only(workspace):
    from tests.ingest.conftest import contract

    contract(workspace, PLAIN)
    drop(workspace, "accounts", "a.csv", "acct,opened,balance\n")
    (batch,) = workspace.ingest().batches()
    assert (batch.status, batch.rows_in) == ("loaded", 0)
    assert "empty file" in batch.warnings[0]


def test_rows_keep_their_line_in_a_file_read_by_several_threads(workspace):
    """``_row_number`` is the record's place in the file (lineage, quarantine, which of a
    key's rows is later) even when DuckDB reads the file on several threads and the
    staging query holds an ``IN`` list (a boolean column), which DuckDB would otherwise
    run as a join that does not keep the scan's order: a 40 MB drop came out with two
    threads' ranges swapped."""
    from tests.ingest.conftest import contract

    contract(
        workspace,
        """
source: flags
format: csv
key: [id]
mode: events
columns:
  - {name: id, type: string, required: true}
  - {name: name, type: string}
  - {name: flag, type: bool}
""",
    )
    n = 1_500_000
    body = "id,name,flag\n" + "".join(
        f"K{i:09d},some name {i % 1000},{'y' if i % 3 else 'n'}\n" for i in range(n)
    )
    drop(workspace, "flags", "f.csv", body)
    batch = _one_batch(workspace.ingest())
    assert (batch.rows_in, batch.rows_loaded) == (n, n)
    rows = workspace.lakehouse.read("silver", "flags", columns=["id", "_row_number"])
    got = rows.sort_by("_row_number")
    assert got.column("_row_number").to_pylist() == list(range(1, n + 1))
    # the file's ids are in order, so file order is id order
    ids = got.column("id").to_pylist()
    assert ids == sorted(ids)
