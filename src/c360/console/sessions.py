"""Console sessions: a login exchanges an API token for a server-side session.

The browser holds only a random session id (cookie ``c360_session``: HttpOnly,
SameSite=Strict, path /). Each session carries its own CSRF token, which every form
posts back; a form without it, or with another session's, is refused. Sessions live
in this process (one uvicorn worker) and expire after ``ttl`` seconds of idleness.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "c360_session"


@dataclass
class Session:
    sid: str
    principal: str
    purpose: str
    csrf: str
    seen: float = field(default_factory=time.monotonic)


class Sessions:
    def __init__(self, ttl: float = 8 * 3600) -> None:
        self.ttl = ttl
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, principal: str, purpose: str) -> Session:
        s = Session(secrets.token_urlsafe(32), principal, purpose, secrets.token_urlsafe(32))
        with self._lock:
            self._by_id[s.sid] = s
        return s

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            s = self._by_id.get(sid)
            if s is None or now - s.seen > self.ttl:
                self._by_id.pop(sid, None)
                return None
            s.seen = now
            return s

    def close(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and secrets.compare_digest(session.csrf, token or "")
