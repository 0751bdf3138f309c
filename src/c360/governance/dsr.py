"""Data-subject requests: export everything held about a person, or erase it.

A subject is given as ``kind:value`` — ``email:ann@x.com``, ``phone:+1555…``,
``ssn:123-45-6789``, ``golden:G123`` or ``source:crm:C001``. The request is
resolved to a closed set of identifiers: rows matching the given identifier are
found in every registered table (:mod:`c360.governance.registry`) and their
*strong* identifiers (source keys, golden ids, SSN tokens) are followed until
nothing new appears. Contact points (email, phone) are only matched as given,
never followed, so a shared household email does not pull in other people.

Erase rewrites each affected Delta table without the person's rows, vacuums
the old files and drops the old log entries (whose column statistics could
still hold the values), deletes registered store rows, keeps tables under a
legal hold (and lists them), and records keyed tombstones so ingestion can
refuse the person's records when the same source drop comes again.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from sqlalchemy import bindparam, delete, select, text

from c360.errors import C360Error
from c360.governance._ws import audit
from c360.governance.masking import q
from c360.governance.policy import Principal, check_access
from c360.governance.registry import PersonalTable, lake_tables, store_tables
from c360.governance.tables import dsr_tombstones, legal_holds
from c360.settings.governance import GovernanceSettings
from c360.store.lock import writes
from c360.tokens import digits

if TYPE_CHECKING:
    from c360.workspace import Workspace

KINDS = ("email", "phone", "ssn", "golden", "source")
_NORM = {
    "email": "lower(trim(CAST({c} AS VARCHAR)))",
    "phone": "right(regexp_replace(CAST({c} AS VARCHAR), '[^0-9]', '', 'g'), 10)",
    "ssn": "regexp_replace(CAST({c} AS VARCHAR), '[^0-9]', '', 'g')",
    "ssn_token": "CAST({c} AS VARCHAR)",
    "golden_id": "CAST({c} AS VARCHAR)",
}


@dataclass
class Identifiers:
    values: dict[str, set[str]] = field(default_factory=dict)  # kind -> normalised values

    def add(self, kind: str, value: Any) -> bool:
        if value is None or value == "":
            return False
        s = self.values.setdefault(kind, set())
        v = str(value)
        if v in s:
            return False
        s.add(v)
        return True

    def table(self) -> pa.Table:
        rows = [(k, v) for k, vs in sorted(self.values.items()) for v in sorted(vs)]
        return pa.table(
            {"kind": [r[0] for r in rows], "v": [r[1] for r in rows]},
            schema=pa.schema([("kind", pa.string()), ("v", pa.string())]),
        )


@dataclass
class DsrResult:
    request_id: str
    action: str
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows found / erased
    kept: list[dict[str, Any]] = field(default_factory=list)  # legal holds
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
    if kind == "email":
        ids.add("email", value.strip().lower())
    elif kind == "phone":
        ids.add("phone", (digits(value) or "")[-10:])
    elif kind == "ssn":
        ids.add("ssn", digits(value))
        ids.add("ssn_token", ws.tokenizer.token("ssn", value))
    elif kind == "golden":
        ids.add("golden_id", value)
    else:
        if ":" not in value:
            raise C360Error("dsr.bad_subject", "use source:<source>:<key>")
        ids.add("source_key", value)
    return ids


class DataSubjectRequests:
    def __init__(self, ws: Workspace, settings: GovernanceSettings) -> None:
        self._ws = ws
        self._s = settings

    # ------------------------------------------------------------------ matching
    def _condition(self, pt: PersonalTable, names: set[str]) -> str:
        conds: list[str] = []
        for col, kind in pt.columns.items():
            if col in names and kind in _NORM:
                conds.append(
                    f"{_NORM[kind].format(c=q(col))} IN (SELECT v FROM ids WHERE kind = '{kind}')"
                )
        if pt.key and all(k in names for k in pt.key):
            keyexpr = (
                "concat_ws('|', " + ", ".join(f"CAST({q(k)} AS VARCHAR)" for k in pt.key) + ")"
            )
            prefix = f"'{pt.source}:' || " if pt.source else ""
            if not pt.source:  # identity_links: (source, source_key)
                keyexpr = (
                    f"CAST({q(pt.key[0])} AS VARCHAR) || ':' || CAST({q(pt.key[1])} AS VARCHAR)"
                )
            conds.append(f"{prefix}{keyexpr} IN (SELECT v FROM ids WHERE kind = 'source_key')")
        return "coalesce(" + " OR ".join(conds) + ", false)" if conds else "false"

    def _matches(self, ids: Identifiers) -> dict[str, tuple[PersonalTable, pa.Table]]:
        lh = self._ws.lakehouse
        found: dict[str, tuple[PersonalTable, pa.Table]] = {}
        for _round in range(5):
            con = duckdb.connect()
            con.register("ids", ids.table())
            grew = False
            for pt in lake_tables(self._ws):
                zone, _, name = pt.table.partition(".")
                if not lh.exists(zone, name):
                    continue
                ds = lh.dataset(zone, name)
                con.register("t", ds)
                rows = con.sql(
                    f"SELECT * FROM t WHERE {self._condition(pt, set(ds.schema.names))}"
                ).to_arrow_table()
                if rows.num_rows:
                    found[pt.table] = (pt, rows)
                    grew |= self._expand(ids, pt, rows)
            con.close()
            if not grew:
                break
        return found

    def _expand(self, ids: Identifiers, pt: PersonalTable, rows: pa.Table) -> bool:
        grew = False
        names = set(rows.column_names)
        for col, kind in pt.columns.items():
            if col not in names or kind not in ("golden_id", "ssn_token", "ssn"):
                continue
            for v in pc.unique(rows[col]).to_pylist():
                if kind == "ssn":
                    grew |= ids.add("ssn", digits(v))
                    grew |= ids.add("ssn_token", self._ws.tokenizer.token("ssn", v))
                else:
                    grew |= ids.add(kind, v)
        if pt.key and all(k in names for k in pt.key):
            for r in rows.select(list(pt.key)).to_pylist():
                parts = [str(r[k]) for k in pt.key]
                grew |= ids.add(
                    "source_key", f"{pt.source}:{'|'.join(parts)}" if pt.source else ":".join(parts)
                )
        return grew

    def _store_matches(self, ids: Identifiers) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._ws.store.begin() as conn:
            for pt in store_tables():
                name = pt.table.split(":", 1)[1]
                for col, kind in pt.columns.items():
                    vals = sorted(ids.values.get(kind, set()))
                    if vals:
                        stmt = text(f'SELECT count(*) FROM {name} WHERE "{col}" IN :v')
                        n = conn.execute(
                            stmt.bindparams(bindparam("v", expanding=True)), {"v": vals}
                        ).scalar()
                        out[pt.table] = out.get(pt.table, 0) + int(n or 0)
        return out

    # ------------------------------------------------------------------ requests
    def _authorise(self, principal: Principal) -> None:
        for zone in ("silver", "restricted"):
            check_access(self._s, principal, zone, "dsr")

    def export(self, principal: Principal, subject: str) -> DsrResult:
        self._authorise(principal)
        ids = parse_subject(subject, self._ws)
        res = DsrResult(_request_id(), "export")
        for table, (_, rows) in sorted(self._matches(ids).items()):
            res.tables[table] = rows.num_rows
            res.records[table] = rows.to_pylist()
        res.tables.update(self._store_matches(ids))
        self._audit(principal, res, subject)
        return res

    @writes("dsr.erase")
    def erase(self, principal: Principal, subject: str) -> DsrResult:
        self._authorise(principal)
        ids = parse_subject(subject, self._ws)
        res = DsrResult(_request_id(), "erase")
        holds = self.holds()
        for table, (pt, rows) in sorted(self._matches(ids).items()):
            if table in holds:
                res.kept.append({"table": table, "rows": rows.num_rows, "reason": holds[table]})
                continue
            zone, _, name = table.partition(".")
            res.tables[table] = self._rewrite(zone, name, pt, ids)
        with self._ws.store.begin() as conn:
            for pt in store_tables():
                name = pt.table.split(":", 1)[1]
                for col, kind in pt.columns.items():
                    vals = sorted(ids.values.get(kind, set()))
                    if vals and pt.table not in holds:
                        stmt = text(f'DELETE FROM {name} WHERE "{col}" IN :v')
                        r = conn.execute(
                            stmt.bindparams(bindparam("v", expanding=True)), {"v": vals}
                        )
                        res.tables[pt.table] = res.tables.get(pt.table, 0) + int(r.rowcount or 0)
            res.tombstones = self._tombstone(conn, ids, res.request_id)
        self._compact_store()
        self._audit(principal, res, subject)
        return res

    def _rewrite(self, zone: str, name: str, pt: PersonalTable, ids: Identifiers) -> int:
        lh = self._ws.lakehouse
        path = lh.path(zone, name)
        dt = lh.table(zone, name)
        parts = dt.metadata().partition_columns
        ds = dt.to_pyarrow_dataset()
        con = duckdb.connect()
        try:
            con.register("ids", ids.table())
            con.register("t", ds)
            cond = self._condition(pt, set(ds.schema.names))
            before = int(ds.count_rows())
            keep = con.sql(f"SELECT * FROM t WHERE NOT {cond}").to_arrow_table()
        finally:
            con.close()
        write_deltalake(str(path), keep, mode="overwrite", partition_by=parts or None)
        scrub_history(path)
        return before - keep.num_rows

    def holds(self) -> dict[str, str]:
        out = {h.table: h.reason for h in self._s.legal_holds}
        with self._ws.store.begin() as conn:
            for r in conn.execute(select(legal_holds).where(legal_holds.c.released_at.is_(None))):
                out.setdefault(r.table_name, r.reason)
        return out

    def _tombstone(self, conn: Any, ids: Identifiers, request_id: str) -> int:
        now = datetime.now(UTC)
        n = 0
        for kind, values in ids.values.items():
            if kind == "ssn":
                continue  # the token covers it; the raw number is never kept
            for v in values:
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

    def _compact_store(self) -> None:
        if self._ws.store.dialect == "sqlite":
            with self._ws.store.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.exec_driver_sql("VACUUM")

    def _audit(self, principal: Principal, res: DsrResult, subject: str) -> None:
        audit(self._ws).append(
            principal.name,
            f"dsr.{res.action}",
            res.request_id,
            {
                "subject": self._ws.tokenizer.keyed_hash(subject),
                "tables": res.tables,
                "kept": res.kept,
                "tombstones": res.tombstones,
            },
        )

    # ------------------------------------------------------------------ ingestion interface
    def has_tombstones(self) -> bool:
        """Cheap check so ingestion only looks rows up when someone was ever erased."""
        with self._ws.store.begin() as conn:
            return conn.execute(select(dsr_tombstones.c.id).limit(1)).first() is not None

    def is_tombstoned(self, source: str, source_key: str) -> bool:
        tid = self._ws.tokenizer.keyed_hash(f"source_key:{source}:{source_key}")
        with self._ws.store.begin() as conn:
            return (
                conn.execute(select(dsr_tombstones.c.id).where(dsr_tombstones.c.id == tid)).first()
                is not None
            )

    def filter_tombstoned(self, source: str, rows: pa.Table) -> tuple[pa.Table, int]:
        """Drop rows of ``source`` whose key or SSN token is tombstoned; returns (kept, dropped)."""
        contract = self._ws.contracts().get(source)
        with self._ws.store.begin() as conn:
            ids = {r.id for r in conn.execute(select(dsr_tombstones.c.id))}
        if not ids or contract is None or rows.num_rows == 0:
            return rows, 0
        kh = self._ws.tokenizer.keyed_hash
        drop = pa.array([False] * rows.num_rows)
        names = set(rows.column_names)
        if contract.key and all(k in names for k in contract.key):
            keys = [
                ("|".join(str(r[k]) for k in contract.key))
                for r in rows.select(contract.key).to_pylist()
            ]
            drop = pc.or_(drop, pa.array([kh(f"source_key:{source}:{k}") in ids for k in keys]))
        for spec in contract.columns:
            col = spec.name + "_token"
            if spec.tokenize in ("ssn", "tin") and col in names:
                drop = pc.or_(
                    drop,
                    pa.array(
                        [
                            v is not None and kh(f"ssn_token:{v}") in ids
                            for v in rows[col].to_pylist()
                        ]
                    ),
                )
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


_LOG_FILE = re.compile(r"^(\d{20})\.")


def scrub_history(path: Path) -> None:
    """Vacuum every unreferenced data file and drop log entries older than the current version.

    Old commits carry per-file column statistics (min/max values) that can hold
    erased values, so after an erasure the table keeps only its current state.
    """
    dt = DeltaTable(str(path))
    dt.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    dt.create_checkpoint()
    version = dt.version()
    for f in (path / "_delta_log").iterdir():
        m = _LOG_FILE.match(f.name)
        if m and int(m.group(1)) < version:
            f.unlink()
