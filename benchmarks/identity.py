"""Identity resolution benchmark on the synthetic bank world.

    .venv/bin/python benchmarks/identity.py --customers 300000   # target: ~1M records
    .venv/bin/python benchmarks/identity.py --customers 20000 --hard

Generates the world, loads the person sources into silver (through the ingestion
pipeline, or the test loader if ingestion is unavailable), holds back ~1% of each
source, runs a full resolution, then adds the held-back records and runs an
incremental one. Prints timings, peak RSS, and precision/recall at the default
and two other auto-link thresholds (re-clustered from the stored pairs).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load_silver(ws: object, holdback: float) -> tuple[dict[str, list[dict[str, object]]], int]:
    """Write every person source to silver except the last ``holdback`` share of rows."""
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from tests.identity.helpers import write_silver

    held: dict[str, list[dict[str, object]]] = {}
    total = 0
    for src, c in ws.contracts().items():  # type: ignore[attr-defined]
        if not c.identity:
            continue
        frames = []
        for f in sorted((ws.landing_dir / c.folder).glob(c.pattern)):  # type: ignore[attr-defined]
            if c.format == "csv":
                frames.append(pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""]))
            elif c.format == "jsonl":
                frames.append(pd.read_json(f, lines=True, dtype=str))
            else:
                frames.append(pd.read_parquet(f).astype("string"))
        df = pd.concat(frames).drop_duplicates(subset=c.key, keep="last")
        df = df.astype(object).where(df.notna(), None)
        rows = df.to_dict("records")
        cut = len(rows) - int(len(rows) * holdback)
        write_silver(ws, src, rows[:cut])  # type: ignore[arg-type]
        held[src] = rows[cut:]
        total += len(rows)
    return held, total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--hard", action="store_true")
    ap.add_argument("--holdback", type=float, default=0.01)
    args = ap.parse_args()
    os.environ.setdefault("C360_TOKEN_KEY", "benchmark-key-0123456789abcdef0123456789")
    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    sys.path.insert(0, str(ROOT))
    from tests.identity.helpers import write_silver

    root = Path(tempfile.mkdtemp(prefix="c360-bench-"))
    (root / "c360.yaml").write_text("{}\n")
    ws = Workspace.open(root)
    t = time.perf_counter()
    generate_world(
        ws.landing_dir,
        ws.truth_dir,
        ws.contracts_dir,
        SynthOptions(customers=args.customers, days=1, hard=args.hard),
    )
    print(f"generate          {time.perf_counter() - t:8.1f} s")
    t = time.perf_counter()
    held, total = _load_silver(ws, args.holdback)
    print(f"load silver       {time.perf_counter() - t:8.1f} s  ({total} person records)")
    t = time.perf_counter()
    full = ws.identity.run(full=True)
    full_s = time.perf_counter() - t
    print(
        f"identity full     {full_s:8.1f} s  {full.records} records → {full.golden_ids} golden ids"
    )
    print(f"   steps          {full.seconds}")
    for src, rows in held.items():
        if rows:
            write_silver(ws, src, rows, batch="b2")
    t = time.perf_counter()
    inc = ws.identity.run()
    inc_s = time.perf_counter() - t
    print(
        f"identity incr.    {inc_s:8.1f} s  {inc.new_or_changed} new/changed records; events {inc.events}"
    )
    print(f"   steps          {inc.seconds}")
    print(f"incremental/full  {inc_s / full_s:8.2f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"peak RSS          {rss:8.2f} GB")
    truth = ws.truth_dir / "identity.csv"
    th = ws.config.identity.thresholds.auto_link
    for auto in (th, 0.95, 0.999):
        m = ws.identity.evaluate(truth, auto_link=auto)
        print(
            f"auto_link={auto:<6} precision {m['precision']:.4f} recall {m['recall']:.4f} "
            f"f1 {m['f1']:.4f} false-merge {m['false_merge_rate']:.4f} split {m['split_rate']:.4f} "
            f"clusters {m['clusters']} people {m['people']}"
        )


if __name__ == "__main__":
    main()
