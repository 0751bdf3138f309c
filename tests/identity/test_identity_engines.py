"""Identity on DuckDB and on local Spark: the same golden records and crosswalk.

One small synthetic world (the project's generator, so the truth is known) is ingested up
to day one and copied twice:

- the DuckDB copy resolves it (training the model), then ingests the later days' drop and
  resolves again (an incremental run);
- the Spark copy gets the model the DuckDB run trained (so both score with the same
  parameters; training itself samples pairs at random and is not compared) and runs the
  same two steps with ``engine: spark`` (``ws.use_engine("spark")``, as ``c360 run
  --engine spark`` does): standardisation, rules, Splink's ``SparkAPI``, clustering,
  survivorship and the crosswalk all compute on the Spark session. The drop is ingested
  on DuckDB there too, so both identity runs start from the same silver rows.

After each run every identity table is compared: party records (all but ``row_hash``,
a digest of engine-specific text forms, only ever compared within one engine), scored
and deterministic pairs (weights and probabilities to 1e-9), components, generic values,
golden customers, the crosswalk and the identity events (all but run ids and times).
The world is big enough (300 people, a week of drops) for every deterministic rule and
Splink to contribute pairs (asserted), so a function that differs between engines shows up
here — Splink's Spark ``jaro_winkler`` did, until the Spark session got DuckDB's.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from c360.identity import model
from c360.synth import SynthOptions, generate_world
from c360.workspace import Workspace
from tests.conftest import world_env
from tests.engines import SPARK

pytestmark = [*SPARK, pytest.mark.slow]

TABLES = [
    ("silver", "party_records"),
    ("silver", "identity_pairs"),
    ("silver", "identity_components"),
    ("silver", "identity_generic"),
    ("gold", "golden_customers"),
    ("gold", "identity_links"),
    ("gold", "identity_events"),
]
# per run, not per record: when the run happened and what it was called (an event's id
# is derived from its run's id)
RUN_COLUMNS = {"run_id", "valid_from", "valid_to", "at", "event_id"}
ENGINE_COLUMNS = {"row_hash"}


def _hold_later_days(ws: Workspace, hold: Path) -> None:
    for f in sorted(p for p in ws.landing_dir.rglob("*") if p.is_file()):
        if f.name[:10] > "2026-01-01":
            dst = hold / f.relative_to(ws.landing_dir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(f, dst)


def _deliver(hold: Path, ws: Workspace) -> None:
    for f in sorted(p for p in hold.rglob("*") if p.is_file()):
        dst = ws.landing_dir / f.relative_to(hold)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dst)


def _snapshot(ws: Workspace) -> dict[str, pa.Table]:
    return {f"{zone}.{name}": ws.lakehouse.read(zone, name) for zone, name in TABLES}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    mp = world_env("f" * 40)
    # a world this small has no name held by 50 records: a low bound makes common blocking
    # keys (ADR 0077) part of what both engines must agree on
    mp.setenv("C360_IDENTITY__COMMON_BLOCK_RECORDS", "3")
    base = tmp_path_factory.mktemp("identity-engines")
    ws = Workspace.init(base / "day1", template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=300, seed=3, days=8))
    _hold_later_days(ws, base / "held")
    assert any((base / "held").rglob("*.*")), "the world has later days to deliver"
    assert ws.ingest().ok
    ws.close()

    out: dict[str, Any] = {}
    for engine in ("duckdb", "spark"):
        shutil.copytree(base / "day1", base / engine)
        side = Workspace.open(base / engine)
        if engine == "spark":
            shutil.copytree(base / "duckdb" / "models", base / engine / "models")
            side.use_engine("spark")
        full = side.run(stages=["identity"])
        assert full.stage("identity").status == "succeeded", full.to_dict()
        first = _snapshot(side)
        # the drop is ingested on DuckDB on both sides, so identity starts from the same
        # silver rows (ingest's own parity is tests/ingest/test_ingest_engines.py)
        _deliver(base / "held", side)
        side.use_engine("duckdb")
        assert side.ingest().ok
        side.use_engine(engine)
        later = side.run(stages=["identity"])
        assert later.stage("identity").status == "succeeded", later.to_dict()
        out[engine] = {
            "ws": side,
            "full": full.stage("identity").summary,
            "incremental": later.stage("identity").summary,
            "tables": {"full": first, "incremental": _snapshot(side)},
        }
    yield out
    for engine in ("duckdb", "spark"):
        out[engine]["ws"].close()
    mp.undo()


def _rows(t: pa.Table) -> list[tuple[Any, ...]]:
    cols = [c for c in t.column_names if c not in RUN_COLUMNS | ENGINE_COLUMNS]
    return sorted((tuple(_plain(r[c]) for c in cols) for r in t.select(cols).to_pylist()), key=repr)


def _plain(v: Any) -> Any:
    """Floats to 9 decimals (the same arithmetic in another order differs in the last
    bits); nested values as their repr."""
    if isinstance(v, float):
        return round(v, 9) if math.isfinite(v) else v
    if isinstance(v, list | dict):
        return repr(v)
    return v


def test_both_engines_ran_identity_with_one_model(runs: dict[str, Any]) -> None:
    duck, spark = runs["duckdb"], runs["spark"]
    assert duck["ws"].engine.name == "duckdb" and spark["ws"].engine.name == "spark"
    assert duck["full"]["model_trained"] is True
    assert spark["full"]["model_trained"] is False  # the DuckDB run's model, reused
    assert spark["full"]["model_version"] == duck["full"]["model_version"]
    assert duck["incremental"]["full"] is False and spark["incremental"]["full"] is False
    # the drop brought new records and the incremental run resolved them
    assert duck["incremental"]["new_or_changed"] > 0
    assert duck["incremental"]["records"] > duck["full"]["records"]


@pytest.mark.parametrize("run", ["full", "incremental"])
@pytest.mark.parametrize("table", [f"{z}.{n}" for z, n in TABLES])
def test_same_identity_tables(runs: dict[str, Any], run: str, table: str) -> None:
    want = runs["duckdb"]["tables"][run][table]
    got = runs["spark"]["tables"][run][table]
    assert got.schema == want.schema
    assert got.num_rows == want.num_rows
    if table != "gold.identity_events" or run == "incremental":
        assert want.num_rows > 0, table  # compared on something
    assert _rows(got) == _rows(want)


def test_common_blocking_keys_took_part(runs: dict[str, Any]) -> None:
    ws = runs["spark"]["ws"]
    version = runs["spark"]["full"]["model_version"]
    common = model.load_common_keys(ws.root / "models" / "identity", version)
    assert set(common["kind"].to_pylist()) == {"name", "zip_first"}, common


def test_every_rule_was_exercised(runs: dict[str, Any]) -> None:
    pairs = runs["duckdb"]["tables"]["full"]["silver.identity_pairs"]
    rules = set(pairs["rule"].to_pylist())
    assert rules >= {"reference", "ssn", "email", "phone", "rare_id", "email_typo", "splink"}


def test_same_summary_counts(runs: dict[str, Any]) -> None:
    for run in ("full", "incremental"):
        duck, spark = runs["duckdb"][run], runs["spark"][run]
        for key in (
            "records",
            "golden_ids",
            "pairs_scored",
            "pairs_total",
            "merges",
            "merges_refused",
            "review_tasks_created",
        ):
            assert spark[key] == duck[key], (run, key)
