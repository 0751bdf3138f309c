"""How long a steward waits for the evidence on one pair (``ws.identity.evidence``).

    .venv/bin/python benchmarks/steward_evidence.py --customers 20000

Generates the synthetic bank world, runs the pipeline's identity stages (``c360 run``),
then computes the evidence of every open review task (up to ``--tasks``) and of as many
linked pairs: the task page, the pair page and ``c360 identity explain`` all call it.
Prints the record count and the median / p95 / max time per pair. No target: it reads
``silver.party_records`` once per call, like ``explain`` always has, so it grows with
the number of records.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--tasks", type=int, default=30)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    os.environ.setdefault("C360_TOKEN_KEY", "benchmark-key-0123456789abcdef0123456789")
    os.environ.setdefault("C360_INGEST__SETTLE_SECONDS", "0")
    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    root = Path(tempfile.mkdtemp(prefix="c360-bench-evidence-"))
    try:
        ws = Workspace.init(root / "ws", template="bank-demo")
        generate_world(
            ws.landing_dir,
            ws.truth_dir,
            None,
            SynthOptions(customers=args.customers, days=1, seed=args.seed),
        )
        ws.ingest()
        ws.identity.run()
        records = ws.lakehouse.read("silver", "party_records").num_rows
        tasks = ws.identity.review_list("open", args.tasks)
        links = ws.identity.links()
        by_golden: dict[str, list[str]] = {}
        for r, g in zip(
            links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True
        ):
            by_golden.setdefault(g, []).append(r)
        linked = [sorted(m)[:2] for m in by_golden.values() if len(m) >= 2][: args.tasks]
        for label, pairs in (
            ("review tasks", [(t["record_id_l"], t["record_id_r"]) for t in tasks]),
            ("linked pairs", [(a, b) for a, b in linked]),
        ):
            times = []
            for a, b in pairs:
                t = time.perf_counter()
                ws.identity.evidence(a, b)
                times.append((time.perf_counter() - t) * 1000)
            if not times:
                print(f"{label:<13} none")
                continue
            times.sort()
            p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
            print(
                f"{label:<13} {len(times):4d} pairs over {records:,} records: "
                f"median {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  "
                f"max {times[-1]:7.1f} ms"
            )
        ws.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
