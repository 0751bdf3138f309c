"""``c360 replay``: send the synthetic world's event stream at a chosen rate.

Targets: ``inbox`` (this workspace's intake, in-process, as the collector would),
``http`` (a running collector, ``POST /v1/events``) or ``nats`` (publish to the
configured JetStream subject). The stream's truth goes to ``truth/stream/<name>.json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c360.errors import C360Error

if TYPE_CHECKING:
    from c360.workspace import Workspace


@dataclass
class ReplayReport:
    sent: int
    events: int
    seconds: float
    rate: float
    refused: int
    busy_retries: int
    truth: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def replay(
    ws: Workspace,
    *,
    events: int,
    rate: float,
    target: str = "inbox",
    seed: int = 7,
    name: str = "replay",
    url: str | None = None,
    token: str | None = None,
    chunk: int | None = None,
    start: datetime | None = None,
) -> ReplayReport:
    """Generate ``events`` events from the world's truth and send them at ``rate`` per second."""
    from c360.synth.stream import stream_events

    if not (ws.truth_dir / "people.csv").exists():
        raise C360Error(
            "stream.no_world",
            f"{ws.truth_dir} holds no synthetic world; run `c360 synth -w {ws.root}` first",
        )
    if target not in ("inbox", "http", "nats"):
        raise C360Error("stream.bad_target", f"unknown target {target!r}; inbox, http or nats")
    evs, truth = stream_events(ws.truth_dir, events, seed=seed, start=start, prefix=name)
    truth_path = ws.truth_dir / "stream" / f"{name}.json"
    truth.write(truth_path)
    size = chunk or max(1, min(500, int(rate / 10) or 1))
    send = _sender(ws, target, url, token)
    t0 = time.perf_counter()
    refused = busy = 0
    for i in range(0, len(evs), size):
        part = evs[i : i + size]
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        while True:
            try:
                refused += send(part)
                break
            except _Busy as exc:
                busy += 1
                time.sleep(exc.wait)
    took = time.perf_counter() - t0
    return ReplayReport(
        len(evs),
        truth.events,
        round(took, 3),
        round(len(evs) / took, 1),
        refused,
        busy,
        str(truth_path),
    )


class _Busy(Exception):
    def __init__(self, wait: float) -> None:
        self.wait = wait


def _sender(ws: Workspace, target: str, url: str | None, token: str | None) -> Any:
    if target == "inbox":
        from c360.stream.intake import Intake

        intake = Intake(ws)

        def to_inbox(part: list[dict[str, Any]]) -> int:
            try:
                return intake.accept(part, intake="replay").rejected
            except C360Error as exc:
                if exc.code == "stream.busy":
                    raise _Busy(float(exc.details.get("retry_after_s", 1.0))) from exc
                raise

        return to_inbox
    if target == "http":
        import httpx

        if not url or not token:
            raise C360Error("stream.bad_target", "http replay needs --url and --token")
        client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

        def to_http(part: list[dict[str, Any]]) -> int:
            r = client.post("/v1/events", json={"events": part})
            if r.status_code == 429:
                raise _Busy(float(r.headers.get("Retry-After", "1")))
            if r.status_code not in (202, 207):
                raise C360Error("stream.replay_failed", f"collector answered {r.status_code}")
            return int(r.json()["rejected"])

        return to_http
    from c360.stream.jetstream import publish

    nats = ws.config.stream.nats
    if nats is None:
        raise C360Error("stream.bad_target", "nats replay needs a stream.nats block in c360.yaml")

    def to_nats(part: list[dict[str, Any]]) -> int:
        publish(nats.url, nats.subject, [json.dumps(e).encode() for e in part])
        return 0

    return to_nats


def read_truth(path: str | Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data
