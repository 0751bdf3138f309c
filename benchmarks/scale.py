"""Per-stage throughput of ``c360 run`` on DuckDB and on local Spark, by world size.

    python benchmarks/scale.py                                       # 20k smoke, both engines
    python benchmarks/scale.py --records 1000000 --engines duckdb
    python benchmarks/scale.py --records 1000000 5000000 --spark-max-records 100000 --json out.json

Sizes are *source records*: the person records the sources hold (the identity stage's
input, counted in the generated world's ``truth/identity.csv``). A size is mapped to a
customer count with the generator's records-per-customer ratio, measured first on a
small world with the same seed and days and printed (about 2.9 records and 49 landing
rows per customer: the event sources — transactions, logins, balances, e-mail events —
make up most landing rows).

For each size the world is generated once (``c360.synth.generate_world``), then:

* DuckDB: each chosen stage runs in order as ``c360 run --stage NAME`` in a fresh
  interpreter (``Workspace.run(stages=[NAME])``), so each stage's peak RSS is its own.
* Spark (local): ``ingest`` runs with ``--engine spark`` on a copy of the workspace as it
  was generated (landing files and contracts, nothing ingested), ``identity`` on a copy
  of the DuckDB workspace taken after ingest (so it trains its own model on Spark, as a
  first run does), and every later stage on a copy of the DuckDB workspace taken just
  before DuckDB ran it (``consent`` after DuckDB's identity, ``features`` after its
  serving, and so on). A stage not proven on Spark (none today) is printed as such,
  never estimated.

Printed per stage: the stage's own seconds (the run report), the child's wall seconds
(interpreter start, imports and, on Spark, the JVM start included), source records/s
(and landing rows/s for ingest), CPU seconds and peak RSS of the Python process (the
Spark JVM is a separate process and not included), and the load average before and
after. ``--json`` writes every figure, rewritten after each stage, so an interrupted run
keeps what it measured. ``--spark-max-records`` caps Spark to sizes it can finish: above
the cap, Spark is skipped at that size and the output says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _util import CHILD_RSS, run_child

from c360.pipeline import ENGINE_STAGES

STAGE = (
    CHILD_RSS
    + """
from c360.workspace import Workspace
ws = Workspace.open(sys.argv[1])
t0, c0 = time.perf_counter(), cpu_s()
r = ws.run(stages=[sys.argv[2]], engine=sys.argv[3])
st = r.stage(sys.argv[2])
secs, cpu = time.perf_counter() - t0, cpu_s() - c0
ws.close()
report(status=st.status if st else r.status, error=st.error if st else None,
       stage_s=st.seconds if st else None, run_s=secs, cpu_s=cpu,
       summary={k: v for k, v in (st.summary if st else {}).items()
                if isinstance(v, (int, float, str, bool)) or v is None})
"""
)

SEED = 7
ALL_STAGES = (
    "ingest",
    "identity",
    "consent",
    "stream",
    "serving",
    "features",
    "models",
    "decisioning",
)
#: the stages proven on Spark, in pipeline order (c360.pipeline.ENGINE_STAGES)
SPARK_STAGES = tuple(s for s in ALL_STAGES if s in ENGINE_STAGES)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _landing_rows(landing: Path) -> int:
    import pyarrow.parquet as pq

    rows = 0
    for f in landing.rglob("*"):
        if not f.is_file():
            continue
        if f.suffix == ".parquet":
            rows += pq.ParquetFile(f).metadata.num_rows
        else:
            with f.open("rb") as fh:
                lines = sum(1 for _ in fh)
            rows += lines - 1 if f.suffix == ".csv" else lines
    return rows


def _person_records(truth: Path) -> int:
    with (truth / "identity.csv").open("rb") as fh:
        return sum(1 for _ in fh) - 1


def _generate(root: Path, customers: int, days: int) -> tuple[Any, float]:
    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    t0 = time.perf_counter()
    ws = Workspace.init(root, template="bank-demo")
    generate_world(
        ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=customers, seed=SEED, days=days)
    )
    ws.close()
    return ws, time.perf_counter() - t0


def _calibrate(base: Path, days: int, customers: int = 2000) -> tuple[float, float]:
    ws, _ = _generate(base / "calibration", customers, days)
    ratio = _person_records(ws.truth_dir) / customers
    rows = _landing_rows(ws.landing_dir) / customers
    shutil.rmtree(base / "calibration", ignore_errors=True)
    return ratio, rows


def _stage(root: Path, stage: str, engine: str, records: int, rows: int) -> dict[str, Any]:
    before = _load()
    t0 = time.perf_counter()
    try:
        out = run_child(STAGE, str(root), stage, engine)
    except SystemExit as exc:  # the child raised: record its last error line, not a figure
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        error = next((ln for ln in reversed(lines) if "Error" in ln or "Exception" in ln), "?")
        out = {
            "status": "failed", "error": error.strip(), "stage_s": None, "cpu_s": 0.0,
            "wall_s": time.perf_counter() - t0, "peak_rss_mb": 0.0,
        }  # fmt: skip
    out["load_before"], out["load_after"] = before, _load()
    out["stage"], out["engine"] = stage, engine
    if out["status"] == "succeeded" and out["stage_s"]:
        out["records_per_s"] = records / out["stage_s"]
        if stage == "ingest":
            out["landing_rows"] = rows
            out["rows_per_s"] = rows / out["stage_s"]
    status = out["status"] if out["status"] == "succeeded" else f"{out['status']}: {out['error']}"
    extra = f", {out['rows_per_s']:,.0f} landing rows/s" if "rows_per_s" in out else ""
    rate = f"{out['records_per_s']:,.0f} records/s" if "records_per_s" in out else "-"
    print(
        f"  {engine:6} {stage:11} stage {out['stage_s'] or 0:8.1f} s  (child wall {out['wall_s']:7.1f} s,"
        f" CPU {out['cpu_s']:7.1f} s)  {rate}{extra}  peak RSS {out['peak_rss_mb']:,.0f} MB"
        f"  load {before[0]:.2f} -> {out['load_after'][0]:.2f}  [{status}]",
        flush=True,
    )
    return out


def _sig(x: float) -> str:
    """Two significant figures: the estimates carry no more."""
    return f"{float(f'{x:.2g}'):g}"


def model(args: argparse.Namespace) -> None:
    """Estimates for larger sizes on a cluster, from the DuckDB figures in ``args.model`` files.

    Per stage: source records per CPU-second of the stage's process at the largest size it
    succeeded at (DuckDB computes in process, so its CPU time is the stage's work); the estimate
    for N records is ``N / (rate * cores * efficiency)``, linear in N. Every output figure
    is an estimate under the printed assumptions, none a measurement."""
    docs = [json.loads(f.read_text()) for f in args.model]
    best: dict[str, dict[str, Any]] = {}
    for size in (s for doc in docs for s in doc["sizes"]):
        for st in size["stages"]:
            if st.get("engine") == "duckdb" and st.get("status") == "succeeded" and st["cpu_s"]:
                st = {**st, "source_records": size["source_records"]}
                if (
                    st["stage"] not in best
                    or st["source_records"] >= best[st["stage"]]["source_records"]
                ):
                    best[st["stage"]] = st
    cores = args.workers * args.cores_per_worker
    rate_h = args.workers + 1  # workers and the driver are billed alike
    sources = ", ".join(f"{f} ({d['date']})" for f, d in zip(args.model, docs, strict=True))
    price = rate_h * (args.dbu_per_node_hour * args.price_per_dbu + args.vm_per_node_hour)
    print(
        f"ESTIMATES (not measured) from {sources}:\n"
        f"{args.workers} workers x "
        f"{args.cores_per_worker} cores = {cores} cores, scaling efficiency {args.efficiency}, "
        f"{args.dbu_per_node_hour} DBU per node-hour at {args.price_per_dbu} per DBU (assumed; "
        f"replace with the contract price), VM {args.vm_per_node_hour} per node-hour (assumed): "
        f"{price:.2f} per cluster-hour"
    )
    for n in args.estimate:
        total = 0.0
        print(f"\n{n:,} source records (estimate)")
        for stage in ALL_STAGES:
            if stage not in best:
                continue
            st = best[stage]
            per_core = st["source_records"] / st["cpu_s"]
            secs = n / (per_core * cores * args.efficiency)
            total += secs
            where = (
                "Spark today"
                if stage in SPARK_STAGES
                else "not on Spark yet: DuckDB-rate extrapolation"
            )
            print(
                f"  {stage:11} {per_core:9,.0f} records/CPU-s measured at "
                f"{st['source_records']:,}  ->  ~{_sig(secs / 60)} min  ({where})"
            )
        print(
            f"  total compute ~{_sig(total / 60)} min, ~{_sig(total / 3600 * price)} "
            "price units per run (estimate)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--records", type=int, nargs="+", default=[20_000],
        help="source-record sizes to measure, e.g. 1000000 5000000 (default: 20000, the "
        "smoke size `make bench` runs)",
    )  # fmt: skip
    ap.add_argument(
        "--engines", nargs="+", choices=("duckdb", "spark"), default=["duckdb", "spark"]
    )
    ap.add_argument(
        "--stages", nargs="+", choices=ALL_STAGES, default=list(ALL_STAGES),
        help="stages to run, in pipeline order (default: all)",
    )  # fmt: skip
    ap.add_argument(
        "--spark-max-records", type=int, default=None,
        help="skip Spark at sizes above this many source records (printed as skipped)",
    )  # fmt: skip
    ap.add_argument("--days", type=int, default=1, help="daily drops after day one (default 1)")
    ap.add_argument("--json", type=Path, help="write the figures here (after every stage)")
    ap.add_argument("--keep", type=Path, help="keep the workspaces in this folder")
    m = ap.add_argument_group("cost/time model (estimates from a --json file; nothing runs)")
    m.add_argument(
        "--model", type=Path, nargs="+",
        help="--json files of DuckDB figures to model from (per stage, the largest size it succeeded at)",
    )  # fmt: skip
    m.add_argument("--estimate", type=int, nargs="+", default=[10_000_000, 100_000_000])
    m.add_argument("--workers", type=int, default=8)
    m.add_argument("--cores-per-worker", type=int, default=8)
    m.add_argument(
        "--efficiency", type=float, default=0.5,
        help="share of the measured DuckDB records/CPU-s each cluster core achieves "
        "(Spark's per-core speed and parallel losses together; an assumption)",
    )  # fmt: skip
    m.add_argument("--dbu-per-node-hour", type=float, default=2.0)
    m.add_argument("--price-per-dbu", type=float, default=0.15)
    m.add_argument("--vm-per-node-hour", type=float, default=0.5)
    args = ap.parse_args()
    if args.model:
        model(args)
        return
    os.environ.setdefault("C360_TOKEN_KEY", "benchmark-key-0123456789abcdef0123456789")
    os.environ["C360_INGEST__SETTLE_SECONDS"] = "0"  # the files are complete: no settle wait
    os.environ.pop("C360_ENGINE__NAME", None)
    stages = [s for s in ALL_STAGES if s in args.stages]
    base = args.keep or Path(tempfile.mkdtemp(prefix="c360-bench-scale-"))
    base.mkdir(parents=True, exist_ok=True)

    ratio, rows_per_customer = _calibrate(base, args.days)
    print(
        f"generator (seed {SEED}, days {args.days}): {ratio:.3f} source records and "
        f"{rows_per_customer:.1f} landing rows per customer (measured on 2,000 customers)"
    )
    doc: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "records_per_customer": ratio,
        "landing_rows_per_customer": rows_per_customer,
        "sizes": [],
    }

    def save() -> None:
        if args.json:
            args.json.write_text(json.dumps(doc, indent=2))

    for size in args.records:
        customers = max(1, round(size / ratio))
        root = base / f"r{size}"
        ws, gen_s = _generate(root / "duckdb", customers, args.days)
        records, rows = _person_records(ws.truth_dir), _landing_rows(ws.landing_dir)
        print(
            f"\n{size:,} records -> {customers:,} customers: generated {records:,} source records, "
            f"{rows:,} landing rows in {gen_s:.1f} s; load average {_load()}",
            flush=True,
        )
        entry: dict[str, Any] = {
            "target_records": size, "customers": customers, "source_records": records,
            "landing_rows": rows, "generate_s": gen_s, "stages": [], "spark": None,
        }  # fmt: skip
        doc["sizes"].append(entry)
        spark = "spark" in args.engines and (
            args.spark_max_records is None or size <= args.spark_max_records
        )
        if "spark" in args.engines and not spark:
            entry["spark"] = f"skipped: {size:,} records is above --spark-max-records"
            print(
                f"  spark  skipped at {size:,} records (above --spark-max-records "
                f"{args.spark_max_records:,}); no Spark figure at this size",
                flush=True,
            )
        if spark and "ingest" in stages:
            shutil.copytree(root / "duckdb", root / "spark-ingest")
        # every Spark stage after ingest starts from a copy of DuckDB's workspace before it
        spark_inputs = (set(SPARK_STAGES) - {"ingest"}) & set(stages) if spark else set()
        if "duckdb" in args.engines or spark_inputs:
            pending = set(spark_inputs)
            for stage in stages:
                if stage in pending:
                    shutil.copytree(root / "duckdb", root / f"spark-{stage}")
                    pending.discard(stage)
                if "duckdb" not in args.engines and not pending:
                    break  # DuckDB ran only to prepare Spark's inputs
                out = _stage(root / "duckdb", stage, "duckdb", records, rows)
                entry["stages"].append(out)
                save()
                if out["status"] != "succeeded":
                    print(f"  duckdb stopped: {stage} did not succeed", flush=True)
                    break
        if spark:
            for stage in stages:
                if stage not in SPARK_STAGES:
                    print(f"  spark  {stage:11} not on Spark yet", flush=True)
                    entry["stages"].append(
                        {"stage": stage, "engine": "spark", "status": "not on Spark yet"}
                    )
                    continue
                copy = root / f"spark-{stage}"
                if not copy.exists():
                    print(f"  spark  {stage:11} no input (its DuckDB predecessors did not run)")
                    continue
                entry["stages"].append(_stage(copy, stage, "spark", records, rows))
                save()
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    save()
    if args.keep is None:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
