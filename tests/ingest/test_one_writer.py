"""One writer per workspace: concurrent ingests never write a batch twice.

Two real ``c360 ingest`` processes are started at the same moment, many times, on a
fresh workspace (store not yet migrated) and on existing tables; every batch must be
in every table exactly once and every process must end cleanly (one waits for the
other). ``--no-wait`` refuses with ``workspace.locked`` instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from c360.store.schema import ingest_batches
from tests.ingest.conftest import CUSTOMERS, HEADER, contract, drop

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow

EVENTS = """
source: txn
mode: events
key: [id]
columns:
  - {name: id, type: string, required: true}
  - {name: amount, type: decimal}
"""
TRIALS = 8
ROWS = 200


def _drop_trial(ws, trial: int) -> None:
    body = "".join(
        f"C{trial}_{i},N{i},01/02/1980,123-45-{i % 10000:04d},{i}.5,\n" for i in range(ROWS)
    )
    drop(ws, "customers", f"d{trial:03d}.csv", HEADER + body)
    drop(
        ws,
        "txn",
        f"t{trial:03d}.csv",
        "id,amount\n" + "".join(f"T{trial}_{i},{i}\n" for i in range(ROWS)),
    )


def _start(ws, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "c360", "ingest", "--json", *args],
        env={**os.environ, "C360_WORKSPACE": str(ws.root), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _no_duplicates(ws, trials: int) -> None:
    with ws.engine.fork() as engine:
        engine.register_lakehouse(ws.lakehouse)
        for table in (
            "restricted__customers",
            "bronze__customers",
            "silver__customers",
            "bronze__txn",
            "silver__txn",
        ):
            total, distinct = (
                engine.query(
                    f"SELECT count(*) AS n, count(DISTINCT (_batch_id, _row_number)) AS d FROM {table}"
                )
                .to_pylist()[0]
                .values()
            )
            assert (table, total) == (table, distinct), f"{table} holds a row twice"
            assert total == trials * ROWS, table
    for zone, name in (("restricted", "customers"), ("bronze", "txn"), ("silver", "customers")):
        tagged = ws.lakehouse.table(zone, name).history()
        batches = [h.get("c360.batch_id") for h in tagged if h.get("operation") != "CREATE TABLE"]
        batches = [b for b in batches if b]
        assert len(batches) == len(set(batches)), f"{zone}.{name}: a batch committed twice"
    with ws.store.begin() as conn:
        rows = conn.execute(select(ingest_batches.c.status, ingest_batches.c.attempts)).all()
    assert sorted(rows) == [("loaded", 1)] * (2 * trials)


def _both_succeed(procs: list[subprocess.Popen]) -> list[str]:
    errs = []
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        errs.append(err)
    return errs


def _trials(ws, env: dict[str, str] | None = None) -> None:
    contract(ws, CUSTOMERS)
    contract(ws, EVENTS)
    waited = 0
    for trial in range(TRIALS):
        _drop_trial(ws, trial)
        procs = [_start(ws, env=env), _start(ws, env=env)]
        errs = _both_succeed(procs)
        waited += sum("waiting for the workspace write lock" in e for e in errs)
        _no_duplicates(ws, trial + 1)
    # the race is real: in most trials one process found the other writing
    assert waited >= 1


@pytest.mark.slow
def test_two_processes_many_trials_no_duplicates(tmp_path):
    # a fresh workspace: the first trial also races the store migration
    subprocess.run([sys.executable, "-m", "c360", "init", str(tmp_path / "ws")], check=True)
    from c360.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    try:
        _trials(ws)
    finally:
        ws.close()


@pytest.mark.postgres
def test_two_processes_on_postgres_store(tmp_path, pg_url):
    env = {"C360_STORE_URL": pg_url}
    subprocess.run(
        [sys.executable, "-m", "c360", "init", str(tmp_path / "ws")],
        check=True,
        env={**os.environ, **env},
    )
    from c360.config import load_config
    from c360.workspace import Workspace

    root = tmp_path / "ws"
    ws = Workspace(root, load_config(root, {**os.environ, **env}))
    try:
        _trials(ws, env)
    finally:
        ws.close()


def test_no_wait_refuses_while_another_process_writes(cust_ws):
    drop(cust_ws, "customers", "d1.csv", HEADER + "C1,Ann,01/02/1980,,1,\n")
    with cust_ws.write_lock("identity"):
        proc = _start(cust_ws, "--no-wait")
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    error = json.loads(out)["error"]
    assert error["code"] == "workspace.locked"
    assert f"pid {os.getpid()} (identity, since " in error["message"]
    assert "[workspace.locked]" in err
    # nothing was written; once the lock is free the file loads
    assert not cust_ws.lakehouse.exists("bronze", "customers")
    (batch,) = cust_ws.ingest().batches()
    assert batch.status == "loaded"


def test_waiting_writer_says_so_and_proceeds(cust_ws):
    drop(cust_ws, "customers", "d1.csv", HEADER + "C1,Ann,01/02/1980,,1,\n")
    with cust_ws.write_lock("retention"):
        proc = _start(cust_ws)
        assert proc.stderr is not None
        told = proc.stderr.readline()  # blocks until the waiting process says why
        assert proc.poll() is None  # still waiting
    assert (
        f"ingest: waiting for the workspace write lock held by pid {os.getpid()} (retention" in told
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    (src,) = json.loads(out)["sources"]
    assert src["rows_loaded"] == 1


def test_lock_is_reentrant_in_one_process(cust_ws):
    drop(cust_ws, "customers", "d1.csv", HEADER + "C1,Ann,01/02/1980,,1,\n")
    with cust_ws.write_lock("run"):
        assert cust_ws.ingest().ok  # takes the lock again inside
        holder = cust_ws._write_lock.holder()
        assert holder is not None and holder["stage"] == "run"
    assert cust_ws._write_lock.holder() is None
