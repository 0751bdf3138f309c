"""A process killed mid-ingest leaves committed state readable; the re-run gives every row once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.ingest.conftest import CUSTOMERS, HEADER, contract, drop

EVENTS = """
source: txn
mode: events
key: [id]
columns:
  - {name: id, type: string, required: true}
  - {name: amount, type: decimal}
"""


def _files(ws, n_files: int, rows: int) -> None:
    for f in range(n_files):
        body = "".join(
            f"C{f}_{i},N{i},01/02/1980,123-45-{i % 10000:04d},{i}.5,\n" for i in range(rows)
        )
        drop(ws, "customers", f"d{f:03d}.csv", HEADER + body)
        drop(
            ws,
            "txn",
            f"t{f:03d}.csv",
            "id,amount\n" + "".join(f"T{f}_{i},{i}\n" for i in range(rows)),
        )


def _counts(ws) -> dict[str, int]:
    out = {}
    with ws.engine.fork() as engine:
        engine.register_lakehouse(ws.lakehouse)
        for t in ("bronze__customers", "silver__customers", "bronze__txn", "silver__txn"):
            total, distinct = (
                engine.query(
                    f"SELECT count(*) AS n, count(DISTINCT (_batch_id, _row_number)) AS d FROM {t}"
                )
                .to_pylist()[0]
                .values()
            )
            assert total == distinct, f"{t} holds a row twice"
            out[t] = total
    return out


N_FILES, ROWS = 4, 300
# customers: restricted, bronze, silver per file; txn: bronze, silver per file
COMMITS = N_FILES * 5


def _statuses(ws) -> list[str]:
    from sqlalchemy import select

    from c360.store.schema import ingest_batches

    with ws.store.begin() as conn:
        return [r[0] for r in conn.execute(select(ingest_batches.c.status)).all()]


def _check_converges(workspace, n_files: int, rows: int) -> None:
    killed_running = _statuses(workspace).count("running")
    report = workspace.ingest()
    assert report.ok
    if killed_running:  # the dead process's batch is marked interrupted, then resumed
        assert report.warnings == [
            f"{killed_running} batch(es) left running by a process that ended were marked "
            "interrupted and are resumed now"
        ]
    assert set(_statuses(workspace)) == {"loaded"}
    assert all(b.reconciles for b in report.batches())
    assert _counts(workspace) == {
        "bronze__customers": n_files * rows,
        "silver__customers": n_files * rows,
        "bronze__txn": n_files * rows,
        "silver__txn": n_files * rows,
    }
    assert workspace.ingest().batches() == []


def _start(workspace, extra_env: dict[str, str]) -> subprocess.Popen:
    env = {**os.environ, "C360_WORKSPACE": str(workspace.root), **extra_env}
    return subprocess.Popen(
        [sys.executable, "-m", "c360", "ingest", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("crash_after", range(1, COMMITS, 3))
def test_crash_after_any_commit_converges(workspace, crash_after):
    contract(workspace, CUSTOMERS)
    contract(workspace, EVENTS)
    _files(workspace, N_FILES, ROWS)
    proc = _start(workspace, {"C360_CRASH_AFTER_COMMITS": str(crash_after)})
    assert proc.wait(timeout=120) == 137  # it really died mid-ingest
    assert _statuses(workspace).count("running") == 1  # … leaving its batch running
    _check_converges(workspace, N_FILES, ROWS)


def test_sigkill_at_random_time_converges(workspace):
    contract(workspace, CUSTOMERS)
    contract(workspace, EVENTS)
    _files(workspace, 12, 400)
    proc = _start(workspace, {})
    time.sleep(2.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _check_converges(workspace, 12, 400)
