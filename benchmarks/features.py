"""Feature benchmarks: offline materialisation and training sets at scale, online reads.

    .venv/bin/python benchmarks/features.py                      # 200k customers (and 20k)
    .venv/bin/python benchmarks/features.py --customers 1000000  # the issue's size (and 100k)
    .venv/bin/python benchmarks/features.py --quick              # 20k (and 2k)

**Offline** (issue 11: materialise 30+ features for 1M customers in <= 2 min with peak
RSS <= 6 GB; build a point-in-time training set for 1M labels). A world of ``--base``
customers is generated and run through the real pipeline (``c360 run``), then its
feature inputs are replicated under new ids up to ``--customers`` (and to a tenth of it,
``--small``, so the scaling is visible): see ``benchmarks/_world.py`` for the method.
In a fresh child process per stage (so its peak RSS is that stage's alone) the shipped
feature views are materialised by ``ws.features.materialize`` — the code path of the
``features`` stage of ``c360 run`` and of ``c360 features materialize``, without the
online sync measured below — and a training set is built by
``ws.features.training_set`` (the path ``c360 models train`` uses) for one label per
customer, spread over the four weekly label times models use.

**Online**: the online projection (one row per golden id, 30 feature values as JSON,
view versions) is written with the real sync (``c360.features.online.sync_features``)
to the workspace's SQLite store and to the Redis server at 127.0.0.1:6379 under a
prefix of its own (deleted afterwards). Then ``--reads`` random customers are read one
at a time through ``ws.features.get`` (Redis) and ``ws.features.get_from_store`` (the
store), as the decision path reads them. The baseline is a bare primary-key lookup of
the same rows on the same store, in the same process. Target (issue 11): p99 <= 5 ms.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
from _util import CHILD_RSS, run_child
from _world import generate, replicate
from sqlalchemy import select

from c360.features import online
from c360.features.tables import online_features
from c360.workspace import Workspace

FEATURES = 30

MATERIALIZE = (
    CHILD_RSS
    + """
from c360.workspace import Workspace
ws = Workspace.open(sys.argv[1])
t0, c0 = time.perf_counter(), cpu_s()
out = ws.features.materialize(sync_online=False)
wall, cpu = time.perf_counter() - t0, cpu_s() - c0
views = ws.features.views()
ok = [r for r in out["views"] if r["status"] == "materialized"]
report(stage_s=wall, cpu_s=cpu, views=len(ok), of=len(views), rows=out["rows"],
       customers=ok[0]["rows"] if ok else 0, as_of=out["as_of"],
       features=sum(len(views[r["view"]].columns) for r in ok))
"""
)

TRAINING_SET = (
    CHILD_RSS
    + """
from datetime import timedelta
import pyarrow as pa, pyarrow.compute as pc
from c360.features.materialize import midnight, watermark
from c360.workspace import Workspace
ws = Workspace.open(sys.argv[1])
with ws.features.session() as s:
    wm = watermark(ws.lakehouse, s)
ids = ws.lakehouse.read("gold", "golden_customers", ["golden_id"])["golden_id"]
times = pa.array([midnight(wm - timedelta(days=7 * k)) for k in (4, 3, 2, 1)],
                 pa.timestamp("us", tz="UTC"))
pick = pc.cast(pc.bit_wise_and(pa.array(range(len(ids)), pa.int64()), 3), pa.int32())
labels = pa.table({"golden_id": ids, "label_time": pc.take(times, pick)})
t0, c0 = time.perf_counter(), cpu_s()
out = ws.features.training_set(labels)
wall, cpu = time.perf_counter() - t0, cpu_s() - c0
report(stage_s=wall, cpu_s=cpu, labels=labels.num_rows, rows=out.num_rows, columns=out.num_columns - 2,
       label_days=len(times))
"""
)


def wide_table(n: int) -> pa.Table:
    rng = np.random.default_rng(7)
    cols: dict[str, pa.Array] = {
        "golden_id": pa.array([f"G{i:015X}" for i in range(n)]),
        "as_of": pa.array([datetime(2026, 1, 8, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")),
    }
    for f in range(FEATURES):
        if f % 3 == 0:
            cols[f"count_{f}"] = pa.array(rng.poisson(3, n))
        elif f % 3 == 1:
            cols[f"ratio_{f}"] = pa.array(rng.random(n))
        else:
            cols[f"segment_{f}"] = pa.array(rng.choice(["a", "b", "c", "d"], n))
    return pa.table(cols)


def percentiles(samples: list[float]) -> tuple[float, float]:
    a = np.array(samples) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def timed(fn, ids: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for gid in ids:
        t0 = time.perf_counter()
        rec = fn(gid)
        out.append(time.perf_counter() - t0)
        assert rec is not None
    return out


def offline(customers: int, small: int, base: int, tmp: Path) -> None:
    """Materialisation and a training set at ``small`` and ``customers`` customers."""
    load0 = os.getloadavg()[0]
    world, t_world = generate(tmp / "base", base)
    golden = world.lakehouse.count("gold", "golden_customers")
    print(f"offline features: base world {base:,} generated customers -> {golden:,} golden ids")
    print(f"  synth + c360 run (ingest, identity, features): {t_world:6.1f} s")
    rows = []
    for target in (small, customers):
        copies = max(1, math.ceil(target / golden))
        ws, t_copy = replicate(world, tmp / f"x{copies}", copies)
        ws.close()
        m = run_child(MATERIALIZE, str(ws.root))
        t = run_child(TRAINING_SET, str(ws.root))
        rows.append((copies, t_copy, m, t))
    world.close()
    print(
        f"  {'golden ids':>10s} {'copies':>6s} {'replicate':>9s} | {'materialise':>11s}"
        f" {'CPU':>7s} {'peak RSS':>8s} | {'training set':>12s} {'CPU':>7s} {'peak RSS':>8s}"
    )
    for copies, t_copy, m, t in rows:
        print(
            f"  {m['customers']:>10,} {copies:>6d} {t_copy:>8.1f}s | {m['stage_s']:>10.1f}s"
            f" {m['cpu_s']:>6.1f}s {m['peak_rss_mb'] / 1024:>6.2f}GB | {t['stage_s']:>11.1f}s"
            f" {t['cpu_s']:>6.1f}s {t['peak_rss_mb'] / 1024:>6.2f}GB"
        )
    (_, _, m0, t0), (_, _, m1, t1) = rows
    scale = m1["customers"] / max(m0["customers"], 1)
    print(
        f"  {scale:.1f}x the customers: materialise {m1['stage_s'] / m0['stage_s']:.1f}x the time"
        f" ({m1['cpu_s'] / m0['cpu_s']:.1f}x the CPU), training set"
        f" {t1['stage_s'] / t0['stage_s']:.1f}x ({t1['cpu_s'] / t0['cpu_s']:.1f}x)"
    )
    print(
        f"  {m1['views']}/{m1['of']} views, {m1['features']} features, as_of {m1['as_of']};"
        f" training set: {t1['labels']:,} labels over {t1['label_days']} label days,"
        f" {t1['columns']} feature columns"
    )
    print(
        "  targets at 1M: materialise <= 120 s, peak RSS <= 6 GB;"
        f" load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
        f" ({os.cpu_count()} cores)"
    )


def online_reads(n: int, reads: int, redis_url: str, tmp: Path) -> None:
    ws = Workspace.init(tmp / "online")
    s = ws.features.settings
    s.redis_url, s.redis_prefix = redis_url, f"c360-bench-{uuid.uuid4().hex[:8]}"
    redis = ws.features.redis
    assert redis is not None
    try:
        wide = wide_table(n)
        t0 = time.perf_counter()
        online.sync_features(ws.store, wide, {"bench": "v1"}, None)
        t_store = time.perf_counter() - t0
        t0 = time.perf_counter()
        redis.write_features(online._records(wide, {"bench": "v1"}))
        t_redis = time.perf_counter() - t0
        ids = random.Random(3).sample(wide["golden_id"].to_pylist(), reads)

        def bare(gid: str) -> object:
            with ws.store.engine.connect() as conn:
                return conn.execute(
                    select(online_features.c.features).where(online_features.c.golden_id == gid)
                ).first()

        results = {
            "bare primary-key lookup (store)": timed(bare, ids),
            "ws.features.get_from_store": timed(ws.features.get_from_store, ids),
            "ws.features.get (Redis)": timed(ws.features.get, ids),
        }
    finally:
        keys = list(redis.client.scan_iter(match=f"{redis.prefix}:*", count=5000))
        for i in range(0, len(keys), 10_000):
            redis.client.delete(*keys[i : i + 10_000])
        ws.close()
    print(f"online features: {n:,} customers x {FEATURES} features, {reads:,} single reads")
    print(f"  sync to the store (SQLite): {t_store:6.1f} s   to Redis: {t_redis:6.1f} s")
    base_p99 = percentiles(results["bare primary-key lookup (store)"])[1]
    for name, samples in results.items():
        p50, p99 = percentiles(samples)
        print(f"  {name:34s} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  ({p99 / base_p99:4.1f}x bare)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--small", type=int, help="the small offline size (default: a tenth)")
    ap.add_argument("--base", type=int, default=20_000, help="customers of the generated world")
    ap.add_argument("--reads", type=int, default=5_000)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--quick", action="store_true", help="20k customers (2k small), 2k reads")
    ap.add_argument("--only", choices=["offline", "online"], help="run one half")
    a = ap.parse_args()
    n, reads, base = (20_000, 2_000, 2_000) if a.quick else (a.customers, a.reads, a.base)
    small = a.small or max(n // 10, 1)
    with tempfile.TemporaryDirectory(prefix="c360-bench-features-") as tmp:
        if a.only != "online":
            offline(n, small, min(base, small), Path(tmp))
        if a.only != "offline":
            online_reads(n, reads, a.redis, Path(tmp))


if __name__ == "__main__":
    main()
