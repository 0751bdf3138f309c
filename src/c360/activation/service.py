"""``ws.activation``: drain the outbox to the channels, report its state, prove zero violations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select, text

from c360.activation.drain import Drain, DrainReport
from c360.activation.tables import deliveries, outbox

if TYPE_CHECKING:
    from c360.workspace import Workspace

# Every delivered attempt must point at a gate decision, taken for the same golden record,
# purpose and channel, *for an activation*, that allowed it, before the delivery was written.
VIOLATIONS_SQL = text(
    "SELECT d.attempt_id, d.message_id, d.gate_decision_id FROM deliveries d "
    "JOIN outbox o ON o.message_id = d.message_id "
    "LEFT JOIN gate_decisions g ON g.decision_id = d.gate_decision_id "
    "WHERE d.outcome = 'delivered' AND (g.decision_id IS NULL OR g.allowed = false "
    "OR g.activation = false OR g.golden_id <> d.golden_id OR g.purpose <> o.purpose "
    "OR g.channel <> o.channel OR g.decided_at_us > d.at_us)"
)


class ActivationService:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._golden: pa.Table | None = None
        self._looked_up: set[str] = set()
        self._addresses: dict[str, str] = {}

    def _read_golden(self, ids: list[str]) -> pa.Table:
        t = self.ws.lakehouse.read("gold", "golden_customers", ["golden_id", "email", "phone"])
        return t.filter(pc.is_in(t.column("golden_id"), value_set=pa.array(ids, pa.string())))

    def _prefetch(self, golden_ids: list[str]) -> None:
        """Read the addresses of one send batch from the golden records (never stored).

        The first batch of a drain reads the golden records of every pending message at
        once (a million-row table is scanned once, not once per batch); a record that
        was not pending then (a message queued during the drain) is read when needed.
        """
        if self._golden is None:
            with self.ws.store.engine.connect() as conn:
                pending = list(
                    conn.execute(
                        select(outbox.c.golden_id).where(outbox.c.status == "pending").distinct()
                    ).scalars()
                )
            self._golden = self._read_golden(pending + golden_ids)
            self._looked_up = set(pending) | set(golden_ids)
        want = pa.array(golden_ids, pa.string())
        t = self._golden.filter(pc.is_in(self._golden.column("golden_id"), value_set=want))
        # a record without a golden row (erased since) is looked up once, not every batch
        missing = sorted(set(golden_ids) - self._looked_up)
        if missing:
            self._looked_up.update(missing)
            extra = self._read_golden(missing)
            self._golden = pa.concat_tables([self._golden, extra])
            t = pa.concat_tables([t, extra])
        found: dict[str, str] = {}
        for g, e, p in zip(
            *(t.column(c).to_pylist() for c in ("golden_id", "email", "phone")), strict=True
        ):
            if e:
                found[f"email:{g}"] = e
            if p:
                found[f"phone:{g}"] = p
        self._addresses = found

    def _resolve(self, golden_id: str, kind: str) -> str | None:
        """The address a channel needs, read from the golden record at send time (never stored)."""
        return self._addresses.get(f"{kind}:{golden_id}")

    def drain(self, **kw: Any) -> DrainReport:
        """Send every due message (see :mod:`c360.activation.drain`), holding the write lock."""
        s = self.ws.decisioning.settings.activation
        self._golden, self._addresses, self._looked_up = None, {}, set()
        with self.ws.write_lock("activation"):
            d = Drain(self.ws, s, self._resolve, self._prefetch)
            with self.ws.governance.lineage.run(
                "activation",
                kw.pop("run_id", None) or "activate",
                inputs=["store.outbox", "gold.golden_customers"],
                outputs=[f"channel.{c}" for c in sorted(s.channels)],
            ):
                rep = d.run(**kw)
        self.ws.audit.append("system", "activation.drain", "outbox", rep.to_dict())
        return rep

    def status(self) -> dict[str, Any]:
        with self.ws.store.engine.connect() as conn:
            by = conn.execute(
                select(outbox.c.channel, outbox.c.status, func.count()).group_by(
                    outbox.c.channel, outbox.c.status
                )
            ).all()
            dead = (
                conn.execute(
                    select(
                        outbox.c.message_id,
                        outbox.c.channel,
                        outbox.c.attempts,
                        outbox.c.last_error,
                    )
                    .where(outbox.c.status.in_(["dead", "blocked"]))
                    .order_by(outbox.c.updated_at_us.desc())
                    .limit(50)
                )
                .mappings()
                .all()
            )
            attempts: dict[str, int] = dict(
                conn.execute(
                    select(deliveries.c.outcome, func.count()).group_by(deliveries.c.outcome)
                ).all()
            )
        counts: dict[str, dict[str, int]] = {}
        for ch, st, n in by:
            counts.setdefault(ch, {})[st] = n
        return {
            "by_channel": counts,
            "attempts": attempts,
            "dead_letters": [
                dict(r) for r in dead if r["last_error"] and not r["last_error"].startswith("gate:")
            ],
            "blocked": [dict(r) for r in dead if (r["last_error"] or "").startswith("gate:")],
            "violations": len(self.violations()),
        }

    def violations(self) -> list[dict[str, Any]]:
        """Deliveries without an allowing activation gate decision at send time (must be empty)."""
        with self.ws.store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(VIOLATIONS_SQL).mappings()]
