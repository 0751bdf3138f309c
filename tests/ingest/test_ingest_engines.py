"""Ingest on DuckDB and on local Spark: the same landing files give the same zones.

One synthetic world (synth, with malformed lines in the daily drops) is ingested twice by
``c360 run --stage ingest``: once on DuckDB, once with ``--engine spark``. Five sources
cover every reader and path: a CSV read in one streaming pass (card transactions, with
malformed lines), a CSV with a tokenised SSN and its transposition variants (core
customers), JSON lines with an ISO timestamp format (email events) and with a month-name
date and a tokenised SSN (loan borrowers), and Parquet (policy holders). Every batch must
reconcile to the same counts, and silver, bronze and restricted must hold the same rows
with the same types. ``_row_hash`` is each engine's own 64-bit hash (ADR 0002, 0061) and
``_ingested_at`` the moment of the run, so those two are left out of the row hashes the
test compares; quarantine is compared by count (Spark's CSV reader does not say which
line it rejected, so the reject rows differ in their line number and text).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from c360.synth import SynthOptions, generate_world
from c360.workspace import Workspace
from tests.conftest import world_env
from tests.engines import SPARK

pytestmark = [*SPARK, pytest.mark.slow]

SOURCES = (
    "card_transactions",
    "core_customers",
    "email_events",
    "loan_borrowers",
    "policy_holders",
)
PER_RUN = ("_ingested_at", "_row_hash")


def _world(root: Path) -> Workspace:
    ws = Workspace.init(root, template="bank-demo")
    options = SynthOptions(customers=60, seed=3, days=1, dirty_row_rate=0.05)
    generate_world(ws.landing_dir, ws.truth_dir, None, options)
    for contract in ws.contracts_dir.glob("*.yaml"):
        if contract.stem not in SOURCES:
            contract.unlink()
    _dirty_further(ws.landing_dir)
    return ws


def _dirty_further(landing: Path) -> None:
    """Append to the daily drops what synth's malformed lines do not cover: a second row
    of a key the file already has (quarantined as a duplicate: the check is a window
    over a named ``WINDOW``), records holding a byte that is not UTF-8 (rejected: Spark's
    decoder would load them with U+FFFD) and records holding non-ASCII UTF-8 (loaded as
    written), in a streamed CSV (card transactions) and one with tokenised SSNs."""
    cards = landing / "card_transactions" / "2026-01-02.csv"
    data = cards.read_bytes()
    first = data.split(b"\n")[1]
    key, rest = first.split(b",", 1)
    added = [
        first,
        b"ZZ1" + key[3:] + b"," + rest + b"\xe9",
        b"ZZ2" + key[3:] + b"," + rest + "ë".encode(),
    ]
    cards.write_bytes(data + b"\n".join(added) + b"\n")
    customers = landing / "core_customers" / "2026-01-02.csv"
    row = ',"DOE, {}",01/02/1980,,"1 Main St, Pittsburgh, PA 15217",,,07/30/2001,BR020,N,2026-01-02 01:00:00'
    added = [
        b"I,ZZ0000001" + row.format("JAN").encode() + b"\xe9",
        b"I,ZZ0000002" + row.format("ZOË").encode(),
    ]
    customers.write_bytes(customers.read_bytes().rstrip(b"\n") + b"\n" + b"\n".join(added) + b"\n")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    mp = world_env("e" * 40)
    out: dict[str, Any] = {}
    for engine in ("duckdb", "spark"):
        ws = _world(tmp_path_factory.mktemp(f"ingest-{engine}") / "ws")
        report = ws.run(stages=["ingest"], engine=engine)
        out[engine] = (ws, report)
    yield out
    for ws, _ in out.values():
        ws.close()
    mp.undo()


def _batches(report: Any) -> list[tuple[Any, ...]]:
    return sorted(
        (s["source"], b["file"], b["status"], b["rows_in"], b["rows_loaded"], b["rows_quarantined"])
        for s in report.stage("ingest").summary["sources"]
        for b in s["batches"]
    )


def _tables(ws: Workspace, zone: str) -> dict[str, Any]:
    return {
        i.name: ws.lakehouse.read(zone, i.name)
        for i in ws.lakehouse.tables(count_rows=False)
        if i.zone == zone
    }


def _row_hashes(table: Any) -> list[str]:
    """A SHA-256 per row over every column but the per-run ones, sorted (order-free)."""
    cols = sorted(c for c in table.column_names if c not in PER_RUN)
    return sorted(
        hashlib.sha256(json.dumps(row, sort_keys=True, default=repr).encode()).hexdigest()
        for row in table.select(cols).to_pylist()
    )


def test_both_engines_ran_the_same_batches(runs: dict[str, Any]) -> None:
    (duck_ws, duck), (spark_ws, spark) = runs["duckdb"], runs["spark"]
    assert duck_ws.engine.name == "duckdb" and spark_ws.engine.name == "spark"
    assert duck.stage("ingest").status == spark.stage("ingest").status == "succeeded"
    want = _batches(duck)
    assert _batches(spark) == want
    assert {b[0] for b in want} == set(SOURCES)
    assert all(b[2] == "loaded" for b in want), want
    # the malformed lines synth appends, the duplicate and the line that is not UTF-8
    # reached quarantine on both
    assert sum(b[5] for b in want) > 0
    quarantined = {(b[0], b[1]): b[5] for b in want}
    assert quarantined[("core_customers", "core_customers/2026-01-02.csv")] == 1


@pytest.mark.parametrize("zone", ["silver", "bronze", "restricted"])
def test_zone_rows_and_types_are_identical(runs: dict[str, Any], zone: str) -> None:
    duck = _tables(runs["duckdb"][0], zone)
    spark = _tables(runs["spark"][0], zone)
    assert sorted(spark) == sorted(duck)
    assert duck, f"no {zone} tables"
    for name, table in duck.items():
        other = spark[name]
        assert other.schema.equals(table.schema), (name, other.schema, table.schema)
        assert other.num_rows == table.num_rows > 0, name
        assert _row_hashes(other) == _row_hashes(table), name


def test_tokens_and_variants_came_out_of_both(runs: dict[str, Any]) -> None:
    """The HMAC tokens and SSN transposition variants (a list built in SQL) are compared
    above; this makes sure there were some to compare."""
    for engine in ("duckdb", "spark"):
        silver = runs[engine][0].lakehouse.read("silver", "core_customers")
        tokens = [t for t in silver.column("ssn_token").to_pylist() if t]
        variants = [v for v in silver.column("ssn_variants").to_pylist() if v]
        assert len(tokens) > 20 and len(variants) > 20, engine


def test_quarantine_counts_are_identical(runs: dict[str, Any]) -> None:
    duck = _tables(runs["duckdb"][0], "quarantine")
    spark = _tables(runs["spark"][0], "quarantine")
    assert duck and {n: t.num_rows for n, t in spark.items()} == {
        n: t.num_rows for n, t in duck.items()
    }
    for engine, tables in (("duckdb", duck), ("spark", spark)):
        cards = [str(r) for r in tables["card_transactions"].column("_reason").to_pylist()]
        assert sum("duplicate key within batch" in r for r in cards) == 1, (engine, cards)
        for source in ("card_transactions", "core_customers"):
            reasons = [str(r) for r in tables[source].column("_reason").to_pylist()]
            assert sum("invalid encoding" in r for r in reasons) == 1, (engine, reasons)
        # the non-ASCII records loaded, as written
        names = runs[engine][0].lakehouse.read("silver", "core_customers").column("name")
        assert "DOE, ZOË" in names.to_pylist(), engine
