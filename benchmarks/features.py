"""Online feature reads: p50/p99 of one customer's record from the store and from Redis.

    .venv/bin/python benchmarks/features.py                      # 200k customers, 30 features
    .venv/bin/python benchmarks/features.py --customers 1000000  # the issue's size
    .venv/bin/python benchmarks/features.py --quick              # 20k

The online projection (one row per golden id, 30 feature values as JSON, view versions)
is written with the real sync (``c360.features.online.sync_features``) to the workspace's
SQLite store and to the Redis server at 127.0.0.1:6379 under a prefix of its own (deleted
afterwards). Then ``--reads`` random customers are read one at a time through
``ws.features.get`` (Redis) and ``ws.features.get_from_store`` (the store), as the
decision path reads them. The baseline is a bare primary-key lookup of the same rows on
the same store, in the same process. Target (issue 11): p99 <= 5 ms for both.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
from sqlalchemy import select

from c360.features import online
from c360.features.tables import online_features
from c360.workspace import Workspace

FEATURES = 30


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--reads", type=int, default=5_000)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--quick", action="store_true", help="20k customers, 2k reads")
    a = ap.parse_args()
    n, reads = (20_000, 2_000) if a.quick else (a.customers, a.reads)
    with tempfile.TemporaryDirectory(prefix="c360-bench-features-") as tmp:
        ws = Workspace.init(Path(tmp) / "ws")
        s = ws.features.settings
        s.redis_url, s.redis_prefix = a.redis, f"c360-bench-{uuid.uuid4().hex[:8]}"
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


if __name__ == "__main__":
    main()
