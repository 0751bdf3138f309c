"""Identity resolution benchmark on the synthetic bank world, through the real path.

    .venv/bin/python benchmarks/identity.py --customers 345000   # ≈1M person records
    .venv/bin/python benchmarks/identity.py --customers 20000 --hard

Generates the world with ``--days`` daily drops, ingests day one (``ws.ingest()``),
runs a full resolution (standardise → match → cluster → ids → golden), then
delivers the later drops, ingests them and runs an incremental resolution.
Prints wall and CPU time per step (the run report's profile: ``seconds``,
``cpu_seconds``, ``profile``, ``memory_mb``, with the load average at the start and end of each run,
as ``c360 identity run --json`` shows them), peak RSS of this process (which does all
the work), the golden-id changes the new drop caused, and precision/recall at the
default and two other auto-link thresholds (re-clustered from the stored pairs).
``serving`` is the refresh of the serving projection ``ws.identity.run`` ends with
(a stage of its own in ``c360 run``); the line "identity full" includes it and
"resolution" does not. The first full run trains the model; ``--rebuild`` adds a
``--full`` run that reuses it. Targets (issue 18): full run ≤ 25 s at ~66k records
(``--customers 22700``), ≤ 100 s at 1M; a 15k-record drop into 1M ≤ 20 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def _steps(report: Any) -> None:
    wall: dict[str, float] = report.seconds
    cpu: dict[str, float] = report.cpu_seconds
    print(
        "   steps wall/cpu  "
        + ", ".join(f"{k} {v:.1f}/{cpu.get(k, 0):.1f}" for k, v in wall.items())
    )
    parts: dict[str, float] = report.profile
    if parts:
        print("   parts (wall s)  " + ", ".join(f"{k} {v:.1f}" for k, v in parts.items()))
    memory: dict[str, dict[str, int | None]] = report.memory_mb
    if memory:
        print(
            "   memory (MB)     "
            + ", ".join(f"{k} {m['rss']}/{m['peak']}" for k, m in memory.items())
            + "  (resident at the step's end / peak so far)"
        )
    if report.serving:
        print(f"   serving         {report.serving}")
    load = report.load_average
    print(
        f"   resolution {sum(v for k, v in wall.items() if k != 'serving'):.1f} s wall,"
        f" {sum(v for k, v in cpu.items() if k != 'serving'):.1f} s CPU;"
        f" model {'trained' if report.model_trained else 'reused'}"
        f"; load average {load[0]} → {load[-1]}; now {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def _deliver(hold: Path, landing: Path) -> None:
    for f in sorted(p for p in hold.rglob("*") if p.is_file()):
        dst = landing / f.relative_to(hold)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dst) if hold.name == "snapshot-held" else shutil.move(f, dst)


def _drop(workspace: Any, root: Path) -> None:
    """Re-time the later drops on a fresh copy of a --snapshot run's workspace."""
    snap = root / "snapshot"
    if not snap.is_dir():
        raise SystemExit(f"{root} holds no snapshot (run with --snapshot first)")
    work = root / "drop"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(snap, work, symlinks=True)
    ws = workspace.open(work)
    _deliver(root / "snapshot-held", ws.landing_dir)
    t = time.perf_counter()
    ws.ingest()
    print(f"ingest later days {time.perf_counter() - t:8.1f} s", flush=True)
    full_records = int((root / "snapshot-full.txt").read_text())
    t = time.perf_counter()
    inc = ws.identity.run()
    print(
        f"identity incr.    {time.perf_counter() - t:8.1f} s  {inc.records} records,"
        f" {inc.new_or_changed} new/changed, {inc.records - full_records} new records,"
        f" {inc.pairs_scored} pairs scored, {inc.records_reclustered} re-clustered;"
        f" events {inc.events}",
        flush=True,
    )
    _steps(inc)
    print(f"peak RSS          {_rss_gb():8.2f} GB")
    ws.close()
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--hard", action="store_true")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--days",
        type=int,
        default=2,
        help="daily drops after day one, delivered together as the incremental batch "
        "(345k people: --days 8 gives about 10k new records)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the workspace folder")
    ap.add_argument(
        "--snapshot",
        action="store_true",
        help="keep a copy of the workspace after the full run (with the later drops held "
        "back) so --drop-only can re-time the incremental run; implies --keep",
    )
    ap.add_argument(
        "--drop-only",
        metavar="FOLDER",
        help="a folder a --snapshot run kept: time only the later drops' ingest and "
        "incremental run, on a fresh copy of its snapshot",
    )
    ap.add_argument(
        "--rebuild",
        action="store_true",
        help="after the first full run, time a --full rebuild that reuses the trained model",
    )
    args = ap.parse_args()
    if args.snapshot and args.drop_only:
        ap.error("--snapshot and --drop-only do not go together")
    os.environ.setdefault("C360_TOKEN_KEY", "benchmark-key-0123456789abcdef0123456789")
    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    if args.drop_only:
        _drop(Workspace, Path(args.drop_only))
        return
    root = Path(tempfile.mkdtemp(prefix="c360-bench-identity-"))
    ws = Workspace.init(root / "ws", template="bank-demo")
    t = time.perf_counter()
    generate_world(
        ws.landing_dir,
        ws.truth_dir,
        None,
        SynthOptions(customers=args.customers, days=args.days, hard=args.hard, seed=args.seed),
    )
    print(f"generate          {time.perf_counter() - t:8.1f} s", flush=True)
    hold = root / "held"
    for f in sorted(p for p in ws.landing_dir.rglob("*") if p.is_file()):
        if f.name[:10] > "2026-01-01":
            dst = hold / f.relative_to(ws.landing_dir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(f, dst)
    t = time.perf_counter()
    ws.ingest()
    print(f"ingest day one    {time.perf_counter() - t:8.1f} s", flush=True)

    t = time.perf_counter()
    full = ws.identity.run(full=True)
    full_s = time.perf_counter() - t
    print(
        f"identity full     {full_s:8.1f} s  {full.records} records → {full.golden_ids} golden ids"
        f"  ({full.pairs_total} pairs, {full.merges_refused} merges refused)",
        flush=True,
    )
    _steps(full)
    print(f"peak RSS so far   {_rss_gb():8.2f} GB", flush=True)
    if args.rebuild:
        t = time.perf_counter()
        again = ws.identity.run(full=True)
        print(
            f"identity rebuild  {time.perf_counter() - t:8.1f} s  (--full, model reused)",
            flush=True,
        )
        _steps(again)
    if args.snapshot:
        ws.close()
        shutil.copytree(root / "ws", root / "snapshot", symlinks=True)
        shutil.copytree(hold, root / "snapshot-held")
        (root / "snapshot-full.txt").write_text(f"{full.records}\n")
        ws = Workspace.open(root / "ws")
        args.keep = True

    _deliver(hold, ws.landing_dir)
    t = time.perf_counter()
    ws.ingest()
    print(f"ingest later days {time.perf_counter() - t:8.1f} s", flush=True)
    links = ws.identity.links()
    before = dict(zip(links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True))
    t = time.perf_counter()
    inc = ws.identity.run()
    inc_s = time.perf_counter() - t
    links = ws.identity.links()
    after = dict(zip(links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True))
    changed = sum(1 for r, g in before.items() if after.get(r, g) != g)
    print(
        f"identity incr.    {inc_s:8.1f} s  {inc.records} records, {inc.new_or_changed} new/changed,"
        f" {inc.records - full.records} new records, {inc.records_standardised} standardised,"
        f" {inc.pairs_scored} pairs scored, {inc.records_reclustered} re-clustered;"
        f" events {inc.events};"
        f" existing records whose golden id changed: {changed}",
        flush=True,
    )
    _steps(inc)
    print(f"incremental/full  {inc_s / full_s:8.3f}")
    print(f"peak RSS          {_rss_gb():8.2f} GB")
    truth = ws.truth_dir / "identity.csv"
    for auto in (None, 0.95, 0.999):
        m = ws.identity.evaluate(truth, auto_link=auto)
        print(
            f"auto_link={m['auto_link']:<6} precision {m['precision']:.4f} recall {m['recall']:.4f}"
            f" f1 {m['f1']:.4f} false-merge {m['false_merge_rate']:.4f} split {m['split_rate']:.4f}"
            f" clusters {m['clusters']} people {m['people']}"
            + (" (default)" if auto is None else ""),
            flush=True,
        )
    ws.close()
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"workspace kept at {root}")


if __name__ == "__main__":
    main()
