"""`c360 serve --workers 2`: two real uvicorn worker processes on 127.0.0.1 over the package
world. Requests are spread over both workers (each connection is traced to the worker
process that holds it); the audit chain stays whole, one rate-limit budget and one set of
console sessions serve both workers."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psutil
import pytest
from sqlalchemy import inspect

from .conftest import _free_port
from .test_api import _some_golden

BURST = 100  # per token; the rate (0.05/s) adds at most one request during the test


@dataclass
class Pool:
    port: int
    workers: list[int]  # pids of the worker processes

    def owner(self, conn: http.client.HTTPConnection) -> int:
        """The worker process holding this client connection (its server-side socket)."""
        assert conn.sock is not None
        local = conn.sock.getsockname()[1]
        for pid in self.workers:
            for c in psutil.Process(pid).net_connections(kind="tcp"):
                if c.raddr and c.raddr.port == local and c.laddr.port == self.port:
                    return pid
        raise AssertionError(f"no worker holds the connection from port {local}")

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)


def _request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> tuple[int, dict[str, str], str]:
    conn.request(method, path, body, headers or {})
    r = conn.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()


def _start(root: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Pool]:
    """`c360 serve --workers 2` on a free port, once both workers answer."""
    port = _free_port()
    cmd = [sys.executable, "-m", "c360", "serve", "-w", str(root), "--port", str(port)]
    server = subprocess.Popen(
        [*cmd, "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while len(workers) < 2:
            if server.poll() is not None or time.monotonic() > deadline:
                err = server.stderr.read().decode() if server.stderr else ""
                raise RuntimeError(f"c360 serve --workers 2 did not start: {err[-2000:]}")
            time.sleep(0.2)
            workers = [
                p.pid
                for p in psutil.Process(server.pid).children()
                if any(c.status == "LISTEN" and c.laddr.port == port for c in p.net_connections())
            ]
        while True:  # both listen; wait until the app answers
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("no answer from the workers")
            time.sleep(0.2)
    except BaseException:
        _stop(server)
        raise
    return server, Pool(port, workers)


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@pytest.fixture(scope="module")
def pool(world) -> Iterator[Pool]:
    env = {
        **os.environ,
        "C360_API__RATE_LIMIT_PER_SECOND": "0.05",
        "C360_API__RATE_LIMIT_BURST": str(BURST),
    }
    server, started = _start(world.root, env)
    try:
        yield started
    finally:
        _stop(server)


def _connections_on_both(
    pool: Pool, probe: str, n: int = 12
) -> dict[int, list[http.client.HTTPConnection]]:
    """Open connections until each worker holds some (the kernel hands accepts to either).

    The probes carry their own token: every request counts against its caller's limit."""
    by_worker: dict[int, list[http.client.HTTPConnection]] = {pid: [] for pid in pool.workers}
    for _ in range(60):
        conn = pool.connect()
        status, _, _ = _request(conn, "GET", "/healthz", {"Authorization": f"Bearer {probe}"})
        assert status == 200
        by_worker[pool.owner(conn)].append(conn)
        if all(len(v) >= n // 2 for v in by_worker.values()):
            return by_worker
    raise AssertionError(f"connections not spread: { {k: len(v) for k, v in by_worker.items()} }")


def test_the_two_workers_keep_one_audit_chain(world, pool):
    tokens = []
    for i in range(4):
        world.governance.principals.create(f"mw-agent-{i}", "agent", ["service"])
        tokens.append(world.governance.principals.issue_token(f"mw-agent-{i}"))
    g = _some_golden(world)
    paths = [f"/v1/profiles/{g['golden_id']}", f"/v1/profiles?{urlencode({'email': g['email']})}"]
    world.governance.principals.create("mw-spread", "agent", ["service"])
    probe = world.governance.principals.issue_token("mw-spread")
    before = len(world.audit.query(action="api.request", limit=1_000_000))
    # six connections on each worker (the kernel may have handed one many more); the probe's
    # own token pays for the spreading, so the hammering tokens stay well inside their burst
    spread = _connections_on_both(pool, probe)
    conns = [c for cs in spread.values() for c in cs[:6]]

    def hammer(i: int) -> list[tuple[int, int]]:
        conn = conns[i]
        headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
        out = []
        for k in range(8):
            status, _, _ = _request(conn, "GET", paths[k % 2], headers)
            out.append((pool.owner(conn), status))
        return out

    with ThreadPoolExecutor(len(conns)) as ex:
        results = [r for rs in ex.map(hammer, range(len(conns))) for r in rs]
    assert {s for _, s in results} == {200}
    assert {pid for pid, _ in results} == set(pool.workers)  # both workers served requests
    entries = world.audit.query(action="api.request", limit=1_000_000)
    assert len(entries) == before + len(results)  # /healthz is not audited
    report = world.audit.verify()
    assert report.ok, report.problems
    # and the CLI's own check agrees, from another process
    cli = subprocess.run(
        [sys.executable, "-m", "c360", "audit", "verify", "-w", str(world.root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr


def test_one_rate_limit_budget_across_workers(world, pool):
    world.governance.principals.create("mw-limited", "agent", ["service"])
    token = world.governance.principals.issue_token("mw-limited")
    headers = {"Authorization": f"Bearer {token}"}
    world.governance.principals.create("mw-probe", "agent", ["service"])
    by_worker = _connections_on_both(pool, world.governance.principals.issue_token("mw-probe"), 2)
    a, b = (conns[0] for conns in by_worker.values())
    seen: list[tuple[int, int, dict[str, str]]] = []
    for i in range(BURST + 20):  # alternate the two workers' connections
        conn = (a, b)[i % 2]
        status, hdrs, body = _request(conn, "GET", "/v1/profiles/not-a-golden-id", headers)
        seen.append((pool.owner(conn), status, hdrs))
        if status == 429:
            assert json.loads(body)["code"] == "api.rate_limited"
            assert int(hdrs["retry-after"]) >= 1
    allowed = [s for _, s, _ in seen if s != 429]
    # one worker alone would allow BURST; each worker on its own budget, 2 x BURST
    assert BURST <= len(allowed) <= BURST + 1
    limited_on = {pid for pid, s, _ in seen if s == 429}
    assert limited_on == set(pool.workers)


def test_a_session_made_on_one_worker_works_on_the_other(world, pool):
    world.governance.principals.create("mw-privacy", "privacy", ["privacy", "dsr", "audit"])
    token = world.governance.principals.issue_token("mw-privacy")
    by_worker = _connections_on_both(pool, token, 2)
    a, b = (conns[0] for conns in by_worker.values())
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, hdrs, _ = _request(a, "POST", "/login", form, urlencode({"token": token}))
    assert status == 303, hdrs
    cookie = hdrs["set-cookie"].split(";", 1)[0]
    status, _, page = _request(b, "GET", hdrs["location"], {"Cookie": cookie})
    assert status == 200 and pool.owner(a) != pool.owner(b)
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m, page[:300]
    # the CSRF token issued with the session on worker A is accepted by worker B's form
    status, hdrs, _ = _request(
        b, "POST", "/logout", {**form, "Cookie": cookie}, urlencode({"csrf": m.group(1)})
    )
    assert status == 303
    # logged out on B: A no longer knows the session either
    status, hdrs, _ = _request(a, "GET", "/privacy", {"Cookie": cookie})
    assert status == 303 and hdrs["location"] == "/login"


def test_session_and_limit_tables_are_migrated_as_declared(world):
    from c360.governance.tables import console_sessions, rate_limits
    from tests.decisioning.test_migration import _declared, _migrated

    engine = world.store.engine
    insp = inspect(engine)
    for table in (console_sessions, rate_limits):
        assert _migrated(insp, table.name, engine.dialect) == _declared(table, engine.dialect)
    migration = Path(__file__).parents[2] / (
        "src/c360/store/migrations/versions/0220_sessions_limits.py"
    )
    assert "import c360" not in migration.read_text() and "from c360" not in migration.read_text()


def test_workers_end_when_the_server_is_killed(world):
    """kill -9 of `c360 serve` leaves no worker holding the port or the workspace."""
    server, started = _start(world.root, dict(os.environ))
    procs = [psutil.Process(pid) for pid in started.workers]
    conn = started.connect()  # an idle keep-alive connection must not keep a worker alive
    assert _request(conn, "GET", "/healthz")[0] == 200
    server.kill()
    server.wait()
    _, alive = psutil.wait_procs(procs, timeout=30)
    for p in alive:  # never leave them behind, whatever the assertion says
        p.kill()
    assert not alive, f"workers outlived the server: {[p.pid for p in alive]}"
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", started.port, timeout=5).request("GET", "/healthz")
