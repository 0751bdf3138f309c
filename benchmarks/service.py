"""Service benchmark: API latency under a steady open-loop load from a separate process.

    .venv/bin/python benchmarks/service.py                     # 3,000 customers, 100 req/s for 60 s
    .venv/bin/python benchmarks/service.py --rate 50 --seconds 20 --customers 1000
    .venv/bin/python benchmarks/service.py --store-url postgresql+psycopg://127.0.0.1/c360_bench

Builds a synthetic world through the real pipeline (synth → c360 run), issues an agent
token and a marketing analyst's, starts `c360 serve --workers 2` (uvicorn; ``--workers``
to change) in its own processes on 127.0.0.1, and drives it from another process that
sends requests on a fixed schedule (open loop: a slow answer does not slow the sender
down, so queueing shows up in the latencies). Three phases, each at the given rate for
the given time: ``profile`` alternates a profile by golden id and a lookup by email;
``nba`` asks for the next-best-action of one customer after another (``POST
/v1/decisions/next-best-action``: the agent runs for that customer and the decision is
logged); ``marketing`` reads the profiles of people the consent gate allows as a
marketing analyst for the marketing purpose (``X-C360-Purpose: marketing``: every read
passes the gate). Prints p50/p95/p99 per endpoint, the achieved rate and the error
rate, the server's CPU time per request and the load average (the machine may be
shared). Targets (issue 12): profile lookup p99 <= 50 ms and next-best-action p99 <= 100 ms
at 100 req/s for 60 s with no errors.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Target = tuple[str, str, str, dict | None]  # kind, method, path, JSON body


def _load(url: str, auth: dict, targets: list[Target], rate: float, seconds: float, q):
    """The load generator (its own process): open loop at ``rate`` req/s.

    A scheduler hands each request to a pool of worker threads at its due time; latency is
    measured from the due time, so a server that falls behind shows its queueing delay
    (a request waiting for a free worker counts). Each worker keeps one keep-alive
    connection (stdlib ``http.client``); a request over 10 s is a timeout (status 0).
    """
    import http.client
    import json as _json
    import queue
    import threading
    from urllib.parse import urlsplit

    host = urlsplit(url)
    hostname = host.hostname or "127.0.0.1"
    jobs: queue.Queue = queue.Queue()
    results: list[tuple[str, float, int]] = []
    lock = threading.Lock()
    headers = {**auth, "Content-Type": "application/json"}

    def worker() -> None:
        conn = http.client.HTTPConnection(hostname, host.port, timeout=10)
        while True:
            job = jobs.get()
            if job is None:
                return
            due, (kind, method, path, body) = job
            if time.perf_counter() - due > 10:  # waited too long for a worker: a timeout
                with lock:
                    results.append((kind, time.perf_counter() - due, 0))
                continue
            status = 0
            for _attempt in range(2):  # the server closes idle keep-alive connections: redial
                try:
                    conn.request(method, path, _json.dumps(body) if body else None, headers)
                    resp = conn.getresponse()
                    resp.read()
                    status = resp.status
                    break
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = http.client.HTTPConnection(hostname, host.port, timeout=10)
                    if isinstance(exc, TimeoutError):
                        break  # a real timeout is not retried
            with lock:
                results.append((kind, time.perf_counter() - due, status))

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(64)]
    for w in workers:
        w.start()
    start = time.perf_counter()
    n = int(rate * seconds)
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        jobs.put((due, targets[i % len(targets)]))
    for _ in workers:
        jobs.put(None)
    for w in workers:
        w.join()
    q.put({"results": results, "elapsed": time.perf_counter() - start})


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of the server and its worker processes."""
    import psutil

    parent = psutil.Process(pid)
    total = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--customers", type=int, default=3000)
    ap.add_argument("--rate", type=float, default=100.0, help="requests per second")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--dir", type=Path, default=None, help="workspace folder (default: temp)")
    ap.add_argument(
        "--workers", default="2", help="uvicorn worker processes (`c360 serve --workers`)"
    )
    ap.add_argument(
        "--store-url",
        default=None,
        help="operational store (C360_STORE_URL), e.g. postgresql+psycopg://127.0.0.1/db;"
        " default: the workspace's SQLite file",
    )
    ap.add_argument(
        "--phases",
        default="profile,nba,marketing",
        help="comma-separated: profile, nba, marketing (default all three)",
    )
    args = ap.parse_args()
    if args.store_url:  # the workspace and the server it starts both read it
        os.environ["C360_STORE_URL"] = args.store_url

    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    root = args.dir or Path(tempfile.mkdtemp(prefix="c360-service-bench-"))
    ws_dir = root / "ws"
    t0 = time.perf_counter()
    if not (ws_dir / "c360.yaml").exists():
        ws = Workspace.init(ws_dir, template="bank-demo")
        generate_world(
            ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=args.customers, seed=7)
        )
        ws.run()
    else:
        ws = Workspace.open(ws_dir)
    print(f"world ready in {time.perf_counter() - t0:.1f} s ({args.customers} customers)")
    ws.governance.principals.create("bench-agent", "agent", ["service"])
    agent = {"Authorization": f"Bearer {ws.governance.principals.issue_token('bench-agent')}"}
    analyst = ws.governance.principals.create("bench-marketing", "marketing", ["marketing"])
    marketing = {
        "Authorization": f"Bearer {ws.governance.principals.issue_token('bench-marketing')}",
        "X-C360-Purpose": "marketing",
    }
    golden = ws.lakehouse.read("gold", "golden_customers", columns=["golden_id", "email"])
    rows = [r for r in golden.to_pylist() if r["email"]][:500]
    # the people the consent gate allows marketing to (the others answer 404 to the analyst)
    allowed = ws.governance.read(analyst, "gold", "golden_customers", "marketing", ["golden_id"])
    ws.close()
    phases: dict[str, tuple[dict, list[Target]]] = {
        "profile": (agent, []),
        "nba": (agent, []),
        "marketing": (marketing, []),
    }
    for r in rows:
        phases["profile"][1].append(("profile", "GET", f"/v1/profiles/{r['golden_id']}", None))
        phases["profile"][1].append(("lookup", "GET", f"/v1/profiles?email={r['email']}", None))
        phases["nba"][1].append(
            ("nba", "POST", "/v1/decisions/next-best-action", {"golden_id": r["golden_id"]})
        )
    for gid in allowed.column("golden_id").to_pylist()[:500]:
        phases["marketing"][1].append(("profile_marketing", "GET", f"/v1/profiles/{gid}", None))
    wanted = [p.strip() for p in args.phases.split(",") if p.strip()]

    port = _free_port()
    env = {
        **os.environ,
        "C360_API__RATE_LIMIT_PER_SECOND": str(args.rate * 10),
        "C360_API__RATE_LIMIT_BURST": str(int(args.rate * 10)),
    }
    serve_cmd = [sys.executable, "-m", "c360", "serve", "-w", str(ws_dir), "--port", str(port)]
    server = subprocess.Popen(
        [*serve_cmd, "--workers", args.workers],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"server did not start (exit {server.poll()})")
            time.sleep(0.2)
        outs = {}
        for phase in wanted:
            auth, targets = phases[phase]
            # the previous phase's backlog must be gone: healthz runs in the same thread pool
            quiet = time.monotonic() + 600
            while time.monotonic() < quiet:
                t = time.perf_counter()
                httpx.get(f"{url}/healthz", timeout=60)
                if time.perf_counter() - t < 0.1:
                    break
                time.sleep(1)
            # warm-up, then the measured run in a separate process
            for _kind, method, path, body in targets[:20]:
                httpx.request(
                    method,
                    url + path,
                    json=body,
                    headers=auth,
                    timeout=30,
                )
            ctx = mp.get_context("spawn")  # a fresh interpreter: no locks inherited
            q = ctx.Queue()
            p = ctx.Process(target=_load, args=(url, auth, targets, args.rate, args.seconds, q))
            load0, cpu0 = os.getloadavg()[0], _cpu_s(server.pid)
            p.start()
            outs[phase] = q.get()
            p.join()
            outs[phase]["server_cpu_s"] = _cpu_s(server.pid) - cpu0
            outs[phase]["load"] = (load0, os.getloadavg()[0])
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    report: dict = {
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "store": (args.store_url or "sqlite").split(":", 1)[0],
        "rate": args.rate,
        "seconds": args.seconds,
    }
    for phase, out in outs.items():
        results = out["results"]
        ok = {200, 201}
        errors = sum(1 for _, _, st in results if st not in ok)
        rep: dict = {
            "requests": len(results),
            "achieved_rate": round(len(results) / out["elapsed"], 1),
            "error_rate": round(errors / max(1, len(results)), 4),
            # the server's own CPU (user + system, all threads) per request of the phase:
            # what a request costs whatever else the machine runs
            "server_cpu_ms_per_request": round(
                out["server_cpu_s"] * 1000 / max(1, len(results)), 2
            ),
            "load_average_1m": {"start": out["load"][0], "end": out["load"][1]},
            "status_counts": {
                str(code): sum(1 for _, _, st in results if st == code)
                for code in sorted({st for _, _, st in results})
            },
        }
        for kind in sorted({k for k, _, _ in results}):
            lat = [t for k, t, st in results if k == kind and st in ok]
            if lat:
                rep[kind] = {
                    "p50_ms": round(_pct(lat, 50), 1),
                    "p95_ms": round(_pct(lat, 95), 1),
                    "p99_ms": round(_pct(lat, 99), 1),
                }
        report[phase] = rep
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
