"""Golden ids on the synthetic world through real ingestion: re-runs, daily drops, --full."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from c360.workspace import Workspace
from tests.identity.synthetic import (
    clusters,
    gids,
    hold_back_after,
    release,
    synthetic_workspace,
)

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow


@pytest.fixture
def two_drops(tmp_path: Path) -> Iterator[tuple[Workspace, Path]]:
    """1,000 people over 3 days: day one ingested and resolved, later drops held back."""
    ws = synthetic_workspace(tmp_path / "ws", 1000, days=3, seed=5)
    hold = tmp_path / "held"
    assert hold_back_after(ws, "2026-01-01", hold) > 0
    ws.ingest()
    ws.identity.run()
    yield ws, hold
    ws.close()


def test_rerun_without_new_data_changes_no_golden_id(two_drops: tuple[Workspace, Path]) -> None:
    ws, _ = two_drops
    before = gids(ws)
    report = ws.identity.run()
    assert report.new_or_changed == 0 and report.events == {}
    assert gids(ws) == before


def test_daily_drop_keeps_ids_and_incremental_equals_full(
    two_drops: tuple[Workspace, Path],
) -> None:
    ws, hold = two_drops
    before = gids(ws)
    release(ws, hold)
    ws.ingest()
    report = ws.identity.run()
    assert not report.full and report.new_or_changed > 0
    # only what the drop changed is standardised and re-clustered
    assert 0 < report.records_standardised <= report.new_or_changed
    assert 0 < report.records_reclustered < report.records
    after = gids(ws)
    events = [
        e
        for e in ws.lakehouse.read("gold", "identity_events").to_pylist()
        if e["run_id"] == report.run_id
    ]
    assert not [e for e in events if e["event_type"] in ("split", "reassign", "retire")], events
    merged = {r for e in events if e["event_type"] == "merge" for r in e["record_ids"]}
    moved = {r for r, g in before.items() if r in after and after[r] != g}
    assert moved <= merged
    # only golden records whose values changed are rewritten (and stamped with the run)
    golden = _golden(ws)
    stamped = {g for g, r in golden.items() if r["run_id"] == report.run_id}
    assert 0 < report.golden_changed == len(stamped) < len(golden)
    # the value status: values none of whose holders changed were kept, not judged again
    status = _status(ws)
    assert any(r["household"] for r in status) and any(not r["one_person"] for r in status)
    rebuild = ws.identity.run(full=True)
    assert clusters(gids(ws)) == clusters(after)
    assert gids(ws) == after
    # ... and the records left alone are what a full rebuild derives
    rebuilt = _golden(ws)
    assert _values(rebuilt) == _values(golden)
    assert _status(ws) == status
    # a rebuild that changes no record stamps none, so the projection rewrites none
    assert rebuilt == golden
    assert rebuild.golden_changed == 0 and rebuild.serving["written"] == 0, rebuild.serving


def _status(ws: Workspace) -> list[dict[str, object]]:
    rows = ws.lakehouse.read("silver", "identity_generic").to_pylist()
    return sorted(rows, key=lambda r: (str(r["kind"]), str(r["value"])))


def test_changed_refusing_attributes_make_the_next_run_full(
    two_drops: tuple[Workspace, Path],
) -> None:
    ws, hold = two_drops
    release(ws, hold)
    ws.ingest()
    stored = {r["hard"] for r in _status(ws)}
    # no disagreement tolerated: the attributes true matches ever disagree on stop refusing
    ws.config.identity.strict_max_disagreement = 0.0
    report = ws.identity.run()
    now = {r["hard"] for r in _status(ws)}
    assert len(stored) == len(now) == 1 and stored != now, (stored, now)
    assert report.full and report.records_reclustered == report.records
    # with the attributes unchanged, the next drop is incremental again
    assert not ws.identity.run().full


def _golden(ws: Workspace) -> dict[str, dict[str, object]]:
    return {r["golden_id"]: r for r in ws.lakehouse.read("gold", "golden_customers").to_pylist()}


def _values(golden: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    return {g: {k: v for k, v in r.items() if k != "run_id"} for g, r in golden.items()}


def test_cannot_link_holds_after_full_rebuild(two_drops: tuple[Workspace, Path]) -> None:
    ws, _ = two_drops
    ids = gids(ws)
    by_gid: dict[str, list[str]] = {}
    for rid, gid in sorted(ids.items()):
        by_gid.setdefault(gid, []).append(rid)
    a, b = next(m[:2] for m in by_gid.values() if len(m) >= 2)
    ws.identity.cannot_link(a, b, actor="steward1", reason="different people per branch")
    ws.identity.run(full=True)
    assert gids(ws)[a] != gids(ws)[b]
    assert ws.identity.explain(a, b)["refused_by"] == "steward cannot-link"
    ws.identity.run()
    assert gids(ws)[a] != gids(ws)[b]
