"""Materialisation on the real pipeline: `c360 run` writes gold.features_<view>, online rows."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

import pytest

from c360.workspace import Workspace

# a whole real-pipeline world: runs in `make test` (CI), not in `make test-fast`
pytestmark = pytest.mark.slow


def _days(ws: Workspace, table: str) -> list[date]:
    t = ws.lakehouse.read("gold", table, columns=["as_of"])
    return sorted({d.date() for d in t["as_of"].to_pylist()})


def test_run_materialises_every_view_for_every_customer(world: Workspace) -> None:
    golden = world.lakehouse.count("gold", "golden_customers")
    views = world.features.views()
    for v in views.values():
        assert world.lakehouse.exists("gold", v.table), v.name
        t = world.lakehouse.read("gold", v.table)
        assert set(t.column_names) == {"golden_id", "as_of", "view_version", *v.columns}
        assert t.num_rows % golden == 0 and t.num_rows >= golden
        assert set(t["view_version"].to_pylist()) == {v.version}


def test_features_carry_signal_from_the_sources(world: Workspace) -> None:
    wide = world.features.latest()
    d = wide.to_pydict()
    n = wide.num_rows
    assert sum(1 for x in d["logins_30d"] if x) > n * 0.1
    assert sum(1 for x in d["has_checking"] if x) > n * 0.2
    assert sum(1 for x in d["deposit_balance"] if x) > n * 0.2
    assert any(x and x > 0.3 for x in d["largest_dip_pct_30d"])
    assert sum(1 for x in d["calls_90d"] if x) > 0
    assert set(d["age_band"]) - {"unknown"}


def test_materialize_is_incremental_and_idempotent(world: Workspace) -> None:
    views = world.features.views()
    first = _days(world, "features_tenure")
    again = world.features.materialize(["tenure"], sync_online=False)
    assert again["views"][0]["status"] == "up_to_date"
    nxt = max(first) + timedelta(days=2)
    res = world.features.materialize(["tenure"], as_of=nxt, sync_online=False)
    assert res["views"][0]["days"] == [
        (max(first) + timedelta(days=1)).isoformat(),
        nxt.isoformat(),
    ]
    assert _days(world, "features_tenure") == [*first, max(first) + timedelta(days=1), nxt]
    assert views["tenure"].version == res["views"][0]["version"]


def test_online_record_matches_the_latest_offline_row(world: Workspace) -> None:
    world.features.materialize(sync_online=True)
    wide = world.features.latest().to_pylist()
    row = next(r for r in wide if r["logins_30d"])
    rec = world.features.get(row["golden_id"])
    assert rec.found
    for k in ("logins_30d", "has_checking", "product_mix", "age_band"):
        assert rec.features[k] == row[k]
    assert set(rec.versions) == set(world.features.views())


def _c360(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "c360", *args], capture_output=True, text=True)


def test_cli_list_show_get(world: Workspace) -> None:
    r = _c360("features", "list", "-w", str(world.root), "--json")
    assert r.returncode == 0, r.stderr
    assert {v["name"] for v in json.loads(r.stdout)} == set(world.features.views())
    r = _c360("features", "show", "tenure", "-w", str(world.root), "--json")
    assert json.loads(r.stdout)["columns"]["tenure_days"]["class"] == "behavioural"
    gid = world.features.latest()["golden_id"][0].as_py()
    r = _c360("features", "get", gid, "-w", str(world.root), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["golden_id"] == gid
    r = _c360("features", "get", "G-NOPE", "-w", str(world.root))
    assert r.returncode == 1 and "features.not_found" in r.stderr


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday"])
def test_bad_as_of_is_a_clear_error(world: Workspace, bad: str) -> None:
    p = _c360("features", "materialize", "--as-of", bad, "-w", str(world.root))
    assert p.returncode == 1
    assert "features.bad_date" in p.stderr and len(p.stderr.strip().splitlines()) == 1
