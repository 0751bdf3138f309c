"""Capture consent facts from silver tables (ESP unsubscribes, SMS keywords, CRM …).

Each :class:`~c360.settings.consent.CaptureSource` maps a table's columns onto
ledger events (or suppression entries). Every produced fact carries an
idempotency key ``sha256(mapping|subject|purpose|channel|status|at)``, so
re-running capture appends nothing new. Tables or columns that do not exist
are skipped and reported, rows with a bad identifier or no time are counted.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlglot import exp

from c360.consent.ledger import insert_ignoring_duplicates
from c360.consent.suppression import entry_row, hint
from c360.consent.tables import consent_events, suppressions
from c360.consent.vocab import STATUSES, WILDCARD, id_hash, normalise, now_us
from c360.engine import AUTHORING_DIALECT, Engine, column, literal, table
from c360.errors import C360Error
from c360.settings.consent import CaptureSource, Columns
from c360.settings.consent_policy import Policy


@dataclass
class CaptureResult:
    name: str
    table: str
    status: str  # captured | skipped
    reason: str | None = None
    rows: int = 0
    appended: int = 0
    invalid: int = 0
    invalid_samples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _pick(candidates: Columns, present: set[str]) -> list[str]:
    cands = [candidates] if isinstance(candidates, str) else list(candidates)
    return [c for c in cands if c in present]


def _validate(src: CaptureSource, policy: Policy) -> None:
    if src.purpose != WILDCARD and src.purpose not in policy.purposes:
        raise C360Error(
            "config.invalid",
            f"consent.capture[{src.name}]: unknown purpose {src.purpose!r}",
        )
    if src.channel != WILDCARD and src.channel not in policy.channels:
        raise C360Error(
            "config.invalid",
            f"consent.capture[{src.name}]: unknown channel {src.channel!r}",
        )
    for v in src.values.values():
        if v is not None and v not in STATUSES:
            raise C360Error("config.invalid", f"consent.capture[{src.name}]: unknown status {v!r}")
    if src.target == "suppression" and src.list_name not in policy.suppression_lists:
        raise C360Error(
            "config.invalid",
            f"consent.capture[{src.name}]: unknown list {src.list_name!r}",
        )
    if src.subject_type == "source_key" and not src.source:
        raise C360Error("config.invalid", f"consent.capture[{src.name}]: source_key needs `source`")


def _sql(expr: exp.Expression) -> str:
    return expr.sql(dialect=AUTHORING_DIALECT)


def _query(src: CaptureSource, engine: Engine) -> tuple[str | None, str]:
    view = f"silver__{src.table}"
    present = set(engine.columns(view))
    subj, status, at = (
        _pick(src.subject, present),
        _pick(src.status, present),
        _pick(src.at, present),
    )
    missing = [n for n, c in (("subject", subj), ("status", status), ("at", at)) if not c]
    missing += [f"where.{k}" for k in src.where if k not in present]
    if missing:
        return None, f"column(s) not found for {', '.join(missing)}"
    at_expr = (
        "coalesce("
        + ", ".join(f"epoch_us(try_cast({_sql(column(c))} AS TIMESTAMP))" for c in at)
        + ")"
    )
    where = " AND ".join(
        f"lower(trim(CAST({_sql(column(k))} AS VARCHAR))) = {_sql(literal(v.lower()))}"
        for k, v in src.where.items()
    )
    sql = (
        f"SELECT CAST({_sql(column(subj[0]))} AS VARCHAR) AS subject, "
        f"lower(trim(CAST({_sql(column(status[0]))} AS VARCHAR))) AS raw, "
        f"{at_expr} AS at_us FROM {_sql(table(view))}" + (f" WHERE {where}" if where else "")
    )
    return sql, ""


def capture(
    ws: Any, sources: list[CaptureSource], policy: Policy, *, conn: Connection | None = None
) -> list[CaptureResult]:
    """Run every mapping; returns one result per mapping (writes in ``conn`` when given)."""
    results: list[CaptureResult] = []
    lh = ws.lakehouse
    con = ws.engine.fork()  # its session time zone (UTC by default) reads naive times
    try:
        for src in sources:
            _validate(src, policy)
            if not lh.exists("silver", src.table):
                results.append(
                    CaptureResult(
                        src.name, src.table, "skipped", f"silver.{src.table} does not exist"
                    )
                )
                continue
            con.register_delta(f"silver__{src.table}", lh.path("silver", src.table))
            sql, why = _query(src, con)
            if sql is None:
                results.append(CaptureResult(src.name, src.table, "skipped", why))
                continue
            results.append(_capture_one(ws, src, con, sql, conn))
    finally:
        con.close()
    return results


def _capture_one(
    ws: Any,
    src: CaptureSource,
    con: Engine,
    sql: str,
    conn: Connection | None,
) -> CaptureResult:
    res = CaptureResult(src.name, src.table, "captured")
    values = {k.lower(): v for k, v in src.values.items()}
    rec = now_us()
    rows: list[dict[str, Any]] = []
    for batch in con.query(sql).to_batches(10_000):
        cols = [batch.column(i).to_pylist() for i in range(3)]
        for subject, raw, at_us in zip(*cols, strict=True):
            res.rows += 1
            status = values.get(raw or "")
            if status is None:
                continue
            if at_us is None or subject is None:
                res.invalid += 1
                continue
            value = f"{src.source}:{subject}" if src.subject_type == "source_key" else subject
            try:
                norm = normalise(src.subject_type, value)
            except C360Error as exc:
                res.invalid += 1
                if len(res.invalid_samples) < 5:
                    res.invalid_samples.append(exc.message)
                continue
            key = hashlib.sha256(
                f"{src.name}|{src.subject_type}|{norm}|{src.purpose}|{src.channel}|{status}|{at_us}".encode()
            ).hexdigest()
            if src.target == "suppression":
                action = "add" if status in ("denied", "revoked") else "remove"
                row = entry_row(
                    str(src.list_name),
                    src.subject_type,
                    id_hash(norm),
                    action,
                    hint_text=hint(src.subject_type, norm),
                    reason=f"capture:{src.name}",
                    effective_us=int(at_us),
                    recorded_us=rec,
                    expires_us=None,
                    import_id=None,
                )
                row["capture_key"] = key
            else:
                row = {
                    "event_id": uuid.uuid4().hex,
                    "id_type": src.subject_type,
                    "id_value": norm,
                    "purpose": src.purpose,
                    "channel": src.channel,
                    "status": status,
                    "legal_basis": "consent",
                    "source_system": src.table,
                    "method": src.method,
                    "notice_hash": None,
                    "actor": f"capture:{src.name}",
                    "evidence": f"silver.{src.table} {raw}",
                    "captured_at_us": int(at_us),
                    "effective_at_us": int(at_us),
                    "recorded_at_us": rec,
                    "expires_at_us": None,
                    "capture_key": key,
                }
            rows.append(row)
    table = suppressions if src.target == "suppression" else consent_events
    if conn is not None:
        res.appended = insert_ignoring_duplicates(conn, table, rows)
    else:
        with ws.store.begin() as own:
            res.appended = insert_ignoring_duplicates(own, table, rows)
    return res
