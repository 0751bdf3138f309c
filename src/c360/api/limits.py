"""Rate limits shared by every server process, and the Retry-After value.

Each caller (token id, or client address for anonymous requests) has one row in the
operational store (``gov_rate_limits``) holding its *theoretical arrival time* (GCRA, the
token bucket as a single timestamp): ``rate`` requests per second on average, bursts up to
``burst``. One statement per request decides and records it — an ``INSERT … ON CONFLICT
DO UPDATE … RETURNING`` on SQLite and PostgreSQL alike — so two uvicorn workers (or two
hosts on one PostgreSQL) share one budget per caller. The row's key is a keyed hash of the
caller and the limit, so a changed limit starts a fresh budget and no address is stored.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import BigInteger, bindparam, case, delete, literal_column, text
from sqlalchemy.dialects import postgresql, sqlite

from c360.governance.tables import rate_limits
from c360.store.db import Store

_NO_SYNC = text("SET LOCAL synchronous_commit = off")
PRUNE_EVERY = 1000  # on average, one request in this many deletes the idle rows


class RateLimiter:
    """``rate`` requests per second on average, bursts up to ``burst``, per caller key."""

    def __init__(
        self, store: Store, rate: float, burst: int, key_hash: Callable[[str], str]
    ) -> None:
        self.store, self.rate, self.burst = store, rate, burst
        self._hash = key_hash
        self._interval = max(1, round(1_000_000 / rate))  # µs between two requests
        self._tau = (burst - 1) * self._interval  # how far ahead of now the TAT may run
        self._pg = store.dialect == "postgresql"
        self._take_now = self._statement(store.dialect, _db_clock(store.dialect))
        self._take_at = self._statement(store.dialect, bindparam("now", type_=BigInteger))

    def _statement(self, dialect: str, now: Any) -> Any:
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(rate_limits)
        tat = rate_limits.c.tat_us
        start = case((tat > now, tat), else_=now)  # the bucket refilled up to now
        allowed = start - now <= self._tau
        return (
            insert.values(key=bindparam("key"), tat_us=now + self._interval, wait_us=0)
            .on_conflict_do_update(
                index_elements=[rate_limits.c.key],
                set_={
                    "tat_us": case((allowed, start + self._interval), else_=tat),
                    "wait_us": case((allowed, 0), else_=start - now - self._tau),
                },
            )
            .returning(rate_limits.c.wait_us)
        )

    def take(self, caller: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds to wait before retrying.

        ``now`` (seconds since the epoch) is for tests; by default the time is the
        database's own clock when the statement runs, under the row's write lock: a check
        that waited for the lock must not be judged at the earlier time it started, after
        later checks moved the bucket on (it would be refused for its own wait).
        """
        now_us = int((time.time() if now is None else now) * 1_000_000)
        key = self._hash(f"rate:{caller}:{self.rate}:{self.burst}")
        stmt, params = (
            (self._take_now, {"key": key})
            if now is None
            else (self._take_at, {"key": key, "now": now_us})
        )
        with self.store.begin() as conn:
            if self._pg:
                # every request of a caller updates its one row: the row lock is held until
                # the commit, and a durable commit waits for a WAL flush, so callers would
                # queue behind the disk. A budget lost with the last moments before a crash
                # only gives a caller a few more requests (ADR 0067).
                conn.execute(_NO_SYNC)
            wait_us = conn.execute(stmt, params).scalar_one()
            if random.random() < 1 / PRUNE_EVERY:
                # a row whose TAT has passed is a full bucket: the same as no row
                conn.execute(delete(rate_limits).where(rate_limits.c.tat_us < now_us))
        return max(0, int(wait_us)) / 1_000_000


def _db_clock(dialect: str) -> Any:
    """Microseconds since the epoch by the database's clock, when the expression runs."""
    if dialect == "postgresql":
        return literal_column("CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)")
    return literal_column("CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)")


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
