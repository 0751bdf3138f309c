"""The real pipeline on PostgreSQL: ingest, identity, consent and a DSR erase.

The store lives in a database created for this run (``pg_url`` in tests/conftest.py,
the one PostgreSQL fixture convention) and is named in ``c360.yaml``, as a bank would.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select

from c360.governance.tables import audit_log
from c360.store.schema import ingest_batches
from tests.conftest import on_store
from tests.identity.synthetic import synthetic_workspace

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_ingest_identity_consent_and_erase_on_postgres(tmp_path, pg_url, monkeypatch):
    monkeypatch.setenv("C360_TOKEN_KEY", "k" * 40)
    monkeypatch.delenv("C360_STORE_URL", raising=False)
    ws = on_store(synthetic_workspace(tmp_path / "ws", 200, days=1, seed=3), pg_url)
    report = ws.run()
    assert report.status == "succeeded", report.to_dict()
    assert {s.name for s in report.stages} >= {"ingest", "identity", "consent"}
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        loaded = conn.execute(
            select(func.count())
            .select_from(ingest_batches)
            .where(ingest_batches.c.status == "loaded")
        ).scalar_one()
    assert loaded > 0
    golden = ws.lakehouse.read("gold", "golden_customers").to_pylist()
    person = next(g for g in golden if g.get("email"))
    privacy = ws.governance.principals.create("ada", "privacy", ["dsr"])
    result = ws.governance.dsr.erase(privacy, f"golden:{person['golden_id']}")
    assert result.to_dict()["tables"], result.to_dict()
    left = ws.lakehouse.read("gold", "golden_customers").column("golden_id").to_pylist()
    assert person["golden_id"] not in left
    with engine.connect() as conn:
        actions = {r[0] for r in conn.execute(select(audit_log.c.action)).all()}
    assert any(a.startswith("dsr") for a in actions), actions
    engine.dispose()
    ws.close()
