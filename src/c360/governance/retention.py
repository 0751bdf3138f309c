"""``c360 retention apply``: delete rows older than each table's retention period.

Rules are data (``governance.retention``: table glob, keep_days,
timestamp column). Tables under a legal hold are kept and listed. Deleted rows
are really gone: they are deleted through the lakehouse writer (a targeted
Delta delete), then the table's history is purged
(:meth:`c360.lakehouse.Lakehouse.purge_history`). Old rows are counted on a fork of
the workspace engine (:class:`~c360.engine.Engine`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from c360.engine import AUTHORING_DIALECT, Engine, literal
from c360.governance._ws import audit, governance
from c360.governance.masking import q
from c360.settings.governance import GovernanceSettings
from c360.store.lock import writes

if TYPE_CHECKING:
    from c360.lakehouse import TableInfo
    from c360.workspace import Workspace


@dataclass
class RetentionReport:
    as_of: str
    dry_run: bool
    deleted: dict[str, int] = field(default_factory=dict)
    kept: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Retention:
    def __init__(self, ws: Workspace, settings: GovernanceSettings) -> None:
        self._ws = ws
        self._s = settings

    @writes("retention")
    def apply(
        self, *, as_of: datetime | None = None, dry_run: bool = False, actor: str = "system"
    ) -> RetentionReport:
        as_of = (as_of or datetime.now(UTC)).astimezone(UTC)
        report = RetentionReport(as_of.isoformat(), dry_run)
        holds = {h.table: h.reason for h in self._s.legal_holds}
        holds.update(governance(self._ws).dsr.holds())
        lh = self._ws.lakehouse
        with self._ws.engine.fork() as engine:
            for info in lh.tables(count_rows=False):
                self._table(engine, info, holds, as_of, report)
        if not dry_run:
            audit(self._ws).append(actor, "retention.apply", "lakehouse", report.to_dict())
        return report

    def _table(
        self,
        engine: Engine,
        info: TableInfo,
        holds: dict[str, str],
        as_of: datetime,
        report: RetentionReport,
    ) -> None:
        """Count one table's rows past its rule's period; delete them unless held or dry."""
        lh = self._ws.lakehouse
        rule = next(
            (r for r in self._s.retention if fnmatch.fnmatchcase(info.qualified, r.table)), None
        )
        if rule is None:
            return
        dt = lh.table(info.zone, info.name)
        ds = dt.to_pyarrow_dataset()
        if rule.column not in ds.schema.names:
            return
        cutoff = as_of - timedelta(days=rule.keep_days)
        since = literal(cutoff.isoformat()).sql(AUTHORING_DIALECT)
        old = f"TRY_CAST({q(rule.column)} AS TIMESTAMPTZ) < CAST({since} AS TIMESTAMPTZ)"
        with engine.temp_views(retention_rows=ds):
            n = int(engine.scalar(f"SELECT count(*) FROM retention_rows WHERE {old}"))
        if n == 0:
            return
        if info.qualified in holds:
            report.kept.append(
                {"table": info.qualified, "rows": n, "reason": holds[info.qualified]}
            )
            return
        report.deleted[info.qualified] = n
        if report.dry_run:
            return
        cut = _literal(ds.schema.field(rule.column).type, cutoff)
        old_rows = exp.LT(this=exp.column(rule.column, quoted=True), expression=cut)
        lh.delete(info.zone, info.name, old_rows.sql("postgres"), batch_id="retention")
        lh.purge_history(info.zone, info.name)


_UNITS = {"s": "Second", "ms": "Millisecond", "us": "Microsecond", "ns": "Nanosecond"}


def _literal(arrow_type: pa.DataType, cutoff: datetime) -> exp.Expression:
    """The cutoff as a literal of the column's own type (the Delta engine does not coerce
    between timestamp units or time zones)."""
    text = exp.Literal.string(cutoff.isoformat())
    if pa.types.is_timestamp(arrow_type):
        tz = f'Some("{arrow_type.tz}")' if arrow_type.tz else "None"
        target = f"Timestamp({_UNITS[arrow_type.unit]}, {tz})"
        if not arrow_type.tz:
            text = exp.Literal.string(cutoff.replace(tzinfo=None).isoformat())
        return exp.Anonymous(this="arrow_cast", expressions=[text, exp.Literal.string(target)])
    if pa.types.is_date(arrow_type):
        return exp.cast(exp.Literal.string(cutoff.date().isoformat()), exp.DataType.build("date"))
    return text
