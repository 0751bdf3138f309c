"""The operational store migrates and holds runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from c360.errors import C360Error
from c360.store import Store
from c360.store.schema import runs


@pytest.fixture
def store_url(store_choice, tmp_path):
    return store_choice or f"sqlite:///{tmp_path / 'c360.db'}"


def test_migrate_is_idempotent(store_url):
    store = Store(store_url)
    store.migrate()
    store.migrate()
    names = set(store.table_names())
    assert {"runs", "ingest_batches", "pii_findings", "alembic_version"} <= names
    store.dispose()


def test_a_migration_stopped_half_way_leaves_nothing_behind(store_url):
    """A migration is one transaction on SQLite too: stopped after some of its tables were
    created (a kill, here an error), it leaves none of them, and the next migrate runs."""
    store = Store(store_url)
    created: list[str] = []

    def stop_at_the_third_table(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("CREATE TABLE"):
            created.append(statement)
            if len(created) == 3:
                raise RuntimeError("stopped half-way")

    event.listen(store.engine, "before_cursor_execute", stop_at_the_third_table)
    with pytest.raises(Exception, match="stopped half-way"):
        store.migrate()
    event.remove(store.engine, "before_cursor_execute", stop_at_the_third_table)
    assert len(created) == 3
    assert store.table_names() == []
    store.migrate()
    assert {"runs", "ingest_batches", "alembic_version"} <= set(store.table_names())
    store.dispose()


def test_run_recorded_through_workspace(tmp_path, store_url, monkeypatch):
    from c360.workspace import Workspace

    monkeypatch.setenv("C360_STORE_URL", store_url)
    ws = Workspace.init(tmp_path / "w", template="empty")
    report = ws.run()
    assert report.status == "succeeded"
    with ws.store.begin() as conn:
        row = conn.execute(select(runs).where(runs.c.run_id == report.run_id)).mappings().one()
    assert row["status"] == "succeeded"
    assert next(s["name"] for s in row["stages"]) == "ingest"
    ws.close()


def test_unreachable_store_is_a_clear_error():
    from c360.errors import C360Error

    store = Store("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(C360Error) as exc:
        store.migrate()
    assert exc.value.code == "store.unavailable"


def test_a_workspace_never_silently_opens_another_store(tmp_path, monkeypatch):
    """Data in one store, a later shell without the variable: an error, not an empty store."""
    from c360.workspace import Workspace

    other = tmp_path / "elsewhere" / "c360.db"
    monkeypatch.setenv("C360_STORE_URL", f"sqlite:///{other}")
    ws = Workspace.init(tmp_path / "w", template="empty")
    assert ws.store is not None  # first use records where the data lives
    ws.close()
    monkeypatch.delenv("C360_STORE_URL")
    with pytest.raises(C360Error) as exc:
        _ = Workspace.open(tmp_path / "w").store
    assert exc.value.code == "workspace.store_mismatch"
    assert str(other) in exc.value.message and "store.url" in exc.value.message
    monkeypatch.setenv("C360_STORE_URL", f"sqlite:///{other}")
    again = Workspace.open(tmp_path / "w")
    assert again.store is not None  # the recorded store opens
    again.close()


def test_store_location_survives_moving_the_workspace(tmp_path, monkeypatch):
    import shutil

    from c360.workspace import Workspace

    monkeypatch.delenv("C360_STORE_URL", raising=False)
    ws = Workspace.init(tmp_path / "a", template="empty")
    assert ws.store is not None
    ws.close()
    shutil.move(tmp_path / "a", tmp_path / "b")
    moved = Workspace.open(tmp_path / "b")
    assert moved.store is not None
    moved.close()


def test_refill_keeps_the_index_and_a_failed_refill_keeps_the_old_rows(store_url):
    """A rebuild empties a table and fills it again in one transaction (on SQLite with its
    index built after the rows): committed, the rows and the index are there; stopped
    half-way, the old rows and the index are, as if nothing had happened."""
    import pyarrow as pa
    from sqlalchemy import delete, func, inspect

    from c360.identity.serving import profile_keys
    from c360.store.bulk import CHUNK, refill

    store = Store(store_url)
    store.migrate()
    n = CHUNK + 7  # large enough for the index to be rebuilt on SQLite
    keys = pa.table(
        {
            "kind": ["email"] * n,
            "value": [f"p{i:06d}@x.org" for i in range(n)],
            "golden_id": [f"G{i % 999:015d}" for i in range(n)],
        }
    )

    def state() -> tuple[int, list[str]]:
        with store.engine.connect() as conn:
            count = conn.scalar(select(func.count()).select_from(profile_keys))
            names = [i["name"] for i in inspect(conn).get_indexes("profile_keys")]
        return int(count or 0), names

    with store.begin() as conn:
        refill(conn, profile_keys, keys)
    assert state() == (n, ["ix_profile_keys_golden_id"])
    with store.begin() as conn:  # lookups by golden id still use the index
        plan = " ".join(
            str(r)
            for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT * FROM profile_keys WHERE golden_id = 'G1'"
                if store.dialect == "sqlite"
                else "EXPLAIN SELECT * FROM profile_keys WHERE golden_id = 'G1'"
            )
        )
    assert "ix_profile_keys_golden_id" in plan or store.dialect != "sqlite", plan
    with pytest.raises(RuntimeError, match="stopped"), store.begin() as conn:
        conn.execute(delete(profile_keys))
        refill(conn, profile_keys, keys.slice(0, n - 1))
        raise RuntimeError("stopped before the commit")
    assert state() == (n, ["ix_profile_keys_golden_id"])
    store.dispose()
