"""JSON Lines ingest: rows/s and peak memory of one large e-mail events drop.

Writes an ``email_events`` file of ``--rows`` lines in the generated world's layout
(one line in a thousand malformed), then ingests it with ``c360 run --stage ingest`` in
a fresh interpreter, so the peak RSS printed is the ingest's own. The JSON Lines reader
parses line by line in Python (each bad line keeps its line number and reason) and
turns the records into Arrow a chunk at a time (``c360.ingest.readers.JSONL_CHUNK``).

    python benchmarks/ingest_jsonl.py [--rows 2000000] [--engine duckdb|spark] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from c360.workspace import Workspace
ws = Workspace.open(sys.argv[1])
t = time.perf_counter()
report = ws.run(stages=["ingest"], engine=sys.argv[2])
seconds = time.perf_counter() - t
(batch,) = [b for s in report.stage("ingest").summary["sources"] for b in s["batches"]]
print(json.dumps({"seconds": seconds, "batch": batch,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _write(path: Path, rows: int) -> int:
    """``rows`` lines like the generated world's e-mail events; returns the bad ones."""
    kinds = ("sent", "open", "click", "bounce", "unsubscribe")
    bad = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            if i % 1000 == 999:
                fh.write(f'{{"event_id": "EV{i:011d}", "email": \n')
                bad += 1
                continue
            fh.write(
                json.dumps(
                    {
                        "event_id": f"EV{i:011d}",
                        "subscriber_id": str(5_000_000 + i % 800_000),
                        "email": f"person{i % 800_000}@example.com",
                        "event_type": kinds[i % 5],
                        "campaign_id": None if i % 5 == 4 else f"CMP{i % 97:04d}",
                        "at": f"2026-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
                    },
                    separators=(",", ":"),
                )
                + "\n"
            )
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=2_000_000, help="lines in the drop")
    ap.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    ap.add_argument("--keep", type=Path, help="keep the workspace in this folder")
    args = ap.parse_args()
    os.environ.setdefault("C360_TOKEN_KEY", "benchmark-key-0123456789abcdef0123456789")
    from c360.workspace import Workspace

    root = args.keep or Path(tempfile.mkdtemp(prefix="c360-jsonl-"))
    ws_dir = root / "ws"
    shutil.rmtree(ws_dir, ignore_errors=True)
    ws = Workspace.init(ws_dir, template="bank-demo")
    for contract in ws.contracts_dir.glob("*.yaml"):
        if contract.stem != "email_events":
            contract.unlink()
    ws.close()
    drop = ws_dir / "landing" / "email_events" / "2026-01-01.jsonl"
    t = time.perf_counter()
    bad = _write(drop, args.rows)
    size = drop.stat().st_size
    print(
        f"wrote {args.rows:,} lines ({bad:,} malformed), {size / 1e6:,.0f} MB in {time.perf_counter() - t:.1f} s"
    )
    load = os.getloadavg()[0]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(ws_dir), args.engine],
        check=True,
        capture_output=True,
        text=True,
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    b = res["batch"]
    print(
        f"{args.engine} ingest: {res['seconds']:.1f} s, {args.rows / res['seconds']:,.0f} lines/s; "
        f"rows in {b['rows_in']:,}, loaded {b['rows_loaded']:,}, quarantined {b['rows_quarantined']:,}; "
        f"peak RSS {res['peak_mb']:,.0f} MB ({res['peak_mb'] * 1024 * 1024 / size:.1f}× the file); "
        f"load {load:.2f} → {os.getloadavg()[0]:.2f}"
    )
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
