"""Data-subject requests: export everything held about a person, or erase every copy.

A subject is given as ``kind:value`` — ``email:ann@x.com``, ``phone:+1555…``,
``ssn:123-45-6789``, ``golden:G123`` or ``source:crm:C001``. It is resolved to a
closed set of identifiers over every *declared* table and file
(:class:`~c360.governance.dsr_copies.Copies`): strong identifiers (source keys,
golden ids, SSN tokens) of matched rows are followed until nothing new appears;
contact points (email, phone) are matched as given, never followed.

Erase, per copy:

- Delta tables: a targeted ``DeltaTable.delete`` with an exact predicate over the
  stored values, then the table's history is purged (unreferenced files vacuumed,
  old log entries dropped: their column statistics could hold the values);
- store tables: ``DELETE`` with the same kind of predicate; SQLite is vacuumed;
- model files (term frequencies): rewritten without the subject's rows;
- the Redis copy of the online features and scores (when ``features.redis_url`` is
  set): the subject's golden ids' keys deleted, and re-checked like every other copy;
- landing files: kept (immutable deliveries) and listed with the reason;
- tables under a legal hold or declared ``retained``: kept and listed.

Keyed tombstones of every identifier make ingestion, identity and consent capture
refuse the subject from then on. Every request is audited with keyed hashes only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import delete, select, text

from c360.errors import C360Error
from c360.governance._ws import audit
from c360.governance.dsr_copies import Copies, Found
from c360.governance.policy import Principal, check_access
from c360.governance.subject import Identifiers, normalise
from c360.governance.tables import dsr_tombstones, legal_holds
from c360.lakehouse.declarations import source_key
from c360.settings.governance import GovernanceSettings
from c360.store.lock import writes

if TYPE_CHECKING:
    from c360.features.online import RedisOnline
    from c360.workspace import Workspace

KINDS = ("email", "phone", "ssn", "golden", "source")
#: Where a result names the Redis copy of the online features and scores.
REDIS = "redis:online"
TOMBSTONE_KINDS = ("golden_id", "source_key", "email", "phone", "ssn_token")
CHECKPOINT_WAIT_MS = 5_000  # how long erasure waits for a reader of the store's log


@dataclass
class DsrResult:
    request_id: str
    action: str
    tables: dict[str, int] = field(default_factory=dict)  # table/file -> rows found / erased
    kept: list[dict[str, Any]] = field(default_factory=list)  # holds, retained, landing
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # export only
    tombstones: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "action": self.action,
            "tables": self.tables,
            "kept": self.kept,
            "records": self.records,
            "tombstones": self.tombstones,
        }


def parse_subject(subject: str, ws: Workspace) -> Identifiers:
    kind, _, value = subject.partition(":")
    ids = Identifiers()
    if kind not in KINDS or not value:
        raise C360Error(
            "dsr.bad_subject",
            f"subject must be one of {', '.join(k + ':<value>' for k in KINDS)}",
            {"subject_kind": kind},
        )
    if kind == "ssn":
        ids.add("ssn", value)
        ids.add("ssn_token", ws.tokenizer.token("ssn", value))
    elif kind == "golden":
        ids.add("golden_id", value)
    elif kind == "source":
        if ":" not in value:
            raise C360Error("dsr.bad_subject", "use source:<source>:<key>")
        ids.add("source_key", value)
    else:
        ids.add(kind, value)
    if not ids.values:
        raise C360Error("dsr.bad_subject", f"no usable {kind} in the subject")
    return ids


class DataSubjectRequests:
    def __init__(self, ws: Workspace, settings: GovernanceSettings) -> None:
        self._ws = ws
        self._s = settings

    def _authorise(self, principal: Principal) -> None:
        for zone in ("silver", "restricted"):
            check_access(self._s, principal, zone, "dsr")

    def _find(self, ids: Identifiers, copies: Copies) -> dict[str, Found]:
        found = copies.lake(ids)  # grows ids to a fixpoint first
        found.update(copies.store(ids))
        found.update(copies.files(ids))
        return found

    # ------------------------------------------------------------------ export
    def export(self, principal: Principal, subject: str) -> DsrResult:
        """Every row of every declared table and file that holds the subject."""
        self._authorise(principal)
        ids = parse_subject(subject, self._ws)
        res = DsrResult(_request_id(), "export")
        copies = Copies(self._ws)
        try:
            for name, f in sorted(self._find(ids, copies).items()):
                rows = copies.store_records(f) if f.decl.kind == "store" else f.rows.to_pylist()
                res.tables[name] = len(rows)
                res.records[name] = rows
            redis, keys = self._redis(ids)
            if redis is not None and keys:
                res.tables[REDIS] = len(keys)
                res.records[REDIS] = redis.records(keys)
        finally:
            copies.close()
        self._audit(principal, res, subject)
        return res

    # ------------------------------------------------------------------ erase
    @writes("dsr.erase")
    def erase(self, principal: Principal, subject: str) -> DsrResult:
        self._authorise(principal)
        ids = parse_subject(subject, self._ws)
        res = DsrResult(_request_id(), "erase")
        holds = self.holds()
        copies = Copies(self._ws)
        try:
            self._erase(ids, copies, holds, res)
            redis, keys = self._redis(ids)
            if redis is not None and keys:
                res.tables[REDIS] = redis.erase(ids.of("golden_id"))
            self._check_gone(ids, copies, res)
        finally:
            copies.close()
        with self._ws.store.begin() as conn:
            res.tombstones = self._tombstone(conn, ids, res.request_id)
        self._compact_store(res)
        self._audit(principal, res, subject)
        return res

    def _erase(
        self, ids: Identifiers, copies: Copies, holds: dict[str, str], res: DsrResult
    ) -> None:
        for name, f in sorted(self._find(ids, copies).items()):
            target = name if f.decl.kind == "lake" else f.decl.name
            reason = holds.get(target) or holds.get(name) or f.decl.retained
            if reason:
                res.kept.append({"table": name, "rows": f.rows.num_rows, "reason": reason})
                continue
            if f.decl.kind == "lake":
                res.tables[name] = self._delete_lake(copies, name, f, res.request_id)
            elif f.decl.kind == "store":
                res.tables[name] = self._delete_store(copies, f)
            elif name.endswith((".parquet", ".csv", ".jsonl")):
                res.tables[name] = copies.rewrite_file(f)
            else:
                res.kept.append(
                    {"table": name, "rows": f.rows.num_rows, "reason": "not a rewritable file"}
                )

    def _delete_lake(self, copies: Copies, name: str, found: Found, request_id: str) -> int:
        zone, _, table = name.partition(".")
        pred = copies.predicate(found, "postgres")
        if pred is None:
            return 0
        lh = self._ws.lakehouse
        n = lh.delete(zone, table, pred, batch_id=f"dsr-{request_id}")
        lh.purge_history(zone, table)
        return n

    def _delete_store(self, copies: Copies, found: Found) -> int:
        pred = copies.store_predicate(found)
        if pred is None:
            return 0
        with self._ws.store.begin() as conn:
            r = conn.execute(text(f'DELETE FROM "{found.decl.target}" WHERE {pred}'))
            return int(r.rowcount or 0)

    def _check_gone(self, ids: Identifiers, copies: Copies, res: DsrResult) -> None:
        """Erasure is verified, not assumed: a copy still found is an error naming it."""
        kept = {k["table"] for k in res.kept}
        again = self._find(ids, copies)
        left = sorted(n for n in again if n not in kept)
        if self._redis(ids)[1]:
            left.append(REDIS)
        if left:
            raise C360Error(
                "dsr.incomplete",
                f"erasure left the subject in {', '.join(left)}",
                {"tables": left, "request_id": res.request_id},
            )

    def _redis(self, ids: Identifiers) -> tuple[RedisOnline | None, list[str]]:
        """The Redis copy of the online projection (when configured) and the subject's keys
        in it; the subject's golden ids come from the lakehouse search that ran first."""
        redis = self._ws.features.redis
        if redis is None:
            return None, []
        return redis, redis.holding(ids.of("golden_id"))

    def holds(self) -> dict[str, str]:
        out = {h.table: h.reason for h in self._s.legal_holds}
        with self._ws.store.begin() as conn:
            for r in conn.execute(select(legal_holds).where(legal_holds.c.released_at.is_(None))):
                out.setdefault(r.table_name, r.reason)
        return out

    def _tombstone(self, conn: Any, ids: Identifiers, request_id: str) -> int:
        now = datetime.now(UTC)
        n = 0
        for kind in TOMBSTONE_KINDS:  # never the raw SSN: its token covers it
            for v in ids.of(kind):
                tid = self._ws.tokenizer.keyed_hash(f"{kind}:{v}")
                conn.execute(delete(dsr_tombstones).where(dsr_tombstones.c.id == tid))
                source = v.split(":", 1)[0] if kind == "source_key" else None
                conn.execute(
                    dsr_tombstones.insert().values(
                        id=tid, kind=kind, source=source, request_id=request_id, created_at=now
                    )
                )
                n += 1
        return n

    def _compact_store(self, res: DsrResult) -> None:
        """SQLite keeps deleted rows' bytes in free pages and in its write-ahead log:
        VACUUM rewrites the file, and a checkpoint empties the log. A checkpoint cannot
        finish while another connection reads an older snapshot from the log; it waits for
        that reader up to ``CHECKPOINT_WAIT_MS``, and if the log still cannot be emptied
        the result says so rather than claiming the log is clean."""
        if self._ws.store.dialect != "sqlite":
            return
        with self._ws.store.engine.connect() as conn:
            wait = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
            try:
                conn.exec_driver_sql("PRAGMA busy_timeout = 0")  # the last checkpoint waits
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait or 0)}")
                conn.exec_driver_sql("VACUUM")  # waits for writers like any write
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
            finally:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait or 0)}")
        if busy:
            res.kept.append(
                {
                    "table": "store:write-ahead log",
                    "rows": 0,
                    "reason": "another connection kept the store's log open; erased rows' old "
                    "page images stay in it until its next checkpoint",
                }
            )

    def _audit(self, principal: Principal, res: DsrResult, subject: str) -> None:
        audit(self._ws).append(
            principal.name,
            f"dsr.{res.action}",
            res.request_id,
            {
                "subject": self._ws.tokenizer.keyed_hash(subject),
                "tables": res.tables,
                "kept": [{"table": k["table"], "rows": k["rows"]} for k in res.kept],
                "tombstones": res.tombstones,
            },
        )

    # ------------------------------------------------------------------ refusing the erased
    def _tombstone_ids(self) -> set[str]:
        with self._ws.store.begin() as conn:
            return {r.id for r in conn.execute(select(dsr_tombstones.c.id))}

    def has_tombstones(self) -> bool:
        """Cheap check so ingestion only looks rows up when someone was ever erased."""
        with self._ws.store.begin() as conn:
            return conn.execute(select(dsr_tombstones.c.id).limit(1)).first() is not None

    def is_tombstoned(self, source: str, source_key: str) -> bool:
        return self.is_erased("source_key", f"{source}:{source_key}")

    def is_erased(self, kind: str, value: Any) -> bool:
        """Whether an identifier (``email``, ``phone``, ``source_key`` …) belongs to an erased subject."""
        v = normalise(kind, value)
        return (
            v is not None and self._ws.tokenizer.keyed_hash(f"{kind}:{v}") in self._tombstone_ids()
        )

    def erased_mask(self, kind: str, values: list[Any]) -> list[bool]:
        """Per value: whether it is an erased subject's identifier of ``kind``."""
        ids = self._tombstone_ids()
        kh = self._ws.tokenizer.keyed_hash
        out = []
        for v in values:
            n = normalise(kind, v)
            out.append(n is not None and kh(f"{kind}:{n}") in ids)
        return out

    def filter_tombstoned(self, source: str, rows: pa.Table) -> tuple[pa.Table, int]:
        """Drop rows of ``source`` that hold an erased subject's key, reference, SSN token,
        e-mail or phone (as declared for the source); returns (kept, dropped)."""
        decl = self._ws.declarations.find(f"bronze.{source}")
        if decl is None or rows.num_rows == 0 or not self.has_tombstones():
            return rows, 0
        names = set(rows.column_names)
        drop = pa.array([False] * rows.num_rows)
        if decl.key and all(k in names for k in decl.key):
            keys = [
                f"{source}:" + source_key(r[k] for k in decl.key)
                for r in rows.select(list(decl.key)).to_pylist()
            ]
            drop = pc.or_(drop, pa.array(self.erased_mask("source_key", keys)))
        for col, ref in decl.refs.items():
            if col in names:
                vals = [None if v is None else f"{ref}:{v}" for v in rows[col].to_pylist()]
                drop = pc.or_(drop, pa.array(self.erased_mask("source_key", vals)))
        for col, kind in decl.finds.items():
            if col in names and kind in ("email", "phone", "ssn_token"):
                mask = self.erased_mask(kind, rows[col].to_pylist())
                drop = pc.or_(drop, pa.array(mask))
        kept = rows.filter(pc.invert(drop))
        return kept, rows.num_rows - kept.num_rows

    def hold(self, table: str, reason: str, *, actor: str) -> str:
        hold_id = _request_id()
        with self._ws.store.begin() as conn:
            conn.execute(
                legal_holds.insert().values(
                    hold_id=hold_id, table_name=table, reason=reason, created_at=datetime.now(UTC)
                )
            )
        audit(self._ws).append(
            actor, "dsr.legal_hold", table, {"hold_id": hold_id, "reason": reason}
        )
        return hold_id


def _request_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(4)


__all__ = ["DataSubjectRequests", "DsrResult", "parse_subject"]
