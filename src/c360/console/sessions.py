"""Console sessions: a login exchanges an API token for a server-side session.

The browser holds only a random session id (cookie ``c360_session``: HttpOnly,
SameSite=Strict, path /). Each session carries its own CSRF token, which every form
posts back; a form without it, or with another session's, is refused. Sessions live in
the operational store (``gov_console_sessions``, keyed by the SHA-256 of the id), so every
server process — every uvicorn worker, every host on one PostgreSQL — knows them; they
expire after ``ttl`` seconds of idleness. A session remembers the API token it was opened
with: once that token is revoked or expired, or its principal deactivated, the session
ends at its next request. Reading a session is one SELECT (joined to its token and
principal); the idle clock is moved forward at most once a minute (an UPDATE), not on
every page.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from c360.governance.tables import api_tokens, principals
from c360.governance.tables import console_sessions as table
from c360.store.db import Store

COOKIE = "c360_session"
TOUCH_EVERY_S = 60


@dataclass(frozen=True)
class Session:
    sid: str
    principal: str
    purpose: str
    csrf: str
    seen: float  # seconds since the epoch: the last time the session was used (± a minute)


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _us(t: float) -> int:
    return int(t * 1_000_000)


class Sessions:
    def __init__(self, store: Store, ttl: float = 8 * 3600) -> None:
        self.store, self.ttl = store, ttl

    def open(self, principal: str, purpose: str, token_id: str) -> Session:
        now = time.time()
        s = Session(secrets.token_urlsafe(32), principal, purpose, secrets.token_urlsafe(32), now)
        with self.store.begin() as conn:
            conn.execute(delete(table).where(table.c.seen_us < _us(now - self.ttl)))
            conn.execute(
                insert(table).values(
                    sid_sha256=_digest(s.sid),
                    principal=principal,
                    purpose=purpose,
                    csrf=s.csrf,
                    token_id=token_id,
                    created_us=_us(now),
                    seen_us=_us(now),
                )
            )
        return s

    def get(self, sid: str | None) -> Session | None:
        if not sid or len(sid) > 200:
            return None
        now = time.time()
        key = _digest(sid)
        with self.store.begin() as conn:
            row = conn.execute(_SESSION.where(table.c.sid_sha256 == key)).first()
            if row is None:
                return None
            if not _token_valid(row):
                conn.execute(delete(table).where(table.c.sid_sha256 == key))
                return None
            seen = row.seen_us / 1_000_000
            if now - seen > self.ttl:
                conn.execute(delete(table).where(table.c.sid_sha256 == key))
                return None
            if now - seen > TOUCH_EVERY_S:
                conn.execute(
                    update(table).where(table.c.sid_sha256 == key).values(seen_us=_us(now))
                )
                seen = now
        return Session(sid, row.principal, row.purpose, row.csrf, seen)

    def close(self, sid: str | None) -> None:
        if not sid:
            return
        with self.store.begin() as conn:
            conn.execute(delete(table).where(table.c.sid_sha256 == _digest(sid)))

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and secrets.compare_digest(session.csrf, token or "")


# a session with its token's and principal's state (outer joins: a token or principal
# that is gone ends the session)
_SESSION = select(
    table.c.principal,
    table.c.purpose,
    table.c.csrf,
    table.c.seen_us,
    api_tokens.c.token_id,
    api_tokens.c.revoked_at,
    api_tokens.c.expires_at,
    principals.c.active,
).select_from(
    table.outerjoin(api_tokens, api_tokens.c.token_id == table.c.token_id).outerjoin(
        principals, principals.c.name == table.c.principal
    )
)


def _token_valid(row) -> bool:  # type: ignore[no-untyped-def]
    from c360.governance.principals import token_expired  # at module level: an import cycle

    if row.token_id is None or row.revoked_at is not None or not row.active:
        return False
    return not token_expired(row.expires_at)
