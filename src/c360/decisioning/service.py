"""``ws.decisioning``: audiences, triggers, the next-best-action agent, HITL and the decision log.

A plain façade with typed namespaces (``audiences``, later ``agent``, ``hitl``,
``log``); CLI, API and console call these. Settings come from
the ``decisioning:`` block of c360.yaml (:mod:`c360.settings.decisioning`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import duckdb

from c360.decisioning import context as ctxmod
from c360.decisioning.audiences import Audiences
from c360.decisioning.catalogue import Catalogue, load_catalogue
from c360.errors import C360Error
from c360.settings.decisioning import DecisioningSettings

if TYPE_CHECKING:
    from c360.workspace import Workspace


class DecisioningService:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.audiences = Audiences(self)

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

    def register_context(self, con: duckdb.DuckDBPyConnection, as_of: date) -> ctxmod.Context:
        self._require_golden()
        return ctxmod.register(con, self.ws.lakehouse, as_of)

    def context_columns(self, as_of: date | None = None) -> list[str]:
        con = duckdb.connect()
        try:
            return self.register_context(con, as_of or self.data_as_of()).columns
        finally:
            con.close()

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

    # ------------------------------------------------------------------ governance hooks
    def audit(self, actor: str, action: str, target: str, details: dict[str, Any]) -> None:
        self.ws.audit.append(actor, action, target, details)

    def declare(self, table: str, columns: dict[str, str]) -> None:
        """Declare the personal-data classes of a table this capability writes."""
        self.ws.governance.declare(table, columns, owner="decisioning", declared_by="decisioning")
