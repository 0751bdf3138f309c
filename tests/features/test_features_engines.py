"""Feature views on DuckDB and on local Spark: the same values within float tolerance.

A generated world (the project's generator) runs ingest, identity and consent on DuckDB
and is copied twice; each copy runs the features stage as ``c360 run --stage features``
does, one with ``engine: spark`` (``ws.use_engine("spark")``, as ``--engine spark``).
Every ``gold.features_*`` table must have the same schema, the same rows (golden id,
day, version) and the same values: floats within 1e-9 relative, everything else equal.
The view SQL is authored once in DuckDB's dialect; what differs between the engines is
rendered at the seam (``date_diff`` counts part boundaries in DuckDB, whole parts in
Spark; Spark divides by a decimal literal in DECIMAL), and the parity test is what
catches a form that renders but means something else.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from c360.synth import SynthOptions, generate_world
from c360.workspace import Workspace
from tests.conftest import world_env

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None, reason="pip install 'c360[spark]'"
    ),
]


def _features(ws: Workspace) -> dict[str, pa.Table]:
    return {
        i.name: ws.lakehouse.read("gold", i.name)
        for i in ws.lakehouse.tables(count_rows=False)
        if i.zone == "gold" and i.name.startswith("features_")
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    mp = world_env("e" * 40)
    base = tmp_path_factory.mktemp("features-engines")
    ws = Workspace.init(base / "world", template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=300, seed=4, days=2))
    report = ws.run(stages=["ingest", "identity", "consent"])
    assert report.stage("consent").status == "succeeded", report.to_dict()
    ws.close()
    out: dict[str, Any] = {}
    for engine in ("duckdb", "spark"):
        shutil.copytree(base / "world", base / engine)
        side = Workspace.open(base / engine)
        side.use_engine(engine)
        run = side.run(stages=["features"])
        assert run.stage("features").status == "succeeded", run.to_dict()
        out[engine] = {"summary": run.stage("features").summary, "tables": _features(side)}
        side.close()
    yield out
    mp.undo()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def test_every_view_materialised_on_both_engines(runs: dict[str, Any]) -> None:
    duck, spark = runs["duckdb"]["tables"], runs["spark"]["tables"]
    assert len(duck) == 8 and sorted(spark) == sorted(duck)
    for name, table in duck.items():
        assert table.num_rows > 0, name


def test_same_feature_values(runs: dict[str, Any]) -> None:
    duck, spark = runs["duckdb"]["tables"], runs["spark"]["tables"]
    compared = 0
    for name, want in sorted(duck.items()):
        got = spark[name]
        assert got.schema == want.schema, name
        key = ["golden_id", "as_of", "view_version"]
        w = {tuple(r[k] for k in key): r for r in want.to_pylist()}
        g = {tuple(r[k] for k in key): r for r in got.to_pylist()}
        assert g.keys() == w.keys(), name
        diffs = [
            (name, k, c, w[k][c], g[k][c])
            for k in w
            for c in want.column_names
            if not _same(w[k][c], g[k][c])
        ]
        assert not diffs, diffs[:5]
        compared += sum(v is not None for r in w.values() for v in r.values())
    # compared on something: most cells of a few hundred customers' eight views
    assert compared > 10_000
