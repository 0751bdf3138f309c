"""The audit log: append-only, hash-chained, with signed checkpoints.

Entry ``n`` stores ``hash = sha256(canonical_json({seq, ts, actor, action,
target, details, prev}))`` where ``prev`` is the hash of entry ``n-1`` (64
zeros for the first). Anyone can recompute the chain; what an attacker cannot
forge without the workspace key are the HMACs on the chain head (updated by
every append) and on the checkpoints (every ``checkpoint_every`` entries). So
``verify`` detects an edited, deleted, inserted or reordered entry (the chain
breaks) and truncation (the signed head or a checkpoint points past the end).

Appends serialise on the single ``audit_head`` row: the first statement of the
transaction updates it, which takes the row lock on PostgreSQL and the write
lock on SQLite, so concurrent writers queue instead of forking the chain.

Within one process, appends that arrive together share a transaction (group
commit, docs/decisions/0051-audit-group-commit.md): the first waiting thread
writes every pending entry in order in one transaction and the others wait for
that commit, so each caller still returns only once its own entry is committed —
nothing is queued past the answer, and a server under load takes the store's
write lock once per batch instead of once per request.

Inside a request scope (:func:`request_scope`, opened by the API for each request) the
entries of governed reads (:meth:`AuditLog.defer`) wait for the request's own entry and
are committed with it, in one transaction, before the response starts: no data leaves
the service before the entry of its read is committed, and a request takes the write
lock once for all of them (ADR 0067). Outside a scope ``defer`` is ``append``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select, update

from c360.errors import C360Error
from c360.governance.tables import audit_checkpoints, audit_head, audit_log

if TYPE_CHECKING:
    from c360.workspace import Workspace

GENESIS = "0" * 64


def canonical(obj: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 text; non-JSON values as strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    seq: int, ts: str, actor: str, action: str, target: str, details: str, prev: str
) -> str:
    body = canonical(
        {
            "seq": seq,
            "ts": ts,
            "actor": actor,
            "action": action,
            "target": target,
            "details": details,
            "prev": prev,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Problem:
    seq: int
    kind: str  # edited | deleted | broken_link | truncated | bad_checkpoint | bad_head
    message: str


@dataclass
class VerifyReport:
    ok: bool
    entries: int
    last_seq: int
    checkpoints: int
    problems: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# the statements of an append, built once
_LOCK_HEAD = (
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(seq=audit_head.c.seq)
    .returning(audit_head.c.seq, audit_head.c.hash)
)
_SET_HEAD = (
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"), mac=bindparam("new_mac"))
)


class AuditLog:
    """``ws.audit``: append, verify, query, checkpoint."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._every = ws.config.governance.audit.checkpoint_every
        self._key = ws.tokenizer.keyed_hash("c360/audit-checkpoint-key/v1").encode()
        self._group = _GroupCommit(self._write_batch)

    def _mac(self, *parts: object) -> str:
        return hmac.new(
            self._key, ":".join(str(p) for p in parts).encode(), hashlib.sha256
        ).hexdigest()

    # ------------------------------------------------------------------ write
    def append(
        self,
        actor: str,
        action: str,
        target: str,
        details: dict[str, Any] | None = None,
        *,
        conn: Connection | None = None,
    ) -> AuditEntry:
        """Append one entry; never put raw personal identifiers in ``details``.

        With ``conn`` the entry is written in the caller's transaction (on the same
        store), so the audited change and its entry commit or roll back together.
        """
        if not actor or not action:
            raise C360Error("audit.invalid", "an audit entry needs an actor and an action")
        if conn is not None:
            return self._append_many(conn, [(actor, action, target, details)])[0]
        return self._group.submit_all([(actor, action, target, details)])[0]

    def defer(
        self, actor: str, action: str, target: str, details: dict[str, Any] | None = None
    ) -> None:
        """Append at the end of the current request scope (with the request's own entry),
        or now when there is no scope."""
        pending = _scope.get()
        if pending is None:
            self.append(actor, action, target, details)
            return
        if not actor or not action:
            raise C360Error("audit.invalid", "an audit entry needs an actor and an action")
        pending.append((actor, action, target, details))

    def append_all(self, items: list[_Item]) -> list[AuditEntry]:
        """Append ``items`` in order, in one transaction (shared with other callers')."""
        for actor, action, _target, _details in items:
            if not actor or not action:
                raise C360Error("audit.invalid", "an audit entry needs an actor and an action")
        return self._group.submit_all(items) if items else []

    def _write_batch(self, batch: list[_Item]) -> list[AuditEntry]:
        with self._ws.store.begin() as own:
            return self._append_many(own, batch)

    def _append_many(self, conn: Connection, items: list[_Item]) -> list[AuditEntry]:
        """Chain ``items`` in order onto the head: one head lock, one insert, one head update
        (signed for the last entry), and a checkpoint wherever the chain passes one."""
        # lock the chain head first (and read it in the same statement): serialises
        # concurrent appenders
        head = conn.execute(_LOCK_HEAD).one()
        seq, prev = int(head.seq), str(head.hash)
        rows: list[dict[str, Any]] = []
        entries: list[AuditEntry] = []
        for actor, action, target, details in items:
            text = canonical(details or {})
            ts = datetime.now(UTC).isoformat(timespec="microseconds")
            seq += 1
            digest = entry_hash(seq, ts, actor, action, target, text, prev)
            rows.append(
                {
                    "seq": seq,
                    "ts": ts,
                    "actor": actor,
                    "action": action,
                    "target": target,
                    "details": text,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            entries.append(
                AuditEntry(seq, ts, actor, action, target, json.loads(text), prev, digest)
            )
            prev = digest
        conn.execute(audit_log.insert(), rows)
        conn.execute(_SET_HEAD, {"new_seq": seq, "new_hash": prev, "new_mac": self._mac(seq, prev)})
        for e in entries:
            if e.seq % self._every == 0:
                self._checkpoint(conn, e.seq, e.hash)
        return entries

    def _checkpoint(self, conn: Connection, seq: int, digest: str) -> None:
        exists = conn.execute(
            select(audit_checkpoints.c.seq).where(audit_checkpoints.c.seq == seq)
        ).first()
        if exists:
            return
        ts = datetime.now(UTC).isoformat(timespec="microseconds")
        conn.execute(
            audit_checkpoints.insert().values(
                seq=seq, hash=digest, ts=ts, mac=self._mac(seq, digest, ts)
            )
        )

    def checkpoint(self) -> int:
        """Sign a checkpoint at the current head now; returns its sequence number."""
        with self._ws.store.begin() as conn:
            conn.execute(
                update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq)
            )
            head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).one()
            if head.seq:
                self._checkpoint(conn, int(head.seq), head.hash)
            return int(head.seq)

    # ------------------------------------------------------------------ verify
    def verify(self) -> VerifyReport:
        """Walk the chain; report every problem with the sequence number where it is."""
        problems: list[Problem] = []
        with self._ws.store.begin() as conn:
            cps = {int(r.seq): r for r in conn.execute(select(audit_checkpoints))}
            head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
            rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).yield_per(2000)
            prev, expected, count, last_seq = GENESIS, 1, 0, 0
            for r in rows:
                count += 1
                seq = int(r.seq)
                gap = seq != expected
                if gap:
                    problems.append(
                        Problem(
                            expected,
                            "deleted",
                            f"entries {expected}..{seq - 1} are missing (deleted)",
                        )
                    )
                computed = entry_hash(
                    seq, r.ts, r.actor, r.action, r.target, r.details, r.prev_hash
                )
                if computed != r.hash:
                    problems.append(
                        Problem(
                            seq,
                            "edited",
                            f"entry {seq} does not match its hash "
                            "(edited, or moved from another position)",
                        )
                    )
                elif r.prev_hash != prev and not gap:
                    problems.append(
                        Problem(
                            seq,
                            "broken_link",
                            f"entry {seq} does not follow entry {seq - 1} (inserted or reordered)",
                        )
                    )
                cp = cps.get(seq)
                if cp is not None and cp.hash != r.hash:
                    problems.append(
                        Problem(
                            seq, "bad_checkpoint", f"checkpoint at {seq} signs a different entry"
                        )
                    )
                prev, expected, last_seq = r.hash, seq + 1, seq
        for seq, cp in sorted(cps.items()):
            if not hmac.compare_digest(cp.mac, self._mac(seq, cp.hash, cp.ts)):
                problems.append(
                    Problem(seq, "bad_checkpoint", f"checkpoint at {seq} has a bad signature")
                )
            if seq > last_seq:
                problems.append(
                    Problem(
                        last_seq + 1,
                        "truncated",
                        f"log ends at {last_seq} but a checkpoint signs entry {seq}",
                    )
                )
        if head is None or not hmac.compare_digest(
            head.mac, self._mac(head.seq, head.hash) if head.seq else "genesis"
        ):
            problems.append(
                Problem(
                    last_seq + 1,
                    "bad_head",
                    f"the chain head's signature is invalid: entries after {last_seq} "
                    "may have been removed",
                )
            )
        elif int(head.seq) > last_seq:
            problems.append(
                Problem(
                    last_seq + 1,
                    "truncated",
                    f"log ends at {last_seq} but the signed head is at {head.seq}",
                )
            )
        elif int(head.seq) != last_seq or (last_seq and head.hash != prev):
            problems.append(
                Problem(
                    int(head.seq) + 1,
                    "bad_head",
                    f"entries after the signed head {head.seq} were appended outside c360",
                )
            )
        problems.sort(key=lambda p: p.seq)
        return VerifyReport(not problems, count, last_seq, len(cps), problems)

    # ------------------------------------------------------------------ query
    def query(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | str | None = None,
        limit: int = 1000,
        newest_first: bool = False,
    ) -> list[AuditEntry]:
        stmt = select(audit_log).order_by(
            audit_log.c.seq.desc() if newest_first else audit_log.c.seq
        )
        if actor:
            stmt = stmt.where(audit_log.c.actor == actor)
        if action:
            stmt = stmt.where(audit_log.c.action.like(action.replace("*", "%")))
        if target:
            stmt = stmt.where(audit_log.c.target == target)
        if since:
            ts = (
                since
                if isinstance(since, str)
                else since.astimezone(UTC).isoformat(timespec="microseconds")
            )
            stmt = stmt.where(audit_log.c.ts >= ts)
        with self._ws.store.begin() as conn:
            rows = conn.execute(stmt.limit(limit)).all()
        return [
            AuditEntry(
                int(r.seq),
                r.ts,
                r.actor,
                r.action,
                r.target,
                json.loads(r.details),
                r.prev_hash,
                r.hash,
            )
            for r in rows
        ]


_Item = tuple[str, str, str, dict[str, Any] | None]


_scope: ContextVar[list[_Item] | None] = ContextVar("c360_audit_scope", default=None)


@contextmanager
def request_scope() -> Iterator[list[_Item]]:
    """Collect the :meth:`AuditLog.defer` entries of one request; the caller appends
    them (``append_all``) with the request's own entry before answering."""
    pending: list[_Item] = []
    token = _scope.set(pending)
    try:
        yield pending
    finally:
        _scope.reset(token)


class _Waiter:
    __slots__ = ("done", "entries", "error", "items")

    def __init__(self, items: list[_Item]) -> None:
        self.items = items
        self.done = False
        self.entries: list[AuditEntry] = []
        self.error: BaseException | None = None


class _GroupCommit:
    """Leader/follower group commit: a caller whose entry is pending and finds no write
    running becomes the writer of every pending entry (one transaction, in arrival
    order); the others wait for it. Each caller gets its own entry back, or the error
    of the transaction that held it (then none of that batch was written)."""

    def __init__(self, write: Any) -> None:
        self._write = write
        self._cond = threading.Condition()
        self._pending: list[_Waiter] = []
        self._writing = False

    def submit_all(self, items: list[_Item]) -> list[AuditEntry]:
        """Write ``items`` (in order, contiguous in the chain); returns their entries."""
        me = _Waiter(items)
        with self._cond:
            self._pending.append(me)
            while not me.done:
                if self._writing:
                    self._cond.wait()
                    continue
                batch, self._pending = self._pending, []
                self._writing = True
                self._cond.release()
                try:
                    try:
                        entries = self._write([i for w in batch for i in w.items])
                        at = 0
                        for w in batch:
                            w.entries = entries[at : at + len(w.items)]
                            at += len(w.items)
                    except BaseException as exc:
                        for w in batch:
                            w.error = exc
                finally:
                    self._cond.acquire()
                    self._writing = False
                    for w in batch:
                        w.done = True
                    self._cond.notify_all()
        if me.error is not None:
            raise me.error
        return me.entries  # set with ``done`` unless ``error`` is
