"""Streaming benchmark: revocation accept → enforced, sustained events/s, freshness, memory.

    python benchmarks/streaming.py [--customers 300] [--rate 1000] [--seconds 60]
                                   [--revocations 1000] [--workspace DIR]

1. Revocations: a real collector (uvicorn on 127.0.0.1) takes consent revocations one
   request at a time; after each 202 the gate is checked until it denies. Prints p50/p99
   of accept → enforced and of send → enforced (target p99 <= 1 s).
2. Sustained intake: ``c360 replay --to http`` at ``--rate`` for ``--seconds`` while a
   ``c360 stream`` process applies micro-batches. Prints events/s applied, accept →
   applied (golden record and online features updated) p50/p99 from ``c360 stream
   status`` (target p99 <= 5 s at 1,000 events/s), event → decision p50/p99 of the
   stream triggers' decisions (accepted → decision committed), where the stream process
   spent its time (seconds per phase, share, longest occurrence, ms per applied event:
   ``c360 stream --json``) and its RSS at the start, every ``--sample-every`` seconds
   (default 60) and at the end, each with the machine's 1-minute load average and the data
   held (events applied, streamed identifiers and golden records, rows and Arrow MB of
   gold.golden_customers). Memory is *flat* when the RSS slope over the last
   ``--flat-window`` seconds (default 300) is at most FOLD_COPIES x the slope of the
   golden table's MB (the golden fold's working set, the one structure in the process
   that grows with the data) plus FLAT_TOLERANCE_MB_PER_MIN (ADR 0064); the criterion and
   the verdict are printed. Use --seconds 600 for the issue's 10 minutes; --profile PATH
   runs the stream process under cProfile.
3. Capacity: a backlog of 30 s worth of events in the inbox, drained by one
   ``c360 stream --until-idle`` (batches of 5,000, process start included): events/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c360.workspace import Workspace

SRC = str(Path(__file__).parents[1] / "src")
sys.path.insert(0, SRC)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def data_held(ws) -> dict:  # type: ignore[no-untyped-def]
    """What the world holds that the stream process may keep in memory while it works:
    applied events, streamed identity decisions, the golden records the stream created,
    and the rows and Arrow bytes of gold.golden_customers (the golden fold reads the
    changed golden records; the whole table while the fold rewrote it, ADR 0064)."""
    from sqlalchemy import func, select

    from c360.stream.tables import stream_applied, stream_identifiers

    sid = stream_identifiers.c
    with ws.store.engine.connect() as conn:
        applied = conn.execute(select(func.count()).select_from(stream_applied)).scalar()
        decided = conn.execute(select(func.count()).select_from(stream_identifiers)).scalar()
        created = conn.execute(
            select(func.count(func.distinct(sid.golden_id))).where(sid.outcome == "new")
        ).scalar()
    lh = ws.lakehouse
    gold_rows = gold_mb = 0.0
    if lh.exists("gold", "golden_customers"):
        t = lh.read("gold", "golden_customers")
        gold_rows, gold_mb = t.num_rows, t.nbytes / 2**20
    return {
        "applied": int(applied or 0),
        "identifiers": int(decided or 0),
        "stream_golden": int(created or 0),
        "gold_rows": int(gold_rows),
        "gold_mb": round(gold_mb, 1),
    }


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return 60 * sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else float("nan")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def world(root: Path, customers: int) -> Workspace:
    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    ws = Workspace.init(root, template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=customers, seed=5))
    ws.run(stages=["ingest", "identity", "consent"])
    return ws


def serve(app: Any) -> tuple[str, object]:
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def revocations(ws, url: str, token: str, n: int) -> dict:  # type: ignore[no-untyped-def]
    import httpx
    from sqlalchemy import func, select

    from c360.consent.tables import consent_subject_index as idx

    with ws.store.begin() as conn:
        pairs = conn.execute(
            select(func.min(idx.c.golden_id), idx.c.id_value)
            .where(idx.c.id_type == "email")
            .group_by(idx.c.id_value)
            .having(func.count(func.distinct(idx.c.golden_id)) == 1)
        ).all()
    accept: list[Any] = []
    send: list[Any] = []
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
    i = 0
    while len(accept) < n and i < n * 4:
        golden, email = pairs[i % len(pairs)]
        i += 1
        status = "granted"
        if not ws.consent.check(golden, "marketing", "email").allowed:
            ev = _consent(f"bench-g-{i}", email, "granted")
            client.post("/v1/events", json=ev)
            if not ws.consent.check(golden, "marketing", "email").allowed:
                continue  # denied for another reason (minor, suppression): not a revocation test
        status = "revoked"
        t0 = time.perf_counter()
        r = client.post("/v1/events", json=_consent(f"bench-r-{i}", email, status))
        t1 = time.perf_counter()
        if r.status_code != 202:
            raise SystemExit(f"collector answered {r.status_code}: {r.text}")
        while ws.consent.check(golden, "marketing", "email").allowed:
            if time.perf_counter() - t1 > 10:
                raise SystemExit("revocation not enforced within 10 s")
        t2 = time.perf_counter()
        accept.append((t2 - t1) * 1000)
        send.append((t2 - t0) * 1000)
    return {
        "revocations": len(accept),
        "accept_to_enforced_p50_ms": round(pct(accept, 0.5), 2),
        "accept_to_enforced_p99_ms": round(pct(accept, 0.99), 2),
        "send_to_enforced_p50_ms": round(pct(send, 0.5), 2),
        "send_to_enforced_p99_ms": round(pct(send, 0.99), 2),
    }


def _consent(eid: str, email: str, status: str) -> dict:
    from datetime import UTC, datetime, timedelta

    return {
        "event_id": eid,
        "type": "consent",
        "source": "benchmark",
        "timestamp": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
        "identifiers": {"email": email},
        "payload": {"purpose": "marketing", "channel": "email", "status": status},
    }


STREAM_ARGS = ["--batch-size", "2000", "--interval", "0.5", "--json"]
#: MB of RSS growth per minute tolerated beyond what the data held explains (allocator
#: noise: fragmentation of a heap that is reused, not grown)
FLAT_TOLERANCE_MB_PER_MIN = 1.0
#: copies of gold.golden_customers' changed rows the golden fold holds at its peak
FOLD_COPIES = 3


def phases(path: Path) -> dict:
    """Where the stream process spent its time (its --json report: seconds per phase,
    summed, and the longest single occurrence of each)."""
    try:
        rep = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"phases": "stream process report missing"}
    total = sum(rep["phases"].values()) or 1.0
    return {
        "batches": rep["batches"],
        "loop_s": rep["seconds"],
        "phase_s": {
            k: round(v, 2) for k, v in sorted(rep["phases"].items(), key=lambda kv: -kv[1])
        },
        "phase_share": {k: round(v / total, 3) for k, v in rep["phases"].items()},
        "phase_max_s": {k: round(v, 3) for k, v in rep["phase_max"].items()},
        "per_event_ms": {
            k: round(1000 * v / max(1, rep["applied"]), 3) for k, v in rep["phases"].items()
        },
    }


def memory(mem: list[tuple[float, float, float, dict]], window: float) -> dict:
    """RSS per sample, the slope over the last ``window`` seconds and whether it is flat:
    RSS may grow only by what the data held in memory explains (the golden fold's copies
    of the golden records it rewrites) plus FLAT_TOLERANCE_MB_PER_MIN."""
    end = mem[-1][0]
    last = [m for m in mem if m[0] >= end - window and m[0] > 0]
    rss_slope = slope([(t, r) for t, r, _, _ in last])
    gold_slope = slope([(t, d["gold_mb"]) for t, _, _, d in last])
    explained = max(0.0, FOLD_COPIES * gold_slope)
    return {
        "rss_samples": [
            {"s": t, "rss_mb": round(r, 1), "load1": round(ld, 2), **d} for t, r, ld, d in mem
        ],
        "window_s": [last[0][0], end] if last else None,
        "rss_slope_mb_per_min": round(rss_slope, 2),
        "gold_mb_slope_per_min": round(gold_slope, 3),
        "explained_mb_per_min": round(explained, 2),
        "tolerance_mb_per_min": FLAT_TOLERANCE_MB_PER_MIN,
        "flat": bool(rss_slope <= explained + FLAT_TOLERANCE_MB_PER_MIN),
        "criterion": "RSS slope over the window <= FOLD_COPIES x slope of gold.golden_customers "
        "MB + tolerance",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=300)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--revocations", type=int, default=1000)
    ap.add_argument("--workspace", type=Path)
    ap.add_argument("--sample-every", type=float, default=60.0)
    ap.add_argument(
        "--flat-window", type=float, default=300.0, help="seconds judged for flat memory"
    )
    ap.add_argument("--profile", type=Path, help="run the stream process under cProfile, to here")
    a = ap.parse_args()
    from c360.api import create_app

    root = a.workspace or Path(tempfile.mkdtemp(prefix="c360-bench-stream-")) / "ws"
    t = time.perf_counter()
    ws = world(root, a.customers)
    print(f"world: {a.customers} customers in {time.perf_counter() - t:.1f} s ({root})")
    ws.config.api.rate_limit_per_second = 1e6  # type: ignore[attr-defined]
    ws.config.api.rate_limit_burst = 1_000_000  # type: ignore[attr-defined]
    ws.governance.principals.create("bench", "privacy", ["privacy"])  # type: ignore[attr-defined]
    token = ws.governance.principals.issue_token("bench")  # type: ignore[attr-defined]
    url, server = serve(create_app(ws))
    r = revocations(ws, url, token, a.revocations)
    print(json.dumps(r))

    from c360.stream import StreamService

    svc = StreamService(ws)  # type: ignore[arg-type]
    svc.run(until_idle=True, install_signals=False)  # apply the revocations before timing
    before = svc.status()["applied"]
    env = {**os.environ, "PYTHONPATH": SRC, "C360_WORKSPACE": str(root)}
    prof = ["-m", "cProfile", "-o", str(a.profile)] if a.profile else []
    loop_out = root.parent / "stream-loop.json"
    started = datetime.now(UTC)
    with loop_out.open("w") as fh:
        loop = subprocess.Popen(
            [sys.executable, *prof, "-m", "c360", "stream", *STREAM_ARGS],
            env=env,
            stdout=fh,
        )
    # the loop is ready when it has recovered, built the decision context and folded
    # (its ``stream.start`` audit entry): a sustained rate is measured from there
    t_ready = time.perf_counter()
    while not ws.audit.query(action="stream.start", since=started):  # type: ignore[attr-defined]
        if loop.poll() is not None or time.perf_counter() - t_ready > 300:
            raise SystemExit("the stream process did not start")
        time.sleep(0.2)
    print(f"stream process ready in {time.perf_counter() - t_ready:.1f} s")
    n = int(a.rate * a.seconds)
    # (seconds since the replay began, RSS MB, load average, data held)
    mem: list[tuple[float, float, float, dict]] = [
        (0.0, rss_mb(loop.pid), os.getloadavg()[0], data_held(ws))
    ]
    done = threading.Event()
    t_start = time.perf_counter()

    def sample() -> None:
        while not done.wait(a.sample_every):
            at = round(time.perf_counter() - t_start)
            mem.append((at, rss_mb(loop.pid), os.getloadavg()[0], data_held(ws)))

    threading.Thread(target=sample, daemon=True).start()
    t0 = time.perf_counter()
    rep = subprocess.run(
        [
            sys.executable,
            "-m",
            "c360",
            "replay",
            "-n",
            str(n),
            "--rate",
            str(a.rate),
            "--to",
            "http",
            "--url",
            url,
            "--token",
            token,
            "--name",
            "bench",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    sent = json.loads(rep.stdout)
    while svc.status()["lag_events"] > 0:
        time.sleep(0.2)
    took = time.perf_counter() - t0
    done.set()
    mem.append(
        (round(time.perf_counter() - t_start), rss_mb(loop.pid), os.getloadavg()[0], data_held(ws))
    )
    loop.terminate()
    loop.wait(60)
    st = svc.status(window_s=time.perf_counter() - t0 + 1)
    server.should_exit = True  # type: ignore[attr-defined]
    print(
        json.dumps(
            {
                "offered_rate": a.rate,
                "sent": sent["sent"],
                "send_rate": sent["rate"],
                "applied": st["applied"] - before,
                "applied_per_s": round((st["applied"] - before) / took, 1),
                "accept_to_applied_p50_ms": st["freshness_p50_ms"],
                "accept_to_applied_p99_ms": st["freshness_p99_ms"],
                "decisions": st["decision_events"],
                "event_to_decision_p50_ms": st["decision_p50_ms"],
                "event_to_decision_p99_ms": st["decision_p99_ms"],
                "busy_retries": sent["busy_retries"],
                "load1_min_max": [
                    round(min(ld for _, _, ld, _ in mem), 2),
                    round(max(ld for _, _, ld, _ in mem), 2),
                ],
            }
        )
    )
    print(json.dumps(phases(loop_out)))
    print(json.dumps(memory(mem, a.flat_window)))
    # capacity: a backlog in the inbox, applied by one `c360 stream --until-idle`
    backlog = int(a.rate * 30)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "c360",
            "replay",
            "-n",
            str(backlog),
            "--rate",
            "1000000",
            "--name",
            "backlog",
            "--seed",
            "9",
        ],
        env=env,
        capture_output=True,
        check=True,
    )
    t1 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "c360", "stream", "--until-idle", "--batch-size", "5000"],
        env=env,
        capture_output=True,
        check=True,
    )
    drained = time.perf_counter() - t1
    print(
        json.dumps(
            {
                "backlog": backlog,
                "drain_s": round(drained, 1),
                "capacity_events_per_s": round(backlog / drained, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
