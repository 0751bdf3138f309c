"""``ws.governance``: the one governed read path and the governance namespaces.

``read(principal, zone, table, purpose)`` is the only way the API, console,
exports and audience builds should read lakehouse tables on behalf of a person
or a downstream system: it checks role, purpose and zone, resolves each
column's class and rule from the policy data, compiles the masks and row
filters to one DuckDB query over the table's Arrow dataset, and audits the
read (principal, role, purpose, table, columns, rule per column, row count).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Hashable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select

from c360.errors import C360Error, NotFoundError
from c360.governance import masking
from c360.governance._ws import audit, table_schema
from c360.governance.classification import Catalogue
from c360.governance.policy import Principal, check_access, row_filters, rule_for
from c360.governance.readpath import vet_sql
from c360.governance.tables import column_classes
from c360.lakehouse.declarations import source_key
from c360.settings.governance import CLASSES, GovernanceSettings

if TYPE_CHECKING:
    from c360.governance.dsr import DataSubjectRequests
    from c360.governance.lineage import Lineage
    from c360.governance.principals import Principals
    from c360.governance.retention import Retention
    from c360.governance.trace import Tracer
    from c360.workspace import Workspace

# A consent-purpose read of at most this many people takes the gate's point form
# (:meth:`GovernanceService._consented`).
POINT_FORM_MAX = 128


class GovernanceService:
    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self.settings: GovernanceSettings = ws.config.governance
        self._plans: dict[tuple[Any, ...], masking.Plan] = {}
        self._plans_lock = threading.Lock()

    # ------------------------------------------------------------------ namespaces
    @cached_property
    def principals(self) -> Principals:
        from c360.governance.principals import Principals

        return Principals(self._ws, self.settings)

    @cached_property
    def lineage(self) -> Lineage:
        from c360.governance.lineage import Lineage

        return Lineage(self._ws, self.settings.lineage)

    @cached_property
    def dsr(self) -> DataSubjectRequests:
        from c360.governance.dsr import DataSubjectRequests

        return DataSubjectRequests(self._ws, self.settings)

    @cached_property
    def retention(self) -> Retention:
        from c360.governance.retention import Retention

        return Retention(self._ws, self.settings)

    @cached_property
    def tracer(self) -> Tracer:
        from c360.governance.trace import Tracer

        return Tracer(self._ws)

    # ------------------------------------------------------------------ catalogue
    def catalogue(self, tables: list[str] | None = None) -> Catalogue:
        return Catalogue(self._ws, self.settings, only=tables)

    def declare(
        self, table: str, columns: dict[str, str], *, owner: str = "", declared_by: str = "system"
    ) -> None:
        """A stage declares the classes of the columns of a table it writes (e.g. gold)."""
        bad = {c: k for c, k in columns.items() if k not in CLASSES}
        if bad:
            raise C360Error(
                "governance.unknown_class", f"unknown class(es) {bad} for {table}", {"columns": bad}
            )
        with self._ws.store.begin() as conn:
            conn.execute(
                column_classes.delete()
                .where(column_classes.c.table_name == table)
                .where(column_classes.c.column_name.in_(list(columns)))
            )
            conn.execute(
                column_classes.insert(),
                [
                    {
                        "table_name": table,
                        "column_name": c,
                        "pii_class": k,
                        "owner": owner,
                        "declared_by": declared_by,
                    }
                    for c, k in columns.items()
                ],
            )
        audit(self._ws).append(
            declared_by, "catalog.declare", table, {"columns": columns, "owner": owner}
        )

    # ------------------------------------------------------------------ governed read
    def plan(
        self,
        principal: Principal,
        zone: str,
        table: str,
        purpose: str | None,
        columns: list[str] | None = None,
        where: dict[str, Any] | None = None,
    ) -> masking.Plan:
        """Compile (but do not run) a governed read — also used to explain a policy."""
        role = check_access(self.settings, principal, zone, purpose)
        purpose = str(purpose)  # check_access refused a missing one
        lh = self._ws.lakehouse
        if not lh.exists(zone, table):
            raise NotFoundError(message=f"table {zone}.{table} does not exist")
        schema = table_schema(self._ws, zone, table)
        qualified = f"{zone}.{table}"
        entry = self.catalogue([qualified]).table(zone, table)
        cols = entry.columns if entry else {}
        rules = {}
        for f in schema:
            info = cols.get(f.name)
            cls = info.effective if info else "pii"
            rules[f.name] = rule_for(role, purpose, f.name, cls)
        # A filter for every table ("*") partitions the tables that carry its column; one
        # that names its tables fails closed on a named table without the column.
        names = set(schema.names)
        filters = [
            (rf.column, principal.attributes.get(rf.attribute))
            for rf in row_filters(role, qualified)
            if rf.tables != ["*"] or rf.column in names
        ]
        return masking.compile_read(
            schema, rules, columns=columns, row_filters=filters, where=where
        )

    def read(
        self,
        principal: Principal,
        zone: str,
        table: str,
        purpose: str | None,
        columns: list[str] | None = None,
        where: dict[str, Any] | None = None,
        *,
        rows: pa.Table | None = None,
        version: Hashable | None = None,
    ) -> pa.Table:
        """Read ``zone.table`` for ``principal`` and ``purpose``: masked, row-filtered,
        consent-withheld for a consent purpose, audited (inside an API request, the
        entry is committed with the request's own, before the response starts).

        ``rows`` are rows of that table held elsewhere (the serving projection keeps the
        golden records in the store): they are governed exactly like the table — the same
        plan, consent withholding, masking and audit. Their plan is compiled once per
        role, purpose, attributes, columns, filter shape, ``version`` (of the copy) and
        policy (the table's runtime class declarations), and then reused.
        """
        try:
            if rows is None:
                plan = self.plan(principal, zone, table, purpose, columns, where)
            else:
                plan = self._cached_plan(
                    principal, zone, table, purpose, columns, where, rows.schema, version
                )
        except C360Error as exc:
            audit(self._ws).defer(
                principal.name,
                "read.denied",
                f"{zone}.{table}",
                {"role": principal.role, "purpose": purpose, "code": exc.code},
            )
            raise
        data: Any = self._ws.lakehouse.dataset(zone, table) if rows is None else rows
        details: dict[str, Any] = {}
        if purpose in self.settings.consent_purposes:
            data, withheld = self._consented(zone, table, data, str(purpose))
            details["consent_withheld"] = withheld
        if rows is not None:
            details["served_from"] = "projection"
        out = masking.execute(plan, data, self._ws.tokenizer.keyed_hash, self._ws.engine)
        audit(self._ws).defer(
            principal.name,
            "read",
            f"{zone}.{table}",
            {
                "role": principal.role,
                "purpose": purpose,
                "columns": list(plan.rules),
                "rules": {c: r for c, r in plan.rules.items() if r != "clear"},
                "filters": sorted((where or {}).keys()),
                "rows": out.num_rows,
                **details,
            },
        )
        return out

    def _cached_plan(
        self,
        principal: Principal,
        zone: str,
        table: str,
        purpose: str | None,
        columns: list[str] | None,
        where: dict[str, Any] | None,
        schema: pa.Schema,
        version: Hashable | None,
    ) -> masking.Plan:
        """:meth:`plan`, compiled once per shape and version and bound to ``where``'s values.

        Access is checked on every call (a refused purpose is never served from the
        cache); the policy key is the table's runtime class declarations, which
        ``c360 catalog`` or a stage may change while a server runs.
        """
        check_access(self.settings, principal, zone, purpose)
        values = {
            k: list(v) if isinstance(v, list | tuple | set) else [v]
            for k, v in (where or {}).items()
        }
        with self._ws.store.engine.connect() as conn:
            policy = tuple(
                conn.execute(
                    select(
                        column_classes.c.column_name,
                        column_classes.c.pii_class,
                    )
                    .where(column_classes.c.table_name == f"{zone}.{table}")
                    .order_by(column_classes.c.column_name)
                ).all()
            )
        key = (
            principal.role,
            json.dumps(principal.attributes, sort_keys=True, default=str),
            purpose,
            zone,
            table,
            tuple(columns) if columns else None,
            tuple((k, len(v)) for k, v in values.items()),
            version,
            schema,
            policy,
        )
        with self._plans_lock:
            hit = self._plans.get(key)
        if hit is None:
            shape = {k: [None] * len(v) for k, v in values.items()}
            hit = masking.prepare(
                self.plan(principal, zone, table, purpose, columns, shape),
                schema,
                self._ws.tokenizer.keyed_hash,
                self._ws.engine,
            )
            with self._plans_lock:
                if len(self._plans) >= 256:
                    self._plans.clear()
                self._plans[key] = hit
        bound = [x for v in values.values() for x in v]
        fixed = hit.params[: len(hit.params) - len(bound)] if bound else hit.params
        return hit.bind([*fixed, *bound])

    def _consented(self, zone: str, table: str, data: Any, purpose: str) -> tuple[pa.Table, int]:
        """The rows of ``data`` whose person the consent gate allows for ``purpose`` on at
        least one channel, and how many were withheld: the set form, one pass per channel,
        or for at most :data:`POINT_FORM_MAX` people the point form (the two forms give the
        same answers — tests/consent's oracle holds them to it — and a pass of the set form
        costs ~0.1 s whatever the audience's size, a point decision ~0.4 ms).

        A row is tied to its person by ``golden_id``, or — for a source table — by its
        contract key through the current ``gold.identity_links``. A row that cannot be tied
        to a golden record is withheld; a table with neither is refused."""
        rows: pa.Table = data.to_table() if hasattr(data, "to_table") else data
        if "golden_id" in rows.column_names:
            ids = rows["golden_id"]
        else:
            ids = self._linked_ids(zone, table, rows)
        wanted = pa.table(
            {"golden_id": pc.unique(ids.combine_chunks()).drop_null().cast(pa.string())}
        )
        allowed: set[str] = set()
        consent = self._ws.consent
        channels = consent.policy().channels
        people = wanted.column("golden_id").to_pylist()
        if len(people) <= POINT_FORM_MAX:
            # a few people (an API read of one profile): the point form answers each
            # (person, channel) from indexed keys in milliseconds, as the set form would
            asks = [(g, purpose, channel) for g in people for channel in channels]
            decisions = consent.check_many(asks)
            allowed.update(g for (g, _, _), d in zip(asks, decisions, strict=True) if d.allowed)
        else:
            for channel in channels:
                res = consent.audience(wanted, purpose, channel, record=False)
                allowed.update(res.allowed.column("golden_id").to_pylist())
        keep = pc.is_in(ids, value_set=pa.array(sorted(allowed), pa.string()))
        keep = pc.fill_null(keep, False)
        kept = rows.filter(keep)
        return kept, rows.num_rows - kept.num_rows

    def _linked_ids(self, zone: str, table: str, rows: pa.Table) -> pa.ChunkedArray:
        contract = self._ws.contracts().get(table) if zone in ("silver", "bronze") else None
        lh = self._ws.lakehouse
        if contract is None or not contract.key or not lh.exists("gold", "identity_links"):
            raise C360Error(
                "governance.consent_unresolvable",
                f"{zone}.{table} has no golden_id and no identity links, so a read for a "
                "consent purpose cannot withhold the people who have not consented; read "
                "gold.golden_customers, or build an audience through the consent gate",
                http_status=403,
            )
        links = lh.read("gold", "identity_links")
        if "is_current" in links.column_names:
            links = links.filter(pc.fill_null(links["is_current"], False))
        links = links.filter(pc.equal(links["source"], table))
        by_key = dict(
            zip(links["source_key"].to_pylist(), links["golden_id"].to_pylist(), strict=True)
        )
        keys = zip(*(rows[k].to_pylist() for k in contract.key), strict=True)
        return pa.chunked_array([pa.array([by_key.get(source_key(k)) for k in keys], pa.string())])

    # ------------------------------------------------------------------ SQL over the lakehouse
    def vet_sql(self, sql: str) -> list[str]:
        """Refuse SQL (an audience, a query) that reads a raw zone or files directly.

        Returns the lakehouse views it names. Bronze, quarantine and restricted hold raw
        or unmasked data and are read only through :meth:`read` by roles allowed them.
        """
        return vet_sql(sql)

    # ------------------------------------------------------------------ UC SQL
    def uc_sql(self) -> dict[str, str]:
        """Unity Catalog SQL files (name -> text) generated from the same policy."""
        from c360.governance.ucsql import generate

        return generate(self.catalogue(), self.settings)
