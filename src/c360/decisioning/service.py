"""``ws.decisioning``: audiences, triggers, the next-best-action agent, HITL and the decision log.

A plain façade with typed namespaces (``audiences``, later ``agent``, ``hitl``,
``log``); CLI, API and console call these. Settings come from
the ``decisioning:`` block of c360.yaml (:mod:`c360.settings.decisioning`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from c360.decisioning import context as ctxmod
from c360.decisioning.agent import Agent
from c360.decisioning.audiences import Audiences
from c360.decisioning.catalogue import Catalogue, load_catalogue
from c360.decisioning.decisionlog import DecisionLog
from c360.decisioning.hitl import Hitl
from c360.decisioning.ondemand import CONTEXTS, OnDemand
from c360.decisioning.triggers import (
    STREAM_COLUMNS,
    Firing,
    Trigger,
    TriggerSet,
    firing_query,
    firings,
    load_trigger_set,
    referenced,
)
from c360.engine import Engine
from c360.errors import C360Error
from c360.settings.decisioning import DecisioningSettings

if TYPE_CHECKING:
    from c360.workspace import Workspace


class DecisioningService:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.audiences = Audiences(self)
        self.agent = Agent(self)
        self.hitl = Hitl(self)
        self.log = DecisionLog(self)
        self.ondemand = OnDemand(self)

    @cached_property
    def settings(self) -> DecisioningSettings:
        return self.ws.config.decisioning

    # ------------------------------------------------------------------ context
    def _require_golden(self) -> None:
        if not self.ws.lakehouse.exists("gold", "golden_customers"):
            raise C360Error(
                "decisioning.no_golden_records",
                "gold.golden_customers does not exist yet; run `c360 run` first",
            )

    def register_context(self, con: Engine, as_of: date) -> ctxmod.Context:
        """Create the context view on ``con`` (a fork of ``ws.engine``, say)."""
        self._require_golden()
        return ctxmod.register(con, self.ws.lakehouse, as_of)

    def context_columns(self, as_of: date | None = None) -> list[str]:
        with self.ws.engine.fork() as con:
            return self.register_context(con, as_of or self.data_as_of()).columns

    def data_as_of(self) -> date:
        """The latest business day in the data (balances, else logins), else today (UTC).

        Signals compare 30-day windows ending on this day, so a world whose
        data stops before today still has meaningful triggers.
        """
        lh = self.ws.lakehouse
        for table, col in (("core_balances", "as_of"), ("digital_logins", "at")):
            if lh.exists("silver", table):
                t = lh.read("silver", table, [col]).column(col)
                if len(t):
                    import pyarrow.compute as pc

                    v = pc.max(t).as_py()
                    if v is not None:
                        return (
                            v if isinstance(v, date) and not isinstance(v, datetime) else v.date()
                        )
        return datetime.now(UTC).date()

    @cached_property
    def catalogue(self) -> Catalogue:
        return load_catalogue(
            self.settings.catalogue_file, self.ws.root, set(self.context_columns())
        )

    @cached_property
    def trigger_set(self) -> TriggerSet:
        return load_trigger_set(
            self.settings.triggers_file, self.ws.root, set(self.context_columns())
        )

    @property
    def triggers(self) -> list[Trigger]:
        """Batch triggers: conditions over the customer context."""
        return self.trigger_set.triggers

    @property
    def stream_triggers(self) -> list[Trigger]:
        """Stream triggers: the context plus the stream's window and running counters."""
        return self.trigger_set.stream_triggers

    @property
    def triggers_version(self) -> str:
        import hashlib

        text = "|".join(t.model_dump_json() for t in (*self.triggers, *self.stream_triggers))
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    def trigger(self, name: str) -> Trigger:
        for t in (*self.triggers, *self.stream_triggers):
            if t.name == name:
                return t
        raise C360Error("decisioning.unknown_trigger", f"no trigger {name!r}")

    def describe(self, name: str) -> str:
        """What a decision's trigger means: a trigger rule, or an interactive context."""
        if name in CONTEXTS:
            return CONTEXTS[name]
        return self.trigger(name).description

    # ------------------------------------------------------------------ triggers and decisions
    def _fire(
        self, con: Engine, as_of: date, golden_ids: list[str] | None
    ) -> tuple[ctxmod.Context, list[Firing]]:
        ctx = self.register_context(con, as_of)
        q = firing_query(ctx.view, self.triggers, set(ctx.columns))
        if golden_ids is not None:
            import pyarrow as pa
            from sqlglot import exp

            con.register("_fire_ids", pa.table({"golden_id": pa.array(golden_ids, pa.string())}))
            q = q.where(exp.column("golden_id").isin(exp.select("golden_id").from_("_fire_ids")))
        rows = con.query(q).to_pylist()
        return ctx, firings(rows, self.triggers, self.settings.context_weights)

    def context_snapshot(self, as_of: date) -> tuple[Any, list[Firing]]:
        """Every customer's context row with eligibility per action (Arrow), and the firings."""
        with self.ws.engine.fork() as con:
            ctx, fired = self._fire(con, as_of, None)
            ids = con.query(exp.select("golden_id").from_(exp.to_table(ctx.view))).column(0)
            rows = self.agent.context_rows_table(con, ctx.view, ctx.columns, ids.to_pylist())
        return rows, fired

    def evaluate_triggers(
        self, as_of: date | None = None, *, golden_ids: list[str] | None = None
    ) -> list[Firing]:
        """Every customer a trigger fires for (batch), or only ``golden_ids`` (single events)."""
        with self.ws.engine.fork() as con:
            return self._fire(con, as_of or self.data_as_of(), golden_ids)[1]

    def stream_context_columns(self, columns: list[str]) -> list[str]:
        """Of the context ``columns``, those the stream triggers read (the stream adds its own)."""
        cols = set(columns) | set(STREAM_COLUMNS)
        return [c for c in referenced(self.stream_triggers, cols) if c not in STREAM_COLUMNS]

    def fire_stream(self, rows: pa.Table) -> list[tuple[int, list[str]]]:
        """Evaluate the stream triggers over ``rows`` (one per customer and event window:
        the context columns of :meth:`stream_context_columns` and every stream column).

        Returns, per row that fires, its index and the names of the triggers it fires,
        highest weight first; the caller keeps each (trigger, customer, window) once.
        """
        ts = self.stream_triggers
        if not ts or rows.num_rows == 0:
            return []
        with self.ws.engine.fork() as con:
            con.register("_stream_rows", rows.append_column("_row", pa.array(range(rows.num_rows))))
            q = firing_query("_stream_rows", ts, set(rows.column_names), keys=("_row",))
            out = con.query(q).to_pylist()
        weights = self.settings.context_weights
        result = []
        for r in out:
            fired = [t for i, t in enumerate(ts) if r[f"_t{i}"]]
            fired.sort(key=lambda t: -weights.get(t.name, t.weight))
            result.append((int(r["_row"]), [t.name for t in fired]))
        return result

    def decide_firings(
        self,
        fired: list[Firing],
        rows: dict[str, dict[str, Any]],
        *,
        as_of: date,
        at: datetime | None = None,
        run_id: str | None = None,
        extra: Any = None,
    ) -> list[dict[str, Any]]:
        """Decide for firings made elsewhere (the stream), each with its context row
        (eligibility columns included, as :meth:`Agent.context_rows` gives them).

        The decisions, tasks, messages and assignments are written in one transaction
        together with ``extra(conn, decisions)`` (the caller's own bookkeeping, e.g. the
        stream's firing records), so they commit together or not at all. Returns the
        decision rows.
        """
        at = at or datetime.now(UTC)
        used = self._capacity_used()
        results = [
            self.agent.decide(f, rows[f.golden_id], as_of=as_of, at=at, run_id=run_id, used=used)
            for f in fired
        ]
        self.agent.write(results, extra=extra)
        return [r["decision"] for r in results]

    def _capacity_used(self) -> dict[str, int]:
        """Decisions per action that still hold capacity (queued, waiting for review, or
        held out)."""
        from sqlalchemy import func, select

        from c360.decisioning.tables import decisions

        with self.ws.store.engine.connect() as conn:
            return dict(
                conn.execute(
                    select(decisions.c.chosen_action, func.count())
                    .where(decisions.c.status.in_(["queued", "hitl", "held_out"]))
                    .group_by(decisions.c.chosen_action)
                ).all()
            )

    def decide(
        self,
        *,
        as_of: date | None = None,
        at: datetime | None = None,
        golden_ids: list[str] | None = None,
        run_id: str | None = None,
        chunk: int = 500,
        progress: Any = None,
    ) -> dict[str, Any]:
        """Evaluate triggers and decide for every firing; returns counts per status and trigger."""

        with self.ws.write_lock("decisioning"):
            return self._decide(as_of, at, golden_ids, run_id, chunk, progress)

    def _decide(
        self,
        as_of: date | None,
        at: datetime | None,
        golden_ids: list[str] | None,
        run_id: str | None,
        chunk: int,
        progress: Any,
    ) -> dict[str, Any]:
        as_of = as_of or self.data_as_of()
        at = at or datetime.now(UTC)
        with self.ws.engine.fork() as con:
            ctx, fired = self._fire(con, as_of, golden_ids)
            rows = self.agent.context_rows(con, ctx.view, ctx.columns, [f.golden_id for f in fired])
        used = self._capacity_used()
        summary: dict[str, Any] = {
            "as_of": as_of.isoformat(),
            "fired": len(fired),
            "by_status": {},
            "by_trigger": {},
            "decision_ids": [],
            "missing_inputs": ctx.missing,
        }
        batch: list[dict[str, Any]] = []
        for i, f in enumerate(fired):
            r = self.agent.decide(
                f, rows[f.golden_id], as_of=as_of, at=at, run_id=run_id, used=used
            )
            batch.append(r)
            d = r["decision"]
            summary["by_status"][d["status"]] = summary["by_status"].get(d["status"], 0) + 1
            summary["by_trigger"][d["trigger"]] = summary["by_trigger"].get(d["trigger"], 0) + 1
            summary["decision_ids"].append(d["decision_id"])
            if len(batch) >= chunk:
                self.agent.write(batch)
                batch = []
            if progress is not None:
                progress("decide", i + 1, len(fired))
        self.agent.write(batch)
        self.audit(
            "system",
            "decisioning.decide",
            run_id or "adhoc",
            {"fired": len(fired), "by_status": summary["by_status"]},
        )
        return summary

    # ------------------------------------------------------------------ governance hooks
    def audit(self, actor: str, action: str, target: str, details: dict[str, Any]) -> None:
        self.ws.audit.append(actor, action, target, details)

    def declare(self, table: str, columns: dict[str, str]) -> None:
        """Declare the personal-data classes of a table this capability writes."""
        self.ws.governance.declare(table, columns, owner="decisioning", declared_by="decisioning")
