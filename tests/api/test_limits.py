"""The shared rate limit (one GCRA upsert per request) and the shared console sessions on
both stores: SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from c360.store.db import Store


@pytest.fixture
def store(tmp_path, store_choice):
    s = Store(store_choice or f"sqlite:///{tmp_path}/store.db")
    s.migrate()
    yield s
    s.dispose()


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_burst_then_the_rate_then_retry_after(store):
    from c360.api.limits import RateLimiter

    limiter = RateLimiter(store, rate=2.0, burst=5, key_hash=_hash)
    t = 1_800_000_000.0
    assert [limiter.take("a", t) for _ in range(5)] == [0.0] * 5
    assert limiter.take("a", t) == pytest.approx(0.5)  # the next slot is 0.5 s away
    assert limiter.take("b", t) == 0.0  # another caller has its own budget
    assert limiter.take("a", t + 0.5) == 0.0 and limiter.take("a", t + 0.5) > 0
    # a steady 2 req/s is never refused once the burst is spent
    assert all(limiter.take("a", t + 1 + i * 0.5) == 0.0 for i in range(20))
    # a changed limit is a fresh budget
    assert RateLimiter(store, rate=1.0, burst=1, key_hash=_hash).take("a", t + 11) == 0.0


def test_concurrent_takes_by_the_database_clock_grant_exactly_the_burst(store):
    from c360.api.limits import RateLimiter

    limiter = RateLimiter(store, rate=0.01, burst=30, key_hash=_hash)
    with ThreadPoolExecutor(8) as ex:
        waits = list(ex.map(lambda _: limiter.take("c"), range(60)))
    assert sum(w == 0.0 for w in waits) == 30
    assert all(w > 0 for w in waits if w != 0.0)


def _token(store, principal: str, token_id: str, **token: object) -> str:
    """A principal and one API token row, as `c360 tokens create` leaves them."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from c360.governance.tables import api_tokens, principals

    now = datetime.now(UTC)
    with store.begin() as conn:
        conn.execute(
            insert(principals).values(
                name=principal,
                role="agent",
                purposes=["service"],
                attributes={},
                active=True,
                created_at=now,
            )
        )
        conn.execute(
            insert(api_tokens).values(
                token_id=token_id,
                principal=principal,
                token_sha256=token_id * 4,
                created_at=now,
                **token,
            )
        )
    return token_id


def test_sessions_are_found_by_another_instance_and_end_on_close(store):
    from c360.console.sessions import Sessions

    opened = Sessions(store).open("ann", "service", _token(store, "ann", "a" * 16))
    other = Sessions(store)  # another worker process has its own instance
    got = other.get(opened.sid)
    assert got is not None and (got.principal, got.purpose) == ("ann", "service")
    assert other.csrf_ok(got, opened.csrf) and not other.csrf_ok(got, "forged")
    assert other.get(opened.sid + "x") is None
    Sessions(store).close(opened.sid)
    assert other.get(opened.sid) is None
    idle = Sessions(store, ttl=0.0).open("bob", "service", _token(store, "bob", "b" * 16))
    time.sleep(0.01)
    assert Sessions(store, ttl=0.0).get(idle.sid) is None  # expired by idleness


def test_a_session_ends_with_its_token_or_principal(store):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from c360.console.sessions import Sessions
    from c360.governance.tables import api_tokens, principals

    sessions = Sessions(store)
    revoked = sessions.open("ann", "service", _token(store, "ann", "a" * 16))
    soon = datetime.now(UTC) + timedelta(seconds=1)
    expiring = sessions.open("bob", "service", _token(store, "bob", "b" * 16, expires_at=soon))
    left = sessions.open("cy", "service", _token(store, "cy", "c" * 16))
    kept = sessions.open("dee", "service", _token(store, "dee", "d" * 16))
    unknown = sessions.open("dee", "service", "e" * 16)  # a token that does not exist
    assert all(sessions.get(s.sid) for s in (revoked, expiring, left, kept))
    assert sessions.get(unknown.sid) is None
    with store.begin() as conn:
        now = datetime.now(UTC)
        conn.execute(
            update(api_tokens).where(api_tokens.c.token_id == "a" * 16).values(revoked_at=now)
        )
        conn.execute(update(principals).where(principals.c.name == "cy").values(active=False))
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
    assert [sessions.get(s.sid) is not None for s in (revoked, expiring, left, kept)] == [
        False,
        False,
        False,
        True,
    ]
    # an ended session is gone from the store, not only refused
    assert Sessions(store).get(revoked.sid) is None


def test_worker_count_takes_a_number_or_auto():
    import os

    from c360.cli.serve import worker_count
    from c360.errors import C360Error

    assert worker_count("3") == 3 and worker_count(2) == 2
    assert worker_count("auto") == worker_count(None) == len(os.sched_getaffinity(0))
    for bad in ("0", "-1", "two", "65"):
        with pytest.raises(C360Error, match="--workers"):
            worker_count(bad)
