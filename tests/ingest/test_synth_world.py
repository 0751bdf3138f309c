"""The synthetic bank world through ingestion: quarantine matches the generator's truth,
and no raw SSN/PAN exists outside the restricted zone."""

from __future__ import annotations

import csv
import re

import pyarrow as pa
import pytest

from c360.synth import SynthOptions, generate_world


@pytest.fixture(scope="module")
def world_ws(tmp_path_factory):
    from c360.workspace import Workspace

    root = tmp_path_factory.mktemp("world")
    ws = Workspace.init(root / "ws", template="bank-demo")
    generate_world(
        ws.landing_dir,
        ws.truth_dir,
        None,
        SynthOptions(customers=1500, seed=11, days=3, dirty_row_rate=0.01),
    )
    report = ws.ingest()
    yield ws, report
    ws.close()


def test_every_source_loads_and_counts_reconcile(world_ws):
    _, report = world_ws
    assert report.ok, [s.error for s in report.sources]
    assert len(report.sources) == 13
    assert all(b.reconciles for b in report.batches())


def test_quarantine_is_exactly_the_dirty_rows(world_ws):
    ws, _ = world_ws
    with (ws.truth_dir / "dirty_rows.csv").open() as fh:
        truth = {(r["file"], int(r["line"])) for r in csv.DictReader(fh)}
    assert truth, "the generator wrote no dirty rows"
    found = set()
    for info in ws.tables():
        if info.zone == "quarantine":
            t = ws.lakehouse.read(
                "quarantine", info.name, columns=["_source_file", "_line", "_reason"]
            )
            for row in t.to_pylist():
                assert row["_reason"].startswith("malformed row:"), row
                found.add((row["_source_file"], row["_line"]))
    assert found == truth


def test_no_raw_ssn_or_pan_outside_restricted(world_ws):
    ws, _ = world_ws
    raw = set()
    for name in ("core_customers", "card_holders", "loan_borrowers", "policy_holders"):
        t = ws.lakehouse.read("restricted", name)
        for col in t.column_names:
            if col in ("ssn", "tin", "pan"):
                raw |= {re.sub(r"\D", "", v) for v in t.column(col).to_pylist() if v}
    assert len(raw) > 500
    digits = re.compile(r"\d[\d -]{7,22}\d")
    leaks = []
    scanned = 0
    with ws.engine.fork() as engine:
        for info in ws.tables():
            if info.zone == "restricted":
                continue
            engine.register_delta("scanned", ws.lakehouse.path(info.zone, info.name))
            rows = engine.query("SELECT * FROM scanned")
            for col in rows.columns:  # plain text columns (lists and structs are not scanned)
                if not _text(col.type):
                    continue
                for v in col.to_pylist():
                    if isinstance(v, str):
                        scanned += 1
                        for m in digits.findall(v):
                            if re.sub(r"\D", "", m) in raw:
                                leaks.append((info.qualified, v))
            engine.unregister("scanned")
    assert scanned > 10_000, "the scan must read the lakehouse's text"
    assert leaks == []


def test_transcripts_pii_found_and_redacted(world_ws):
    ws, report = world_ws
    found = {
        k: v
        for b in report.batches()
        if b.source == "cc_transcripts"
        for k, v in b.pii_found.items()
    }
    assert found.get("transcript:ssn", 0) > 0 and found.get("transcript:pan", 0) > 0
    text = " ".join(
        t
        for t in ws.lakehouse.read("silver", "cc_transcripts").column("transcript").to_pylist()
        if t
    )
    assert "[SSN:" in text and "[PAN:" in text


def _text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
