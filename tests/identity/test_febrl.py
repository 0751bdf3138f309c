"""FEBRL4 onboarded as two sources by contracts only (no code) links with F1 ≥ 0.99."""

from __future__ import annotations

from pathlib import Path

from c360.workspace import Workspace
from tests.identity.helpers import febrl_world


def test_febrl4_two_sources_by_contract_only(ws: Workspace, tmp_path: Path) -> None:
    truth = tmp_path / "truth.csv"
    febrl_world(ws, truth)
    report = ws.identity.run()
    assert report.status == "ok"
    assert report.records == 10_000
    metrics = ws.identity.evaluate(truth)
    assert metrics["f1"] >= 0.99, metrics
    assert metrics["precision"] >= 0.995, metrics
    # crosswalk has the required columns and one current row per record
    links = ws.identity.links()
    assert {
        "source",
        "source_key",
        "golden_id",
        "rule",
        "probability",
        "run_id",
        "is_current",
    } <= set(links.column_names)
    assert links.num_rows == 10_000
    golden = ws.lakehouse.read("gold", "golden_customers")
    assert golden.num_rows == metrics["clusters"]
