"""A fact recorded ahead of its subject binds when the real pipeline brings the subject.

A synthetic bank world is generated but not yet ingested: no customer is known. A
revocation for one of its source records is refused, then recorded with
``allow_unknown``; after ``ws.run()`` (ingest → identity → consent) the golden record
that source record resolved to is denied in point and set form, with that fact as
evidence, and the audit chain says the fact was recorded ahead of its subject.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from c360.consent.ledger import NewEvent
from c360.errors import C360Error
from c360.workspace import Workspace

# a real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow


def test_fact_recorded_ahead_binds_after_the_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from c360.synth import SynthOptions, generate_world

    monkeypatch.setenv("C360_TOKEN_KEY", "a" * 40)
    monkeypatch.delenv("C360_STORE_URL", raising=False)
    ws = Workspace.init(tmp_path / "ws", template="bank-demo")
    try:
        generate_world(
            ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=150, seed=11, days=1)
        )
        with (ws.truth_dir / "identity.csv").open(encoding="utf-8") as fh:
            row = next(r for r in csv.DictReader(fh) if r["source"] == "core_customers")
        key = f"{row['source']}:{row['source_key']}"
        ev = NewEvent(
            "source_key",
            key,
            "*",
            "*",
            "revoked",
            effective_at=datetime.now(UTC) - timedelta(days=1),
        )
        with pytest.raises(C360Error) as exc:
            ws.consent.record([ev])
        assert exc.value.code == "consent.unknown_subject"
        (event_id,) = ws.consent.record([ev], allow_unknown=True)
        report = ws.run()
        consent = report.stage("consent")
        assert consent is not None and consent.status == "succeeded", report.to_dict()
        links = ws.lakehouse.read("gold", "identity_links").to_pylist()
        (golden,) = {
            r["golden_id"]
            for r in links
            if r["is_current"] and (r["source"], r["source_key"]) == tuple(key.split(":", 1))
        }
        d = ws.consent.check(golden, "service", "email", record=True)
        assert not d.allowed and "consent.revoked" in d.reasons and event_id in d.evidence
        res = ws.consent.audience(pa.table({"golden_id": [golden]}), "service", "email")
        assert res.allowed.num_rows == 0
        assert "consent.revoked" in res.excluded.column("reasons").to_pylist()[0]
        # a person with no such fact is not touched by it
        others = [r["golden_id"] for r in links if r["golden_id"] != golden]
        assert any(ws.consent.check(g, "service", "email").allowed for g in others[:20])
        (write,) = [
            e for e in ws.audit.query(action="consent.write") if e.details["ahead_of_subject"]
        ]
        assert write.details["event_ids"] == [event_id]
    finally:
        ws.close()
