"""Draining the outbox: gate at send time, send, record; retries with backoff and jitter.

For each due message (``pending`` and ``next_attempt_at_us <= now``, oldest first):

1. the consent gate's point form is asked again *right before the send* (activation
   checks included, the decision recorded in ``gate_decisions``). A deny that depends
   only on the send time (quiet hours) defers the message; any other deny *blocks* it:
   nothing is sent, the attempt is logged with the gate's reasons;
2. the channel adapter sends with the idempotency key;
3. the outcome is written: ``delivered`` (with the receipt, and a contact-log entry for
   caps), or a retry at ``now + min(max, base·2^(n-1))·(1 - jitter·u)``, or ``dead``
   after ``max_attempts`` or a permanent failure, with the reason.

The send happens before its outcome is written, so a process killed in between leaves
the message ``pending``: the next drain sends it again with the same key and the
receiver deduplicates it — exactly once at the receiver, none lost.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from c360.activation import adapters
from c360.activation.outbox import BLOCKED, DEAD, DELIVERED, PENDING
from c360.activation.tables import deliveries, outbox
from c360.settings.decisioning import ActivationSettings

if TYPE_CHECKING:
    from c360.workspace import Workspace

SEND_TIME_REASONS = {"contact.quiet_hours"}
DEFER_US = 3_600_000_000


def now_us() -> int:
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def backoff_s(attempt: int, s: ActivationSettings, rng: random.Random) -> float:
    base = min(s.backoff_max_s, s.backoff_base_s * 2 ** (attempt - 1))
    return base * (1 - s.jitter * rng.random())


@dataclass
class DrainReport:
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    blocked: int = 0
    deferred: int = 0
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Drain:
    def __init__(
        self, ws: Workspace, settings: ActivationSettings, resolve: adapters.Resolver
    ) -> None:
        self.ws = ws
        self.s = settings
        self.resolve = resolve
        self._adapters: dict[str, adapters.Adapter] = {}

    def adapter(self, channel: str) -> adapters.Adapter:
        if channel not in self._adapters:
            cs = self.s.channels.get(channel)
            if cs is None:
                raise adapters.Permanent(f"no adapter configured for channel {channel!r}")
            self._adapters[channel] = adapters.build(channel, cs, self.ws.root, self.resolve)
        return self._adapters[channel]

    def due(self, limit: int) -> list[dict[str, Any]]:
        with self.ws.store.engine.connect() as conn:
            q = (
                select(outbox)
                .where(outbox.c.status == PENDING, outbox.c.next_attempt_at_us <= now_us())
                .order_by(outbox.c.created_at_us, outbox.c.message_id)
                .limit(limit)
            )
            return [dict(r) for r in conn.execute(q).mappings()]

    def next_due_us(self) -> int | None:
        with self.ws.store.engine.connect() as conn:
            q = select(outbox.c.next_attempt_at_us).where(outbox.c.status == PENDING)
            rows = conn.execute(q.order_by(outbox.c.next_attempt_at_us).limit(1)).first()
        return rows[0] if rows else None

    def run(
        self,
        *,
        wait: bool = True,
        max_seconds: float = 300.0,
        batch: int = 200,
        progress: Callable[[int, int], None] | None = None,
        stop_after: int | None = None,
    ) -> DrainReport:
        """Drain until nothing is due (and, with ``wait``, nothing pending) or ``max_seconds``."""
        rep = DrainReport()
        t0 = time.perf_counter()
        done = 0
        while time.perf_counter() - t0 < max_seconds:
            msgs = self.due(batch)
            if not msgs:
                nxt = self.next_due_us() if wait else None
                if nxt is None:
                    break
                time.sleep(min(max(0.0, (nxt - now_us()) / 1e6), 1.0) + 0.001)
                continue
            for m in msgs:
                self.one(m, rep)
                done += 1
                if progress is not None:
                    progress(done, done + len(msgs))
                if stop_after is not None and done >= stop_after:
                    rep.seconds = round(time.perf_counter() - t0, 3)
                    return rep
        rep.seconds = round(time.perf_counter() - t0, 3)
        return rep

    def one(self, m: dict[str, Any], rep: DrainReport) -> None:
        attempt = m["attempts"] + 1
        at = datetime.now(UTC)
        d = self.ws.consent.check(
            m["golden_id"], m["purpose"], m["channel"], at, activation=True, record=True
        )
        rec: dict[str, Any] = {
            "attempt_id": uuid.uuid4().hex,
            "message_id": m["message_id"],
            "idempotency_key": m["idempotency_key"],
            "golden_id": m["golden_id"],
            "channel": m["channel"],
            "adapter": (
                self.s.channels.get(m["channel"]) or adapters.ChannelSettings(adapter="file")
            ).adapter,
            "attempt": attempt,
            "gate_decision_id": d.decision_id,
            "gate_allowed": d.allowed,
            "error": None,
            "receipt": None,
        }
        if not d.allowed:
            if set(d.reasons) <= SEND_TIME_REASONS:
                rep.deferred += 1
                self._finish(
                    m,
                    rec,
                    "deferred",
                    PENDING,
                    attempt - 1,
                    now_us() + DEFER_US,
                    ",".join(d.reasons),
                )
            else:
                rep.blocked += 1
                self._finish(
                    m, rec, "blocked", BLOCKED, attempt, None, "gate: " + ",".join(d.reasons)
                )
            return
        try:
            receipt = self.adapter(m["channel"]).send(m)
        except adapters.Permanent as exc:
            rep.dead += 1
            rep.errors[str(exc)] = rep.errors.get(str(exc), 0) + 1
            self._finish(m, rec, "dead", DEAD, attempt, None, f"permanent: {exc}")
            return
        except adapters.Retryable as exc:
            rep.errors[str(exc)] = rep.errors.get(str(exc), 0) + 1
            if attempt >= self.s.max_attempts:
                rep.dead += 1
                self._finish(
                    m, rec, "dead", DEAD, attempt, None, f"gave up after {attempt} attempts: {exc}"
                )
            else:
                rep.retried += 1
                rng = random.Random(f"{m['idempotency_key']}:{attempt}")
                nxt = now_us() + int(backoff_s(attempt, self.s, rng) * 1e6)
                self._finish(m, rec, "failed", PENDING, attempt, nxt, str(exc))
            return
        rep.delivered += 1
        rec["receipt"] = receipt
        self._finish(m, rec, "delivered", DELIVERED, attempt, None, None)
        self.ws.consent.record_contact(
            m["golden_id"], m["channel"], m["purpose"], at=at, decision_id=m["decision_id"]
        )

    def _finish(
        self,
        m: dict[str, Any],
        rec: dict[str, Any],
        outcome: str,
        status: str,
        attempts: int,
        next_us: int | None,
        error: str | None,
    ) -> None:
        ts = now_us()
        rec.update(outcome=outcome, error=error, at_us=ts)
        values: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "updated_at_us": ts,
            "last_error": error,
        }
        if next_us is not None:
            values["next_attempt_at_us"] = next_us
        with self.ws.store.begin() as conn:
            conn.execute(deliveries.insert(), [rec])
            conn.execute(
                update(outbox).where(outbox.c.message_id == m["message_id"]).values(**values)
            )
