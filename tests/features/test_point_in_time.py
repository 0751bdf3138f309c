"""Point-in-time correctness: a view that reads the future is caught by the bounded inputs."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest

from c360.features.materialize import compute, midnight, open_session, watermark
from c360.features.spec import FeatureView
from c360.features.training import build
from c360.workspace import Workspace

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow

# A feature built on purpose from future data: logins at or after as_of.
FUTURE = FeatureView.model_validate(
    {
        "name": "future_peek",
        "description": "leaks on purpose",
        "owner": "tests",
        "sql": 'SELECT golden_id, count(*) AS future_logins FROM logins WHERE "at" >= $as_of '
        "GROUP BY golden_id",
        "columns": {"future_logins": {"class": "behavioural", "type": "int"}},
    }
)


def _labels(ws: Workspace, days_back: int) -> pa.Table:
    with open_session(ws.lakehouse, ws.engine) as s:
        wm = watermark(ws.lakehouse, s)
        gids = s.table(
            "SELECT DISTINCT l.golden_id FROM silver__digital_logins g JOIN gold__identity_links l "
            "ON l.source = 'core_customers' AND l.source_key = g.customer_no AND l.is_current"
        )["golden_id"]
    t = midnight(wm - timedelta(days=days_back)) + timedelta(hours=13)
    return pa.table(
        {
            "golden_id": gids,
            "label_time": pa.array([t] * len(gids), pa.timestamp("us", tz="UTC")),
        }
    )


def test_future_data_is_invisible_to_a_training_set(world: Workspace) -> None:
    labels = _labels(world, 10)
    with open_session(world.lakehouse, world.engine) as s:
        bounded = build(s, labels, [FUTURE])
        unbounded = build(s, labels, [FUTURE], bounded=False)
    leaked = [v for v in unbounded["future_logins"].to_pylist() if v]
    # without the as_of bounds the view sees ten days of future logins for most customers …
    assert len(leaked) > labels.num_rows // 2
    # … with them it sees none
    assert not any(bounded["future_logins"].to_pylist())


def test_training_set_uses_the_snapshot_at_or_before_label_time(world: Workspace) -> None:
    """ASOF join over the stored daily history: never a snapshot after the label."""
    first = world.lakehouse.read("gold", "features_digital_activity", ["as_of"])["as_of"]
    nxt = (max(first.to_pylist()) + timedelta(days=1)).date()
    world.features.materialize(["digital_activity"], as_of=nxt, sync_online=False)
    stored = world.lakehouse.read("gold", "features_digital_activity", ["as_of"])
    days = sorted(set(stored["as_of"].to_pylist()))
    assert len(days) >= 2
    label_time = days[-2] + timedelta(hours=6)  # between the last two snapshots
    gids = world.lakehouse.read("gold", "features_digital_activity", ["golden_id"])["golden_id"]
    labels = pa.table(
        {
            "golden_id": pa.array(sorted(set(gids.to_pylist())), pa.string()),
            "label_time": pa.array(
                [label_time] * len(set(gids.to_pylist())), pa.timestamp("us", tz="UTC")
            ),
        }
    )
    got = world.features.training_set(labels, ["digital_activity"], source="materialized")
    recomputed = world.features.training_set(labels, ["digital_activity"])
    a = dict(zip(got["golden_id"].to_pylist(), got["logins_30d"].to_pylist(), strict=True))
    b = dict(
        zip(recomputed["golden_id"].to_pylist(), recomputed["logins_30d"].to_pylist(), strict=True)
    )
    assert a == b  # both equal the snapshot of day days[-2], not the later one
    later = world.features.latest(["digital_activity"])
    c = dict(zip(later["golden_id"].to_pylist(), later["logins_30d"].to_pylist(), strict=True))
    assert any(c[g] != a[g] for g in a)  # the later snapshot differs, so the join chose right


def test_training_set_rows_keep_the_labels_order_and_their_own_day(world: Workspace) -> None:
    """Views are joined one at a time: each row must still be its own label's, in order."""
    both = pa.concat_tables([_labels(world, 10), _labels(world, 3)])
    n = both.num_rows
    perm = [i // 2 if i % 2 == 0 else n // 2 + i // 2 for i in range(n)]  # interleave the days
    labels = both.take(pa.array(perm)).append_column("label", pa.array(range(n), pa.int64()))
    views = ["digital_activity", "tenure"]
    ts = world.features.training_set(labels, views)
    assert ts["label"].to_pylist() == list(range(n))
    assert ts["golden_id"].to_pylist() == labels["golden_id"].to_pylist()
    with open_session(world.lakehouse, world.engine) as s:
        expected = {}
        days = sorted({t.date() for t in labels["label_time"].to_pylist()})
        for day in days:
            for name in views:
                snap = compute(s, world.features.view(name), day)
                for row in snap.to_pylist():
                    expected[(day, row["golden_id"], name)] = row
    differ = 0
    for row in ts.to_pylist():
        day = row["label_time"].date()
        assert (
            row["logins_30d"] == expected[(day, row["golden_id"], "digital_activity")]["logins_30d"]
        )
        assert row["tenure_days"] == expected[(day, row["golden_id"], "tenure")]["tenure_days"]
        other = expected[(days[days[0] == day], row["golden_id"], "digital_activity")]
        differ += row["logins_30d"] != other["logins_30d"]
    assert differ  # the two days' values differ, so a row joined to the wrong label would show
