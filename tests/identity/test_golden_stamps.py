"""A golden record's ``run_id`` is the run that last changed it, on a full run as well.

The real-path check is in ``test_synthetic_stability`` (a ``--full`` rebuild that changes
nothing stamps nothing and the projection rewrites nothing); these pin the comparison
itself: which records keep their stamp, and what happens when the stored table's
columns are not the rebuilt ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from c360.engine import Engine, EngineSettings, create_engine
from c360.identity.incremental import kept_run_ids
from c360.identity.schema import GOLDEN_CUSTOMERS
from tests.engines import ENGINES


@pytest.fixture(scope="module", params=ENGINES)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    eng = create_engine(
        EngineSettings(
            name=request.param, memory_limit="1GB", temp_directory=tmp_path_factory.mktemp("spill")
        )
    )
    yield eng
    eng.close()


def _golden(rows: list[dict[str, object]]) -> pa.Table:
    full = [{f.name: r.get(f.name) for f in GOLDEN_CUSTOMERS} for r in rows]
    return pa.Table.from_pylist(full, schema=GOLDEN_CUSTOMERS)


def test_unchanged_records_keep_the_run_that_last_changed_them(engine: Engine) -> None:
    stored = _golden(
        [
            {"golden_id": "g1", "first_name": "ANA", "emails": ["a@x.org"], "run_id": "r1"},
            {"golden_id": "g2", "first_name": "BO", "emails": ["b@x.org"], "run_id": "r1"},
            {"golden_id": "g3", "first_name": "CY", "run_id": "r1"},  # vanished
        ]
    )
    rebuilt = _golden(
        [
            {"golden_id": "g1", "first_name": "ANA", "emails": ["a@x.org"], "run_id": "r2"},
            {"golden_id": "g2", "first_name": "BO", "emails": ["b2@x.org"], "run_id": "r2"},
            {"golden_id": "g4", "first_name": "DI", "run_id": "r2"},  # new
        ]
    )
    out = kept_run_ids(engine, rebuilt, stored)
    assert out.schema == rebuilt.schema
    assert dict(zip(out["golden_id"].to_pylist(), out["run_id"].to_pylist(), strict=True)) == {
        "g1": "r1",  # same values: keeps its stamp
        "g2": "r2",  # an e-mail changed
        "g4": "r2",  # new
    }
    # nothing but run_id is taken from the stored table
    assert out.drop_columns(["run_id"]) == rebuilt.drop_columns(["run_id"])


def test_a_stored_table_with_other_columns_is_not_compared(engine: Engine) -> None:
    rebuilt = _golden([{"golden_id": "g1", "first_name": "ANA", "run_id": "r2"}])
    stored = _golden([{"golden_id": "g1", "first_name": "ANA", "run_id": "r1"}]).drop_columns(
        ["sources"]
    )
    out = kept_run_ids(engine, rebuilt, stored)
    assert out["run_id"].to_pylist() == ["r2"]
