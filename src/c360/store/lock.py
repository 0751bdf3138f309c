"""One writer per workspace: the workspace write lock.

Every stage that writes tables or the store (ingest, ``c360 run``, identity, consent
writes, DSR, retention …) runs inside ``ws.write_lock(stage)``. A second process that
wants to write waits (saying who holds the lock) or, with ``wait=False``
(``--no-wait`` on the CLI), fails at once with ``workspace.locked``.

The lock lives where every writer can see it:

* PostgreSQL store: a session-level advisory lock (``pg_try_advisory_lock``) on a
  connection held for as long as the lock — writers on other hosts see it too, and
  the server releases it when the holding process dies;
* SQLite (or any other) store: an exclusive ``flock`` on ``<workspace>/.c360/write.lock``,
  released by the kernel when the holding process dies.

Within one process the lock is re-entrant (``c360 run`` holds it and its ingest stage
takes it again); other threads of the same process wait for the holding thread.
Whoever first takes the lock in a process runs the ``on_acquire`` hook — the
workspace uses it to mark work left ``running`` by a dead process as interrupted.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

from sqlalchemy import Connection, text

from c360.errors import C360Error

POLL_SECONDS = 0.2


class LockedError(C360Error):
    code = "workspace.locked"
    http_status = 409


def advisory_key(name: str) -> int:
    """A signed 64-bit key for ``pg_advisory_lock`` derived from a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class _Backend:
    def try_acquire(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class _FileBackend(_Backend):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+b")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class _AdvisoryBackend(_Backend):
    def __init__(self, connect: Callable[[], Connection], key: int) -> None:
        self.connect = connect
        self.key = key
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        conn = self.connect()
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
        conn.commit()
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None


class WriteLock:
    """The write lock of one workspace; use :meth:`hold` as a context manager."""

    def __init__(
        self,
        backend: _Backend,
        holder_file: Path,
        on_acquire: Callable[[], None] | None = None,
    ) -> None:
        self._backend = backend
        self._holder_file = holder_file
        self._on_acquire = on_acquire
        self._thread_lock = threading.RLock()
        self._depth = 0
        self.stage: str | None = None

    @classmethod
    def for_store(
        cls,
        dialect: str,
        connect: Callable[[], Connection],
        state_dir: Path,
        name: str,
        on_acquire: Callable[[], None] | None = None,
    ) -> WriteLock:
        """PostgreSQL stores lock in the store; everything else with a file lock."""
        backend: _Backend = (
            _AdvisoryBackend(connect, advisory_key(f"c360.write:{name}"))
            if dialect == "postgresql"
            else _FileBackend(state_dir / "write.lock")
        )
        return cls(backend, state_dir / "writer.json", on_acquire)

    @property
    def held(self) -> bool:
        """True while this process holds the lock."""
        return self._depth > 0

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock, as its holder wrote it (pid, stage, since); None if unknown."""
        try:
            data = json.loads(self._holder_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def describe_holder(self) -> str:
        h = self.holder()
        if not h:
            return "another process"
        return f"pid {h.get('pid')} ({h.get('stage')}, since {h.get('since')})"

    @contextmanager
    def hold(
        self,
        stage: str,
        *,
        wait: bool = True,
        timeout: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> Iterator[None]:
        """Hold the lock for ``stage``; wait for it (telling ``on_wait`` once) or refuse."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._thread_lock.acquire(blocking=False):
            if not wait:
                raise self._refusal(stage)
            if on_wait:
                on_wait(f"{stage}: waiting for another writer in this process")
            left = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._thread_lock.acquire(timeout=left):
                raise self._refusal(stage)
        try:
            if self._depth == 0:
                self._acquire_os(stage, wait, deadline, on_wait)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release_os()
        finally:
            self._thread_lock.release()

    def _refusal(self, stage: str) -> LockedError:
        return LockedError(
            message=f"{stage}: another process is writing to this workspace "
            f"({self.describe_holder()}); retry later or run without --no-wait to wait for it",
            details={"stage": stage, "holder": self.holder()},
        )

    def _acquire_os(
        self,
        stage: str,
        wait: bool,
        deadline: float | None,
        on_wait: Callable[[str], None] | None,
    ) -> None:
        told = False
        while not self._backend.try_acquire():
            if not wait or (deadline is not None and time.monotonic() >= deadline):
                raise self._refusal(stage)
            if not told and on_wait:
                on_wait(
                    f"{stage}: waiting for the workspace write lock held by "
                    f"{self.describe_holder()}"
                )
                told = True
            time.sleep(POLL_SECONDS)
        self.stage = stage
        try:
            self._write_holder(stage)
            if self._on_acquire:
                self._on_acquire()
        except BaseException:
            self._release_os()
            raise

    def _write_holder(self, stage: str) -> None:
        info = {"pid": os.getpid(), "stage": stage, "since": datetime.now(UTC).isoformat()}
        tmp = self._holder_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(info), encoding="utf-8")
        os.replace(tmp, self._holder_file)

    def _release_os(self) -> None:
        self.stage = None
        try:
            self._holder_file.unlink(missing_ok=True)
        finally:
            self._backend.release()


P = ParamSpec("P")
R = TypeVar("R")


def writes(stage: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: run a function that writes inside the workspace write lock.

    The first argument is the workspace or an object holding it as ``ws`` / ``_ws``
    (a capability service)::

        @writes("identity")
        def run_identity(ws: Workspace, ...) -> IdentityReport: ...
    """

    def deco(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            first: Any = args[0]
            ws = getattr(first, "ws", None) or getattr(first, "_ws", None) or first
            with ws.write_lock(stage):
                return fn(*args, **kwargs)

        return wrapper

    return deco
