"""Lakehouse benchmark: what opening a Delta table costs as daily commits pile up.

Every read and every write of a table opens it, and opening replays the JSON commits
written since the table's last checkpoint. A source delivered daily adds a commit a day
to each of its tables. This appends ``--commits`` small batches to two tables, one with
delta-rs's default checkpoint interval (100) and one with the interval ``Lakehouse``
creates tables with (ADR 0082), timing the open every ``--every`` commits (the median of
``--opens`` opens) and the appends, in one process.

    python benchmarks/table_open.py [--commits 200] [--every 7] [--opens 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake


def _open_ms(path: str, opens: int) -> float:
    times = []
    for _ in range(opens):
        t = time.perf_counter()
        DeltaTable(path)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--commits", type=int, default=200, help="daily appends per table")
    ap.add_argument("--every", type=int, default=7, help="time the open every N commits")
    ap.add_argument("--opens", type=int, default=30, help="opens per timing (median)")
    args = ap.parse_args()

    from c360.lakehouse.delta import TABLE_CONFIGURATION

    batch = pa.table({"k": pa.array(range(100)), "v": pa.array([f"v{i}" for i in range(100)])})
    with tempfile.TemporaryDirectory(prefix="c360-table-open-") as tmp:
        for label, cfg in (
            ("interval 100 (delta-rs default)", None),
            ("c360", TABLE_CONFIGURATION),
        ):
            path = str(Path(tmp) / label.split()[0])
            opened: list[float] = []
            append_s = 0.0
            for n in range(1, args.commits + 1):
                t = time.perf_counter()
                write_deltalake(path, batch, mode="append", configuration=cfg)
                append_s += time.perf_counter() - t
                if n % args.every == 0:
                    opened.append(_open_ms(path, args.opens))
            print(
                f"{label:32s} {dict(cfg or {})}: open mean {statistics.mean(opened):5.1f} ms,"
                f" worst {max(opened):5.1f} ms; append mean"
                f" {append_s / args.commits * 1000:5.1f} ms over {args.commits} commits",
                flush=True,
            )


if __name__ == "__main__":
    main()
