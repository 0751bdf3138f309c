"""Dirty deliveries: over-long records, Latin-1 rows, files still being written, markers,
files changed after loading. Each ends in quarantine or a report, never a crash."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from c360.store.schema import ingest_batches
from c360.workspace import Workspace
from tests.ingest.conftest import CUSTOMERS, HEADER, contract, drop, silver


def _statuses(ws) -> list[str]:
    with ws.store.begin() as conn:
        return [r[0] for r in conn.execute(select(ingest_batches.c.status)).all()]


def test_ten_mb_field_is_quarantined_and_the_good_rows_load(cust_ws):
    huge = "x" * (10 * 1024 * 1024)
    body = HEADER + f"C1,Ann,01/02/1980,,1,\nC2,Bob,01/02/1980,,2,{huge}\nC3,Cy,01/02/1980,,3,\n"
    drop(cust_ws, "customers", "d1.csv", body)
    (batch,) = cust_ws.ingest().batches()
    assert (batch.status, batch.rows_in, batch.rows_loaded, batch.rows_quarantined) == (
        "loaded",
        3,
        2,
        1,
    )
    q = cust_ws.lakehouse.read("quarantine", "customers").to_pylist()
    (row,) = q
    assert row["_line"] == 3
    assert row["_reason"].startswith(
        "malformed row: line longer than the limit of 2,097,152 bytes (ingest.max_line_bytes)"
    )
    assert row["_raw_bytes"] == f"C2,Bob,01/02/1980,,2,{huge}".encode()[:2_097_152]
    assert [r["customer_no"] for r in silver(cust_ws, "customers")] == ["C1", "C3"]
    assert _statuses(cust_ws) == ["loaded"]
    assert cust_ws.ingest().batches() == []  # the re-run is a no-op, not a crash


def test_oversized_field_within_the_line_limit_names_its_limit(workspace):
    contract(
        workspace,
        CUSTOMERS.replace("{name: note, type: text}", "{name: note, type: text, max_bytes: 100}"),
    )
    body = HEADER + "C1,Ann,01/02/1980,,1,short\nC2,Bob,01/02/1980,,2," + "y" * 150 + "\n"
    drop(workspace, "customers", "d1.csv", body)
    (batch,) = workspace.ingest().batches()
    assert (batch.rows_loaded, batch.rows_quarantined) == (1, 1)
    (reason,) = workspace.lakehouse.read("quarantine", "customers").column("_reason").to_pylist()
    assert reason == "value in column note is 150 bytes, over the limit of 100 bytes (max_bytes)"


def test_latin1_row_in_a_utf8_file_is_kept_losslessly(cust_ws):
    bad = "C2,Jos\xe9 M\xfcller,01/02/1980,123-45-6789,1,caf\xe9, cr\xe8me".encode("latin-1")
    body = (HEADER + "C1,Ann,01/02/1980,,1,\n").encode() + bad + b"\n"
    drop(cust_ws, "customers", "d1.csv", body)
    (batch,) = cust_ws.ingest().batches()
    assert (batch.rows_loaded, batch.rows_quarantined) == (1, 1)
    (row,) = cust_ws.lakehouse.read("quarantine", "customers").to_pylist()
    assert row["_reason"].startswith("malformed row: invalid encoding")
    # the bytes as delivered (only the SSN replaced by its token), and a readable rendering
    token = cust_ws.tokenizer.token("ssn", "123-45-6789")
    assert row["_raw_bytes"] == bad.replace(b"123-45-6789", f"[SSN:{token}]".encode())
    assert row["_raw_line"] == f"C2,José Müller,01/02/1980,[SSN:{token}],1,café, crème"


def test_file_still_being_written_waits_and_then_loads_once(cust_ws, monkeypatch):
    monkeypatch.setenv("C360_INGEST__SETTLE_SECONDS", "1")
    ws = Workspace.open(cust_ws.root)
    assert ws.config.ingest.settle_seconds == 1
    path = drop(ws, "customers", "d1.csv", HEADER)
    done = threading.Event()

    def writer() -> None:
        with path.open("a") as fh:
            for i in range(40):
                fh.write(f"C{i},N{i},01/02/1980,,{i},\n")
                fh.flush()
                time.sleep(0.1)
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.3)
    report = ws.ingest()
    assert report.batches() == []
    (skipped,) = report.sources[0].skipped_files
    assert skipped == (
        "customers/d1.csv: still being written (size or mtime changed within the settle "
        "interval of 1s, ingest.settle_seconds)"
    )
    t.join()
    (batch,) = ws.ingest().batches()
    assert (batch.status, batch.rows_loaded) == ("loaded", 40)
    assert len(silver(ws, "customers")) == 40
    ws.close()


def test_ready_marker_gates_the_folder(workspace):
    contract(workspace, CUSTOMERS + "ready_marker: _SUCCESS\n")
    drop(workspace, "customers", "d1.csv", HEADER + "C1,Ann,01/02/1980,,1,\n")
    report = workspace.ingest()
    assert report.batches() == []
    assert report.sources[0].skipped_files == [
        "customers/d1.csv: waiting for its ready marker '_SUCCESS'"
    ]
    drop(workspace, "customers", "_SUCCESS", "")
    (batch,) = workspace.ingest().batches()
    assert batch.rows_loaded == 1


def test_done_suffix_marks_one_file(workspace):
    contract(workspace, CUSTOMERS + "ready_marker: .done\n")
    drop(workspace, "customers", "d1.csv", HEADER + "C1,Ann,01/02/1980,,1,\n")
    drop(workspace, "customers", "d2.csv", HEADER + "C2,Bob,01/02/1980,,1,\n")
    drop(workspace, "customers", "d2.csv.done", "")
    (batch,) = workspace.ingest().batches()
    assert batch.file == "customers/d2.csv"  # the marker itself is not data
    assert workspace.ingest().sources[0].skipped_files == [
        "customers/d1.csv: waiting for its ready marker '.done'"
    ]


def test_changed_file_already_loaded_is_reported_not_reloaded(cust_ws):
    drop(cust_ws, "customers", "d1.csv", HEADER + "C1,Ann,01/02/1980,,1,\n")
    (first,) = cust_ws.ingest().batches()
    drop(cust_ws, "customers", "d1.csv", HEADER + "C1,Ann,01/02/1980,,1,\nC2,Bob,01/02/1980,,2,\n")
    report = cust_ws.ingest()
    assert report.batches() == []
    (src,) = report.sources
    assert src.status == "changed"
    assert src.changed_files == [
        f"customers/d1.csv: changed since it was loaded as batch {first.batch_id} (1 rows, "
        "60 bytes then, 82 now); not re-loaded — deliver changes as a new file"
    ]
    assert [r["customer_no"] for r in silver(cust_ws, "customers")] == ["C1"]
    assert cust_ws.lakehouse.count("bronze", "customers") == 1


def test_file_the_reader_gives_up_on_is_a_clear_batch_error(cust_ws):
    # LF and CRLF mixed: DuckDB's CSV state machine rejects the whole file
    body = (HEADER + "C1,Ann,01/02/1980,,1,\n").encode() + b"C2,B,01/02/1980,,1,x\r\n"
    drop(cust_ws, "customers", "d1.csv", body)
    report = cust_ws.ingest()
    (batch,) = report.batches()
    assert batch.status == "failed"
    assert batch.error is not None and batch.error.startswith(
        "customers/d1.csv: cannot be read as csv: Invalid Input Error: The CSV Parser state "
        "machine reached an invalid state"
    )
    assert _statuses(cust_ws) == ["failed"]  # not left running; re-runnable


def test_an_engine_failure_after_the_file_was_read_names_the_phase(cust_ws, monkeypatch):
    """A file read whole whose rows then fail in the engine (e.g. Spark running out of heap
    while writing 23M rows) is not reported as unreadable: the error names the phase."""
    import duckdb

    from c360.ingest import pipeline

    def fail(*args, **kwargs):
        raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate 64 MiB")

    monkeypatch.setattr(pipeline.SourceIngest, "_write_zones", fail)
    drop(cust_ws, "customers", "d1.csv", HEADER + "C1,Ann,01/02/1980,,1,\n")
    (batch,) = cust_ws.ingest().batches()
    assert batch.status == "failed"
    assert batch.error == (
        "customers/d1.csv: the duckdb engine failed while writing bronze and silver: "
        "Out of Memory Error: failed to allocate 64 MiB"
    )
    # the row was read, and nothing was loaded: the counts say so
    assert (batch.rows_in, batch.rows_loaded, batch.rows_quarantined) == (1, 0, 0)
    assert not cust_ws.lakehouse.exists("silver", "customers")
    assert _statuses(cust_ws) == ["failed"]
    with cust_ws.store.begin() as conn:
        stored = conn.execute(select(ingest_batches.c.rows_in, ingest_batches.c.rows_loaded)).all()
    assert [tuple(r) for r in stored] == [(1, 0)]
