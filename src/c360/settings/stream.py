"""``stream:`` in c360.yaml: the event collector, the NATS consumer and the micro-batch loop."""

from __future__ import annotations

from pydantic import Field

from c360.settings.base import Block


class NatsSettings(Block):
    """A NATS JetStream subject the stream loop consumes (durable pull consumer)."""

    url: str = Field("nats://127.0.0.1:4222", description="NATS server URL.")
    stream: str = Field("C360_EVENTS", description="JetStream stream holding the events.")
    subject: str = Field("c360.events", description="Subject the events are published on.")
    durable: str = Field("c360-stream", description="Durable consumer name (its acks persist).")
    ack_wait_seconds: float = Field(
        30.0, gt=0, description="Unacknowledged messages are redelivered after this long."
    )
    create: bool = Field(
        True, description="Create the stream (file storage) if the server does not have it."
    )


class StreamSettings(Block):
    """Streaming intake: the HTTP collector, NATS JetStream and the `c360 stream` loop."""

    interval_seconds: float = Field(
        1.0, gt=0, description="Longest wait between micro-batches when nothing is pending."
    )
    batch_size: int = Field(
        2000, ge=1, le=100_000, description="Most events one micro-batch applies."
    )
    max_pending: int = Field(
        200_000,
        ge=1,
        description="Accepted events not yet applied beyond which the collector answers 429 "
        "with Retry-After (back-pressure; the intake buffer is the store's inbox).",
    )
    max_event_bytes: int = Field(
        65_536, ge=256, description="Largest single event (JSON bytes); larger ones get 413."
    )
    max_events_per_request: int = Field(
        1000, ge=1, description="Most events one collector request may carry."
    )
    max_clock_skew_seconds: float = Field(
        300.0, ge=0, description="Events timestamped further than this in the future are refused."
    )
    collector_roles: list[str] = Field(
        default_factory=lambda: ["admin", "privacy"],
        description="Roles whose tokens may post events to /v1/events.",
    )
    gap_wait_seconds: float = Field(
        5.0,
        ge=0,
        description="How long the loop waits for an inbox position still being committed "
        "(a concurrent writer) before passing over it.",
    )
    landing_poll_seconds: float | None = Field(
        None,
        ge=1,
        description="Also load new landing files (the batch ingest) this often from the "
        "stream loop; none: off (c360 ingest / c360 run load them).",
    )
    decisions: bool = Field(
        True,
        description="Fire the stream triggers (decisioning.triggers_file, stream_triggers) for "
        "the customers a micro-batch touches and take their next-best-action decisions.",
    )
    trigger_window_seconds: int = Field(
        86_400,
        ge=60,
        description="Length of the event window (of event time, aligned to the epoch) the "
        "stream triggers count in; each trigger fires at most once per customer and window.",
    )
    golden_every_seconds: float = Field(
        60.0,
        gt=0,
        description="How often, at most, the loop writes its identity decisions into "
        "gold.golden_customers while events keep coming (it also writes them when it goes "
        "idle and when it stops).",
    )
    lake_every_seconds: float = Field(
        2.0,
        gt=0,
        description="How long applied micro-batches wait, at most, before their events-zone "
        "rows are written to the lakehouse in one Delta commit (ADR 0064); they are written "
        "sooner when lake_max_events wait or the loop goes idle or stops.",
    )
    lake_max_events: int = Field(
        20_000,
        ge=1,
        description="Write the waiting micro-batches' events-zone rows once this many events "
        "wait, whatever their age.",
    )
    nats: NatsSettings | None = Field(
        None, description="Consume this NATS JetStream subject too (none: HTTP and replay only)."
    )
