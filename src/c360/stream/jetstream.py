"""The NATS JetStream intake: a durable pull consumer, acked after the inbox commit.

Each fetched message is one event (JSON). Messages pass through
:meth:`c360.stream.intake.Intake.accept` like HTTP events (a refused one is
quarantined with its reason, then acknowledged: a poison message is not
redelivered forever); the whole fetch is committed to the store's inbox in one
transaction and only then acknowledged. A process killed before the ack gets the
messages redelivered after ``ack_wait_seconds``; the loop's deduplication by
event id makes the redelivery harmless. ``nats-py`` is the ``stream`` extra.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from c360.errors import C360Error, MissingExtraError
from c360.settings.stream import NatsSettings
from c360.stream.events import Refused
from c360.stream.intake import RAW_KEEP, Intake, Rejected

if TYPE_CHECKING:
    from c360.workspace import Workspace


def _nats() -> Any:
    try:
        import nats
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise MissingExtraError("nats-py", "stream") from exc
    return nats


class JetStreamIntake:
    """A connected durable consumer on one subject (sync façade over nats-py)."""

    def __init__(self, ws: Workspace, settings: NatsSettings, intake: Intake) -> None:
        self.ws, self.settings, self.intake = ws, settings, intake
        self.loop = asyncio.new_event_loop()
        self.nc: Any = None
        self.sub: Any = None
        self.received = 0

    def connect(self) -> None:
        self.loop.run_until_complete(self._connect())

    async def _connect(self) -> None:
        nats = _nats()
        from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
        from nats.js.errors import NotFoundError

        s = self.settings
        try:
            self.nc = await nats.connect(s.url, connect_timeout=5, max_reconnect_attempts=3)
        except Exception as exc:  # nats raises its own and OSError subclasses
            raise C360Error(
                "stream.nats_unreachable", f"cannot connect to NATS at {s.url}: {exc}"
            ) from exc
        js = self.nc.jetstream()
        try:
            await js.stream_info(s.stream)
        except NotFoundError:
            if not s.create:
                raise C360Error(
                    "stream.nats_no_stream", f"JetStream stream {s.stream!r} does not exist"
                ) from None
            await js.add_stream(StreamConfig(name=s.stream, subjects=[s.subject]))
        self.sub = await js.pull_subscribe(
            s.subject,
            durable=s.durable,
            stream=s.stream,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=s.ack_wait_seconds),
        )

    def poll(self, max_messages: int, timeout: float) -> int:
        """Fetch up to ``max_messages``, record them in the inbox, then ack; returns how many."""
        return int(self.loop.run_until_complete(self._poll(max_messages, timeout)))

    async def _poll(self, max_messages: int, timeout: float) -> int:
        from nats.errors import TimeoutError as NatsTimeout

        try:
            msgs = await self.sub.fetch(max_messages, timeout=max(timeout, 0.05))
        except (TimeoutError, NatsTimeout):
            return 0
        items: list[Any] = []
        for m in msgs:
            try:
                items.append(json.loads(m.data))
            except (ValueError, UnicodeDecodeError) as exc:
                items.append(
                    Rejected(
                        Refused("stream.malformed_json", f"message is not valid JSON: {exc}", 400),
                        m.data[:RAW_KEEP].decode("utf-8", "replace"),
                    )
                )
        # committed to the inbox (and the consent ledger) before anything is acknowledged
        self.intake.accept(items, intake="nats", check_room=False)
        for m in msgs:
            await m.ack()
        self.received += len(msgs)
        return len(msgs)

    async def _close(self) -> None:
        await self.nc.flush()
        await self.nc.close()

    def close(self) -> None:
        if self.nc is not None:
            # every fetched message is acked already; flush the acks and close (a drain
            # would wait for the pull subscription's pending request to time out)
            self.loop.run_until_complete(self._close())
            self.nc = None
        self.loop.close()


def publish(url: str, subject: str, bodies: list[bytes], *, stream: str | None = None) -> int:
    """Publish events to a subject (waiting for JetStream's acknowledgement of each)."""

    async def go() -> int:
        nats = _nats()
        nc = await nats.connect(url, connect_timeout=5)
        try:
            js = nc.jetstream()
            for i in range(0, len(bodies), 500):
                await asyncio.gather(
                    *(js.publish(subject, b, stream=stream) for b in bodies[i : i + 500])
                )
        finally:
            await nc.drain()
        return len(bodies)

    return asyncio.run(go())
