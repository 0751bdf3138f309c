"""Ingest benchmark: a 5M-row card-transaction CSV drop through bronze and silver.

Prints rows/s end to end, peak RSS of the ingesting process, and the ratio to a
bare DuckDB ``COPY csv TO parquet`` of the same file measured in the same run
(the near-physical limit on this machine). Targets (issue 3): ≥ 500k rows/s,
within 4× of the bare copy, peak RSS ≤ 4 GB.

Then the same rows with a card number column the contract tokenises (``pan``:
HMAC token and last-4 into bronze/silver, the raw number into restricted), with its
rows/s and ratio to the bare copy beside the untokenised figure from the same run
(issue 14: tokenised ≥ 400k rows/s on an idle machine, within 2× of the untokenised
path per row).

The machine may be shared: the load average is printed before and after, and each
ingest's CPU seconds (user + system, all threads) beside its wall time — under load
the CPU ratio tokenised/untokenised moves far less than the wall-time ratio.

    python benchmarks/ingest.py [--rows 5000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import CHILD_RSS, run_child

BASELINE = (
    CHILD_RSS
    + """
import duckdb
con = duckdb.connect()
t0, c0 = time.perf_counter(), cpu_s()
con.execute(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}', header=true)) TO '{sys.argv[2]}' (FORMAT parquet)")
report(seconds=time.perf_counter() - t0, cpu=cpu_s() - c0)
"""
)

INGEST = (
    CHILD_RSS
    + """
from c360.workspace import Workspace
ws = Workspace.open(sys.argv[1])
t0, c0 = time.perf_counter(), cpu_s()
r = ws.ingest([sys.argv[2]])
secs, cpu = time.perf_counter() - t0, cpu_s() - c0
(b,) = r.batches()
report(seconds=secs, cpu=cpu, rows_in=b.rows_in, rows_loaded=b.rows_loaded, rows_quarantined=b.rows_quarantined,
       status=b.status, error=b.error, timings=b.timings)
"""
)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--keep", type=Path, help="Keep the workspace in this folder.")
    args = ap.parse_args()

    from c360.synth import write_card_transactions_csv
    from c360.workspace import Workspace, copy_packaged

    root = args.keep or Path(tempfile.mkdtemp(prefix="c360-bench-ingest-"))
    os.environ.setdefault("C360_TOKEN_KEY", "benchmark-key-0123456789abcdef0123456789")
    os.environ["C360_INGEST__SETTLE_SECONDS"] = "0"  # the files are complete: no settle wait
    ws = Workspace.init(root, template="empty", force=True)
    (contract,) = copy_packaged(
        "c360.synth", "contracts", ws.contracts_dir, "card_transactions.yaml"
    )
    drop = ws.landing_dir / "card_transactions" / "2026-01-01.csv"
    drop.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    write_card_transactions_csv(drop, rows=args.rows, seed=7)
    size_mb = drop.stat().st_size / 1e6
    print(f"generated {args.rows:,} rows ({size_mb:,.0f} MB) in {time.perf_counter() - t0:.1f}s")

    print(f"load average before: {_load()}")
    base = run_child(BASELINE, str(drop), str(root / "baseline.parquet"))
    ing = run_child(INGEST, str(root), "card_transactions")
    if ing["status"] != "loaded":
        raise SystemExit(f"ingest failed: {ing['error']}")
    tok = _tokenised(ws, contract, drop, root)
    rate = ing["rows_in"] / ing["seconds"]
    print(
        f"bare DuckDB COPY csv→parquet : {base['seconds']:.2f}s, CPU {base['cpu']:.2f}s  "
        f"({args.rows / base['seconds']:,.0f} rows/s, "
        f"peak RSS {base['peak_rss_mb']:,.0f} MB)"
    )
    print(
        f"c360 ingest (bronze+silver)  : {ing['seconds']:.2f}s, CPU {ing['cpu']:.2f}s  ({rate:,.0f} rows/s, "
        f"peak RSS {ing['peak_rss_mb']:,.0f} MB)"
    )
    print(
        f"rows in/loaded/quarantined   : {ing['rows_in']:,} / {ing['rows_loaded']:,} / {ing['rows_quarantined']:,}"
    )
    print(
        "phases (s)                   : "
        + ", ".join(f"{k} {v:.2f}" for k, v in ing["timings"].items())
    )
    print(f"ratio ingest / bare copy     : {ing['seconds'] / base['seconds']:.2f}x   (target ≤ 4x)")
    print(
        f"throughput target ≥ 500k/s   : {'met' if rate >= 500_000 else 'NOT met'}; "
        f"RSS target ≤ 4096 MB: {'met' if ing['peak_rss_mb'] <= 4096 else 'NOT met'}"
    )
    tok_rate = tok["rows_in"] / tok["seconds"]
    print(
        f"c360 ingest, tokenised pan   : {tok['seconds']:.2f}s, CPU {tok['cpu']:.2f}s  "
        f"({tok_rate:,.0f} rows/s, peak RSS {tok['peak_rss_mb']:,.0f} MB); ratio to bare copy "
        f"{tok['seconds'] / base['seconds']:.2f}x, to untokenised {tok['seconds'] / ing['seconds']:.2f}x "
        f"(CPU {tok['cpu'] / ing['cpu']:.2f}x)"
    )
    print(
        "phases (s)                   : "
        + ", ".join(f"{k} {v:.2f}" for k, v in tok["timings"].items())
    )
    print(
        f"tokenised targets            : ≥ 400k rows/s {'met' if tok_rate >= 400_000 else 'NOT met'}; "
        f"≤ 2x untokenised {'met' if tok['seconds'] <= 2 * ing['seconds'] else 'NOT met'}"
    )
    print(f"load average after : {_load()}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _tokenised(ws, contract: Path, drop: Path, root: Path) -> dict:  # type: ignore[no-untyped-def]
    """The same rows plus a 16-digit card number per account, under a contract that
    tokenises it; ingested in a fresh child like the untokenised file."""
    import duckdb
    import yaml

    spec = yaml.safe_load(contract.read_text())
    spec["source"] = "card_transactions_pan"
    spec["columns"].append(
        {"name": "pan", "type": "string", "tokenize": "pan", "pii": "pii_sensitive"}
    )
    (ws.contracts_dir / "card_transactions_pan.yaml").write_text(yaml.safe_dump(spec))
    out = ws.landing_dir / "card_transactions_pan" / drop.name
    out.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        f"COPY (SELECT *, '4716' || lpad(regexp_replace(card_account_id, '[^0-9]', '', 'g'), 12, '0') AS pan "
        f"FROM read_csv('{drop}', header=true, all_varchar=true)) TO '{out}' (HEADER, DELIMITER ',')"
    )
    res = run_child(INGEST, str(root), "card_transactions_pan")
    if res["status"] != "loaded":
        raise SystemExit(f"tokenised ingest failed: {res['error']}")
    return res


if __name__ == "__main__":
    main()
