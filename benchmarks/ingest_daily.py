"""Ingest benchmark: a month of small daily drops, where the cost is per batch, not per row.

A bank delivers each source every day, so a month of the synthetic world's 13 sources is
about 400 files of a few hundred rows each. This generates that world (``--customers``,
``--days``), ingests every file in one ``c360 ingest`` and prints the files, rows, wall
and CPU seconds, and the milliseconds per batch, with the load average before and after
(the machine may be shared). The 5M-row single-file figures are ``benchmarks/ingest.py``.

    python benchmarks/ingest_daily.py [--customers 1200] [--days 31] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--customers", type=int, default=1200)
    ap.add_argument("--days", type=int, default=31, help="daily drops after the initial load")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="Keep the workspace in this folder.")
    args = ap.parse_args()

    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    root = args.keep or Path(tempfile.mkdtemp(prefix="c360-ingest-daily-"))
    if args.keep and root.exists() and any(root.iterdir()):
        raise SystemExit(f"--keep {root}: the folder is not empty; name a new one")
    ws = Workspace.init(root / "ws", template="bank-demo")
    t0 = time.perf_counter()
    generate_world(
        ws.landing_dir, ws.truth_dir, None, SynthOptions(args.customers, args.seed, args.days)
    )
    generated = time.perf_counter() - t0
    files = sum(1 for p in ws.landing_dir.rglob("*") if p.is_file())
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    report = ws.ingest()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ws.close()
    batches = list(report.batches())
    out = {
        "customers": args.customers,
        "days": args.days,
        "generate_s": round(generated, 1),
        "files": files,
        "batches": len(batches),
        "failed": sum(1 for b in batches if b.status == "failed"),
        "rows_in": sum(b.rows_in for b in batches),
        "ingest_s": round(wall, 1),
        "ingest_cpu_s": round(cpu, 1),
        "ms_per_batch": round(1000 * wall / max(1, len(batches)), 1),
        "load_average_1m": {"start": load0, "end": os.getloadavg()[0]},
    }
    print(json.dumps(out, indent=2))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
