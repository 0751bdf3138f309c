"""The lakehouse catalogue: versions read from the log's names equal what delta-rs reads,
through appends, merges, deletes and a history purge (which drops the older commits)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from c360.lakehouse.declarations import Declaration, Declarations, declare
from c360.lakehouse.delta import Lakehouse

_OWN = [
    declare(name, owner="tests", columns={"k": "none", "v": "none"}, key=["k"], register=False)
    for name in ("gold.other", "silver.things")
]


class _Own(Declarations):
    """This test's own two tables, kept out of the process-wide registry."""

    def all(self) -> list[Declaration]:
        return _OWN


def _versions(lh: Lakehouse, *, count_rows: bool) -> dict[str, int]:
    return {i.qualified: i.version for i in lh.tables(count_rows=count_rows)}


def test_catalogue_versions_match_delta_rs(tmp_path: Path) -> None:
    lh = Lakehouse(tmp_path / "lake", _Own())
    t = pa.table({"k": [1, 2, 3], "v": ["a", "b", "c"]})
    lh.append("silver", "things", t)
    lh.append("gold", "other", t)
    lh.append("silver", "things", t)
    lh.merge("silver", "things", pa.table({"k": [2, 9], "v": ["B", "z"]}), keys=["k"])
    lh.delete("silver", "things", "k = 1")
    seen = [_versions(lh, count_rows=False)]
    assert seen[0] == _versions(lh, count_rows=True)
    assert seen[0]["silver.things"] >= 3 and seen[0]["gold.other"] == 0
    lh.purge_history("silver", "things")  # older commits gone, a checkpoint beside the newest
    log = sorted(p.name for p in (lh.path("silver", "things") / "_delta_log").iterdir())
    assert not any(n.startswith("00000000000000000000.") for n in log), log
    purged = _versions(lh, count_rows=False)
    assert purged == _versions(lh, count_rows=True)
    assert purged["silver.things"] > seen[0]["silver.things"]  # the vacuum commits
    lh.append("silver", "things", t)
    assert _versions(lh, count_rows=False)["silver.things"] == purged["silver.things"] + 1


def test_a_daily_table_is_checkpointed_every_ten_commits(tmp_path: Path) -> None:
    """A table appended to every day is opened from a checkpoint and at most nine commits
    (ADR 0082), with every commit still in its history; a purge leaves one checkpoint."""
    import json

    from deltalake import DeltaTable

    lh = Lakehouse(tmp_path / "lake", _Own())
    for day in range(25):
        lh.append("silver", "things", pa.table({"k": [day], "v": [f"d{day}"]}), batch_id=f"b{day}")
    log = lh.path("silver", "things") / "_delta_log"
    checkpoints = sorted(p.name for p in log.iterdir() if ".checkpoint." in p.name)
    assert checkpoints == [f"{v:020d}.checkpoint.parquet" for v in (9, 19)]
    assert json.loads((log / "_last_checkpoint").read_text())["version"] == 19
    assert lh.read("silver", "things").num_rows == 25
    assert lh.committed_batches("silver", "things") == {f"b{d}" for d in range(25)}
    assert DeltaTable(str(lh.path("silver", "things"))).metadata().configuration == {
        "delta.checkpointInterval": "10"
    }
    lh.delete("silver", "things", "k < 5")
    lh.purge_history("silver", "things")
    left = sorted(p.name for p in log.iterdir() if ".checkpoint." in p.name)
    assert len(left) == 1 and lh.read("silver", "things").num_rows == 20
