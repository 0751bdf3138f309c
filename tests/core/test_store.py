"""The operational store migrates and holds runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from c360.store import Store
from c360.store.schema import runs

STORE_PARAMS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=STORE_PARAMS)
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'c360.db'}"
    return request.getfixturevalue("pg_url")


def test_migrate_is_idempotent(store_url):
    store = Store(store_url)
    store.migrate()
    store.migrate()
    names = set(store.table_names())
    assert {"runs", "ingest_batches", "pii_findings", "alembic_version"} <= names
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
