"""Draining the outbox: gate at send time, send, record; retries with backoff and jitter.

Due messages (``pending`` and ``next_attempt_at_us <= now``, oldest first) are taken in
send batches of at most ``batch_size`` messages, one per golden record (a second
message to the same person waits for the next batch, so contact caps see the first):

1. the consent gate's point form is asked again for the whole batch *right before its
   sends* (:meth:`~c360.consent.service.ConsentService.check_many`: one decision per
   message, activation checks included, recorded in ``gate_decisions`` before anything
   is sent). A deny that depends only on the send time (quiet hours) defers the
   message; any other deny *blocks* it: nothing is sent, the attempt is logged with
   the gate's reasons;
2. the allowed messages are sent, ``concurrency`` at a time, each by its channel adapter
   with its idempotency key (HTTP adapters keep one keep-alive connection per sending
   thread; a file export writes the batch at once);
3. the outcomes are written in one transaction: ``delivered`` (with the receipt, and
   the contact-log entry for caps), or a retry at
   ``now + min(max, base·2^(n-1))·(1 - jitter·u)``, or ``dead`` after ``max_attempts``
   or a permanent failure, with the reason.

A send happens before its outcome is written, so a process killed in between leaves
the message ``pending``: the next drain sends it again with the same key and the
receiver deduplicates it — exactly once at the receiver, none lost; at most one send
batch (``batch_size`` messages) is sent twice.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, update

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
        self,
        ws: Workspace,
        settings: ActivationSettings,
        resolve: adapters.Resolver,
        prefetch: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.ws = ws
        self.s = settings
        self.resolve = resolve
        self.prefetch = prefetch
        self._adapters: dict[str, adapters.Adapter] = {}

    def adapter(self, channel: str) -> adapters.Adapter:
        if channel not in self._adapters:
            cs = self.s.channels.get(channel)
            if cs is None:
                raise adapters.Permanent(f"no adapter configured for channel {channel!r}")
            self._adapters[channel] = adapters.build(channel, cs, self.ws.root, self.resolve)
        return self._adapters[channel]

    def due(self, limit: int) -> list[dict[str, Any]]:
        """The next send batch: due messages, oldest first, at most one per golden record."""
        with self.ws.store.engine.connect() as conn:
            q = (
                select(outbox)
                .where(outbox.c.status == PENDING, outbox.c.next_attempt_at_us <= now_us())
                .order_by(outbox.c.created_at_us, outbox.c.message_id)
                .limit(limit * 2)
            )
            rows = [dict(r) for r in conn.execute(q).mappings()]
        seen: set[str] = set()
        out: list[dict[str, Any]] = []
        for r in rows:
            if r["golden_id"] not in seen and len(out) < limit:
                seen.add(r["golden_id"])
                out.append(r)
        return out

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
        batch: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        stop_after: int | None = None,
    ) -> DrainReport:
        """Drain until nothing is due (and, with ``wait``, nothing pending) or ``max_seconds``."""
        rep = DrainReport()
        t0 = time.perf_counter()
        done = 0
        size = batch or self.s.batch_size
        with ThreadPoolExecutor(self.s.concurrency, thread_name_prefix="c360-send") as pool:
            while time.perf_counter() - t0 < max_seconds:
                if stop_after is not None and done >= stop_after:
                    break
                msgs = self.due(size if stop_after is None else min(size, stop_after - done))
                if not msgs:
                    nxt = self.next_due_us() if wait else None
                    if nxt is None:
                        break
                    time.sleep(min(max(0.0, (nxt - now_us()) / 1e6), 1.0) + 0.001)
                    continue
                self.send_batch(msgs, rep, pool)
                done += len(msgs)
                if progress is not None:
                    progress(done, done + len(msgs))
        rep.seconds = round(time.perf_counter() - t0, 3)
        return rep

    def send_batch(
        self, msgs: list[dict[str, Any]], rep: DrainReport, pool: ThreadPoolExecutor
    ) -> None:
        """Gate-check, send and record one batch (see the module docstring)."""
        if self.prefetch is not None:
            # addresses first: nothing slow may sit between the gate check and the sends
            self.prefetch([m["golden_id"] for m in msgs])
        at = datetime.now(UTC)
        gate = self.ws.consent.check_many(
            [(m["golden_id"], m["purpose"], m["channel"]) for m in msgs],
            at,
            activation=True,
            record=True,
        )
        outcomes: list[_Outcome] = []
        to_send: list[tuple[dict[str, Any], dict[str, Any], adapters.Adapter]] = []
        for m, d in zip(msgs, gate, strict=True):
            attempt = m["attempts"] + 1
            cs = self.s.channels.get(m["channel"])
            rec: dict[str, Any] = {
                "attempt_id": uuid.uuid4().hex,
                "message_id": m["message_id"],
                "idempotency_key": m["idempotency_key"],
                "golden_id": m["golden_id"],
                "channel": m["channel"],
                "adapter": cs.adapter if cs is not None else "none",
                "attempt": attempt,
                "gate_decision_id": d.decision_id,
                "gate_allowed": d.allowed,
                "error": None,
                "receipt": None,
            }
            if not d.allowed:
                if set(d.reasons) <= SEND_TIME_REASONS:
                    rep.deferred += 1
                    why = ",".join(d.reasons)
                    nxt = now_us() + DEFER_US
                    outcomes.append(_Outcome(m, rec, "deferred", PENDING, attempt - 1, nxt, why))
                else:
                    rep.blocked += 1
                    why = "gate: " + ",".join(d.reasons)
                    outcomes.append(_Outcome(m, rec, "blocked", BLOCKED, attempt, None, why))
                continue
            try:
                to_send.append((m, rec, self.adapter(m["channel"])))
            except adapters.Permanent as exc:
                outcomes.append(self._failed(m, rec, attempt, exc, rep))
        for (m, rec, _), res in zip(to_send, _send_all(pool, to_send), strict=True):
            attempt = rec["attempt"]
            if isinstance(res, Exception):
                outcomes.append(self._failed(m, rec, attempt, res, rep))
            else:
                rep.delivered += 1
                rec["receipt"] = res
                outcomes.append(_Outcome(m, rec, "delivered", DELIVERED, attempt, None, None, at))
        self._finish(outcomes)

    def _failed(
        self, m: dict[str, Any], rec: dict[str, Any], attempt: int, exc: Exception, rep: DrainReport
    ) -> _Outcome:
        rep.errors[str(exc)] = rep.errors.get(str(exc), 0) + 1
        if isinstance(exc, adapters.Retryable):
            if attempt >= self.s.max_attempts:
                rep.dead += 1
                why = f"gave up after {attempt} attempts: {exc}"
                return _Outcome(m, rec, "dead", DEAD, attempt, None, why)
            rep.retried += 1
            rng = random.Random(f"{m['idempotency_key']}:{attempt}")
            nxt = now_us() + int(backoff_s(attempt, self.s, rng) * 1e6)
            return _Outcome(m, rec, "failed", PENDING, attempt, nxt, str(exc))
        rep.dead += 1
        return _Outcome(m, rec, "dead", DEAD, attempt, None, f"permanent: {exc}")

    def _finish(self, outcomes: list[_Outcome]) -> None:
        """Every attempt row, outbox state and contact-log entry of a batch: one transaction."""
        if not outcomes:
            return
        ts = now_us()
        recs, states, contacts = [], [], []
        for o in outcomes:
            o.rec.update(outcome=o.outcome, error=o.error, at_us=ts)
            recs.append(o.rec)
            states.append(
                {
                    "mid": o.m["message_id"],
                    "st": o.status,
                    "att": o.attempts,
                    "ts": ts,
                    "err": o.error,
                    "nxt": o.next_us,
                }
            )
            if o.contacted_at is not None:
                contacts.append(
                    {
                        "golden_id": o.m["golden_id"],
                        "channel": o.m["channel"],
                        "purpose": o.m["purpose"],
                        "at": o.contacted_at,
                        "decision_id": o.m["decision_id"],
                    }
                )
        with self.ws.store.begin() as conn:
            conn.execute(deliveries.insert(), recs)
            conn.execute(_SET_STATE, states)
            self.ws.consent.record_contacts(contacts, conn=conn)


_SET_STATE = (
    update(outbox)
    .where(outbox.c.message_id == bindparam("mid"))
    .values(
        status=bindparam("st"),
        attempts=bindparam("att"),
        updated_at_us=bindparam("ts"),
        last_error=bindparam("err"),
        next_attempt_at_us=func.coalesce(bindparam("nxt"), outbox.c.next_attempt_at_us),
    )
)


@dataclass
class _Outcome:
    m: dict[str, Any]
    rec: dict[str, Any]
    outcome: str
    status: str
    attempts: int
    next_us: int | None
    error: str | None
    contacted_at: datetime | None = None


def _send_all(
    pool: ThreadPoolExecutor, items: list[tuple[dict[str, Any], dict[str, Any], adapters.Adapter]]
) -> list[dict[str, Any] | Exception]:
    """Send a batch at once: a batch adapter (file export) once per channel, others per message."""
    results: list[dict[str, Any] | Exception | None] = [None] * len(items)
    groups: dict[int, tuple[adapters.FileExport, list[int]]] = {}
    futures: list[tuple[list[int], Future[Any]]] = []
    for i, (m, _, a) in enumerate(items):
        if isinstance(a, adapters.FileExport):
            groups.setdefault(id(a), (a, []))[1].append(i)
        else:
            futures.append(([i], pool.submit(_send, a, m)))
    for ba, idx in groups.values():
        futures.append((idx, pool.submit(_send_many, ba, [items[i][0] for i in idx])))
    for idx, fut in futures:
        out = fut.result()
        for i, r in zip(idx, out if isinstance(out, list) else [out] * len(idx), strict=True):
            results[i] = r
    return [r if r is not None else RuntimeError("not sent") for r in results]


def _send_many(
    adapter: adapters.FileExport, ms: list[dict[str, Any]]
) -> list[dict[str, Any]] | Exception:
    try:
        return adapter.send_many(ms)
    except (adapters.Retryable, adapters.Permanent) as exc:
        return exc


def _send(adapter: adapters.Adapter, m: dict[str, Any]) -> dict[str, Any] | Exception:
    """Send on a pool thread; a channel failure is returned, anything else propagates."""
    try:
        return adapter.send(m)
    except (adapters.Retryable, adapters.Permanent) as exc:
        return exc
