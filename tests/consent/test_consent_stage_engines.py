"""The consent stage on DuckDB and on local Spark: the same facts, golden consent and audience.

One tiny synthetic world is ingested and resolved on DuckDB (identity is not on Spark), then
copied twice. On the DuckDB copy the consent stage of ``c360 run`` runs as it is
(``c360.consent.stage.run``). On the Spark copy the workspace computes on Spark
(``ws.use_engine("spark")``, as ``c360 run --engine spark`` does) and runs the stage's
steps one by one, at the same instant:

1. capture from silver (the SQL with ``epoch_us``, on Spark) into the store;
2. the subject-index refresh (in process on any engine; compared to be sure both sides
   ask the gate about the same subjects);
3. ``gold.golden_consent``'s rows (the set form per purpose × channel, then one ordered
   aggregate), for two questions of the policy's grid: the whole grid is 49 set-form
   questions, each a few Spark jobs (minutes on a laptop), all the same SQL as these two;
4. the stage's audience (every golden record, marketing by email) through the set form.

Compared exactly: the captured ledger events and suppression entries (every column but
the row id and the recording time), the subject index, the golden-consent rows for the
two questions (allowed, headline reason, suppression flags, policy version, as-of time,
types) and every audience row on its side with its reasons in order.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select

from c360.consent import stage
from c360.consent.tables import consent_events, consent_subject_index, suppressions
from c360.synth import SynthOptions, generate_world
from c360.workspace import Workspace
from tests.conftest import world_env
from tests.engines import SPARK

pytestmark = [*SPARK, pytest.mark.slow]

# the golden-consent questions asked on both (the audience below asks marketing by email)
PURPOSES = ["marketing"]
CHANNELS = ["sms", "phone"]
AUDIENCE = "SELECT golden_id FROM gold__golden_customers"
PER_ROW = {"event_id", "entry_id", "recorded_at_us"}


def _rows(ws: Workspace, table: Any) -> list[tuple[Any, ...]]:
    cols = [c for c in table.c if c.name not in PER_ROW]
    with ws.store.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(*cols)))


def _audience(ws: Workspace, at: datetime) -> list[tuple[str, tuple[str, ...]]]:
    res = ws.consent.audience(AUDIENCE, *stage.AUDIENCE, at, record=False)
    allowed = [(g, ()) for g in res.allowed.column("golden_id").to_pylist()]
    excluded = zip(
        res.excluded.column("golden_id").to_pylist(),
        (tuple(r) for r in res.excluded.column("reasons").to_pylist()),
        strict=True,
    )
    return sorted([*allowed, *excluded])


def _grid(golden: pa.Table) -> pa.Table:
    """``golden`` with each record's consent list cut to the compared questions."""
    keep = [
        [c for c in row if c["purpose"] in PURPOSES and c["channel"] in CHANNELS]
        for row in golden.column("consent").to_pylist()
    ]
    i = golden.column_names.index("consent")
    return golden.set_column(i, "consent", pa.array(keep, golden.schema.field("consent").type))


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    mp = world_env("f" * 40)
    base = tmp_path_factory.mktemp("consent-engines")
    ws = Workspace.init(base / "resolved", template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=60, seed=3, days=1))
    report = ws.run(stages=["ingest", "identity"])
    assert report.stage("identity").status == "succeeded", report.to_dict()
    ws.close()
    at = datetime.now(UTC).replace(microsecond=0)
    out: dict[str, Any] = {"at": at}

    duck = _copy(base, "duckdb")
    summary = stage.run(duck, "parity", at=at)
    out["duckdb"] = {
        "ws": duck,
        "summary": summary,
        "golden": _grid(duck.lakehouse.read("gold", "golden_consent")),
        "audience": _audience(duck, at),
    }

    spark = _copy(base, "spark")
    spark.use_engine("spark")
    captured = [r.to_dict() for r in spark.consent.capture_from_sources()]
    spark.consent.refresh_identity_index()
    # golden consent in several passes over ranges of golden ids (bound as parameters)
    mp.setattr("c360.consent.report.ROWS_PER_PASS", 40)
    out["spark"] = {
        "ws": spark,
        "captured": captured,
        "golden": spark.consent.golden_attributes(at, purposes=PURPOSES, channels=CHANNELS),
        "audience": _audience(spark, at),
    }
    yield out
    duck.close()
    spark.close()
    mp.undo()


def _copy(base: Path, name: str) -> Workspace:
    shutil.copytree(base / "resolved", base / name)
    return Workspace.open(base / name)


def test_capture_appends_the_same_facts(sides: dict[str, Any]) -> None:
    duck, spark = sides["duckdb"], sides["spark"]
    assert duck["ws"].engine.name == "duckdb" and spark["ws"].engine.name == "spark"
    assert spark["captured"] == duck["summary"]["capture"]
    assert all(c["status"] == "captured" for c in spark["captured"]), spark["captured"]
    for table in (consent_events, suppressions):
        want = _rows(duck["ws"], table)
        assert want, table.name  # every capture mapping found rows in this world
        assert _rows(spark["ws"], table) == want, table.name


def test_subject_index_is_the_same(sides: dict[str, Any]) -> None:
    want = _rows(sides["duckdb"]["ws"], consent_subject_index)
    assert len(want) > 100
    assert _rows(sides["spark"]["ws"], consent_subject_index) == want


def test_golden_consent_is_identical(sides: dict[str, Any]) -> None:
    duck, spark = sides["duckdb"]["golden"], sides["spark"]["golden"]
    assert spark.schema.equals(duck.schema), (spark.schema, duck.schema)
    assert spark.to_pylist() == duck.to_pylist()
    answers = [c for row in duck.column("consent").to_pylist() for c in row]
    assert len(answers) == duck.num_rows * len(PURPOSES) * len(CHANNELS)
    # the comparison means something: both sides of the gate and several reasons
    assert {c["allowed"] for c in answers} == {True, False}
    assert len({c["reason"] for c in answers}) >= 3, {c["reason"] for c in answers}
    assert any(duck.column("suppression_flags").to_pylist())


def test_stage_audience_is_identical(sides: dict[str, Any]) -> None:
    want = sides["duckdb"]["audience"]
    assert sides["spark"]["audience"] == want
    summary = sides["duckdb"]["summary"]["audience"]
    assert summary["before"] == len(want) > 50
    assert summary["after"] == sum(1 for _, reasons in want if not reasons) > 0
    assert len(summary["excluded"]) >= 2, summary
