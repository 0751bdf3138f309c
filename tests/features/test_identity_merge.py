"""Training sets follow identity: a merge unions two histories, a split separates them again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from c360.features.materialize import midnight, open_session, watermark
from c360.workspace import Workspace
from tests.features.conftest import build_world

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = build_world(Path(tmp_path_factory.mktemp("merge")) / "ws", 400, seed=11)
    yield ws
    ws.close()


def _logins(ws: Workspace, gids: list[str]) -> dict[str, int]:
    with open_session(ws.lakehouse, ws.engine) as s:
        t = midnight(watermark(ws.lakehouse, s)) + timedelta(hours=1)
    labels = pa.table(
        {
            "golden_id": pa.array(gids, pa.string()),
            "label_time": pa.array([t] * len(gids), pa.timestamp("us", tz="UTC")),
        }
    )
    ts = ws.features.training_set(labels, ["digital_activity"])
    return dict(zip(ts["golden_id"].to_pylist(), ts["logins_90d"].to_pylist(), strict=True))


def _golden(ws: Workspace, key: str) -> str:
    gid = ws.identity.golden_id(key)
    assert gid is not None
    return gid


def test_merge_unions_histories_and_split_separates_them(small: Workspace) -> None:
    with open_session(small.lakehouse, small.engine) as s:
        rows = s.rows(
            "SELECT l.source_key, l.golden_id, count(*) AS n FROM silver__digital_logins g "
            "JOIN gold__identity_links l ON l.is_current AND l.source = 'core_customers' "
            "AND l.source_key = g.customer_no GROUP BY 1, 2 ORDER BY n DESC LIMIT 2"
        )
    (k1, g1, _), (k2, g2, _) = rows
    assert g1 != g2
    before = _logins(small, [g1, g2])
    assert before[g1] > 0 and before[g2] > 0

    small.identity.must_link(
        f"core_customers:{k1}", f"core_customers:{k2}", actor="steward", reason="same person"
    )
    small.identity.run()
    merged = _golden(small, f"core_customers:{k1}")
    assert merged == _golden(small, f"core_customers:{k2}")
    assert _logins(small, [merged])[merged] == before[g1] + before[g2]

    small.identity.cannot_link(
        f"core_customers:{k1}", f"core_customers:{k2}", actor="steward", reason="twins after all"
    )
    small.identity.run(full=True)
    a, b = _golden(small, f"core_customers:{k1}"), _golden(small, f"core_customers:{k2}")
    assert a != b
    after = _logins(small, [a, b])
    assert sorted([after[a], after[b]]) == sorted([before[g1], before[g2]])
