"""The NATS JetStream intake against the real server at 127.0.0.1:4222 (a unique stream
and subject per run): acked only after the inbox commit, redelivered when not."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import pytest

from c360.settings.stream import NatsSettings
from c360.stream import StreamService
from c360.stream.intake import Intake
from c360.stream.jetstream import JetStreamIntake, publish
from c360.synth.stream import checksum, stream_events
from c360.workspace import Workspace

pytestmark = [pytest.mark.nats, pytest.mark.slow]


@pytest.fixture
def nats_cfg() -> Iterator[NatsSettings]:
    tag = uuid.uuid4().hex[:10]
    cfg = NatsSettings(
        stream=f"C360_TEST_{tag}",
        subject=f"c360test.{tag}.events",
        durable=f"c360-test-{tag}",
        ack_wait_seconds=1.0,
    )
    yield cfg

    async def drop() -> None:
        import nats

        nc = await nats.connect(cfg.url)
        try:
            await nc.jetstream().delete_stream(cfg.stream)
        finally:
            await nc.close()

    asyncio.run(drop())


def test_events_from_jetstream_are_applied_once_even_when_redelivered(
    world: Workspace, nats_cfg: NatsSettings
) -> None:
    events, truth = stream_events(world.truth_dir, 300, seed=11, prefix="nats")
    # the first consumer takes a fetch, commits it to the inbox but dies before acking
    dead = JetStreamIntake(world, nats_cfg, Intake(world))
    dead.connect()
    publish(nats_cfg.url, nats_cfg.subject, [json.dumps(e).encode() for e in events])
    publish(nats_cfg.url, nats_cfg.subject, [b"{not json"])
    msgs = dead.loop.run_until_complete(dead.sub.fetch(50, timeout=5))
    dead.intake.accept([json.loads(m.data) for m in msgs], intake="nats", check_room=False)
    dead.loop.run_until_complete(dead.nc.close())  # no ack: JetStream redelivers them

    report = StreamService(world).run(nats=nats_cfg, until_idle=True, interval=0.5, batch_size=100)
    assert report.received_nats >= len(events) + 1
    s = StreamService(world).status()
    assert s["applied"] == truth.events and s["quarantined"] == 1
    assert s["duplicates"] >= 50  # the redelivered fetch, and the stream's own re-sends
    silver = world.lakehouse.read("silver", "stream_events", ["event_id", "intake"])
    assert checksum(silver["event_id"].to_pylist()) == truth.checksum
    assert set(silver["intake"].to_pylist()) == {"nats"}
    q = world.lakehouse.read("quarantine", "stream_events").to_pylist()
    assert [r["code"] for r in q] == ["stream.malformed_json"]
    # everything was acknowledged: a new run finds nothing to take
    again = StreamService(world).run(nats=nats_cfg, until_idle=True, interval=0.5)
    assert again.received_nats == 0 and again.applied == 0
