"""A real pipeline world served by a real uvicorn on 127.0.0.1, and tokens for each role."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

ROLES = {
    "agent": ("agent", ["service"]),
    "marketing": ("marketing", ["marketing", "analytics"]),
    "privacy": ("privacy", ["privacy", "dsr", "audit"]),
    "governance": ("governance", ["governance", "audit"]),
    "steward": ("steward", ["stewardship"]),
}


@dataclass
class Served:
    ws: object
    url: str
    tokens: dict[str, str]

    def client(self, role: str | None, purpose: str | None = None) -> httpx.Client:
        headers = {}
        if role:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        if purpose:
            headers["X-C360-Purpose"] = purpose
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app) -> Iterator[str]:
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="package")
def world(tmp_path_factory):
    from c360.synth import SynthOptions, generate_world
    from c360.workspace import Workspace

    root = tmp_path_factory.mktemp("api-world")
    ws = Workspace.init(root / "ws", template="bank-demo")
    generate_world(ws.landing_dir, ws.truth_dir, None, SynthOptions(customers=300, seed=21, days=2))
    assert ws.run().status != "failed"
    yield ws
    ws.close()


@pytest.fixture(scope="package")
def served(world) -> Iterator[Served]:
    from c360.api import create_app

    tokens = {}
    for name, (role, purposes) in ROLES.items():
        world.governance.principals.create(f"api-{name}", role, purposes)
        tokens[name] = world.governance.principals.issue_token(f"api-{name}")
    yield from (Served(world, url, tokens) for url in serve(create_app(world)))
