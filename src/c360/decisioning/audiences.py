"""Audiences: a filter over the customer context, a purpose and a channel, built through the gate.

``create`` stores a new version of a definition (the filter must compile over the
context's columns; purpose and channel must exist in the consent policy). ``build``
selects the matching golden records, passes them through the consent gate's set
form (a join, recorded in ``gate_decisions``), appends the allowed rows to the
versioned ``gold.audiences`` snapshot and records counts before and after the gate,
exclusions per reason and the build time in ``audience_builds``. ``preview`` does
the same without writing anything.
"""

from __future__ import annotations

import builtins
import getpass
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import func, select
from sqlglot import exp

from c360.decisioning import context as ctxmod
from c360.decisioning.filters import compile_filter, render, select_where
from c360.decisioning.tables import audience_builds, audiences
from c360.engine import Engine, column, literal, table
from c360.errors import C360Error

if TYPE_CHECKING:
    from c360.decisioning.service import DecisioningService

SNAPSHOT_SCHEMA = pa.schema(
    [
        ("audience", pa.string()),
        ("audience_version", pa.int32()),
        ("build_id", pa.string()),
        ("golden_id", pa.string()),
        ("purpose", pa.string()),
        ("channel", pa.string()),
        ("as_of", pa.date32()),
        ("built_at", pa.timestamp("us", tz="UTC")),
    ]
)
SNAPSHOT_CLASSES = {
    "audience": "none",
    "audience_version": "none",
    "build_id": "none",
    "golden_id": "derived",
    "purpose": "none",
    "channel": "none",
    "as_of": "none",
    "built_at": "none",
}


@dataclass(frozen=True)
class Audience:
    name: str
    version: int
    filter: str
    purpose: str
    channel: str
    description: str | None
    created_at_us: int
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BuildResult:
    build_id: str
    audience: str
    version: int
    as_of: str
    seconds: float
    before: int
    after: int
    excluded: dict[str, int]
    gate_decision_id: str
    policy_version: str
    sample: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now_us() -> int:
    return int(datetime.now(UTC).timestamp() * 1_000_000)


class Audiences:
    """``ws.decisioning.audiences``."""

    def __init__(self, svc: DecisioningService) -> None:
        self.svc = svc

    @property
    def _store(self) -> Any:
        return self.svc.ws.store

    # ------------------------------------------------------------------ definitions
    def create(
        self,
        name: str,
        filter: str,
        purpose: str,
        channel: str,
        *,
        description: str | None = None,
        actor: str | None = None,
    ) -> Audience:
        """Store a new version (or return the latest if the definition is unchanged)."""
        if not ctxmod.IDENT.match(name) or len(name) > 80:
            raise C360Error(
                "decisioning.audience_invalid",
                f"audience name {name!r}: use lower-case letters, digits and _",
            )
        policy = self.svc.ws.consent.policy()
        if purpose not in policy.purposes:
            raise C360Error(
                "decisioning.audience_invalid",
                f"unknown purpose {purpose!r} (policy has {', '.join(policy.purposes)})",
            )
        if channel not in policy.channels:
            raise C360Error(
                "decisioning.audience_invalid",
                f"unknown channel {channel!r} (policy has {', '.join(policy.channels)})",
            )
        compile_filter(filter, set(self.svc.context_columns()), what=f"audience {name}")
        latest = self.get(name, missing_ok=True)
        if latest and (latest.filter, latest.purpose, latest.channel, latest.description) == (
            filter,
            purpose,
            channel,
            description,
        ):
            return latest
        aud = Audience(
            name,
            (latest.version + 1) if latest else 1,
            filter,
            purpose,
            channel,
            description,
            _now_us(),
            actor or getpass.getuser(),
        )
        with self._store.begin() as conn:
            conn.execute(audiences.insert(), [aud.to_dict()])
        self.svc.audit(
            actor or getpass.getuser(), "audience.create", name, {"version": aud.version}
        )
        return aud

    def get(self, name: str, version: int | None = None, *, missing_ok: bool = False) -> Any:
        q = select(audiences).where(audiences.c.name == name)
        q = (
            q.where(audiences.c.version == version)
            if version
            else q.order_by(audiences.c.version.desc())
        )
        with self._store.engine.connect() as conn:
            row = conn.execute(q.limit(1)).mappings().first()
        if row is None:
            if missing_ok:
                return None
            raise C360Error("decisioning.unknown_audience", f"no audience {name!r}")
        return Audience(**dict(row))

    def list(self) -> builtins.list[dict[str, Any]]:
        """Latest version of each audience with its last build."""
        with self._store.engine.connect() as conn:
            latest = conn.execute(
                select(audiences.c.name, func.max(audiences.c.version)).group_by(audiences.c.name)
            ).all()
            out = []
            for name, version in sorted(latest):
                a = self.get(name, version)
                last = self.builds(name, limit=1)
                out.append({**a.to_dict(), "last_build": last[0] if last else None})
        return out

    def builds(self, name: str, *, limit: int = 20) -> builtins.list[dict[str, Any]]:
        with self._store.engine.connect() as conn:
            rows = conn.execute(
                select(audience_builds)
                .where(audience_builds.c.name == name)
                .order_by(audience_builds.c.built_at_us.desc())
                .limit(limit)
            ).mappings()
            return [dict(r) for r in rows]

    def show(self, name: str) -> dict[str, Any]:
        a = self.get(name)
        return {**a.to_dict(), "builds": self.builds(name)}

    # ------------------------------------------------------------------ preview / build
    def _select(self, con: Engine, aud: Audience, as_of: date) -> tuple[str, ctxmod.Context]:
        ctx = self.svc.register_context(con, as_of)
        cond = compile_filter(aud.filter, set(ctx.columns), what=f"audience {aud.name}")
        return render(select_where(ctx.view, cond, ["golden_id"])), ctx

    def preview(
        self,
        name: str,
        *,
        as_of: date | None = None,
        at: datetime | None = None,
        sample: int = 10,
    ) -> dict[str, Any]:
        """Size before and after the gate and a sample; records nothing."""
        return self._run(self.get(name), as_of, at, sample=sample, write=False).to_dict()

    def build(
        self,
        name: str,
        *,
        as_of: date | None = None,
        at: datetime | None = None,
        run_id: str | None = None,
    ) -> BuildResult:
        """Build the latest version through the gate's set form; append the snapshot."""
        with self.svc.ws.write_lock("audience"):
            return self._run(self.get(name), as_of, at, sample=5, write=True, run_id=run_id)

    def _run(
        self,
        aud: Audience,
        as_of: date | None,
        at: datetime | None,
        *,
        sample: int,
        write: bool,
        run_id: str | None = None,
    ) -> BuildResult:
        t0 = time.perf_counter()
        as_of = as_of or self.svc.data_as_of()
        at = at or datetime.now(UTC)
        with self.svc.ws.engine.fork() as con:
            sql, _ = self._select(con, aud, as_of)
            gate = self.svc.ws.consent.audience(
                sql, aud.purpose, aud.channel, at, record=write, engine=con
            )
        build_id = uuid.uuid4().hex
        built = datetime.now(UTC)
        allowed = gate.allowed
        if write:
            ids = allowed.column("golden_id")
            n = allowed.num_rows
            snap = pa.table(
                {
                    "audience": pa.array([aud.name] * n, pa.string()),
                    "audience_version": pa.array([aud.version] * n, pa.int32()),
                    "build_id": pa.array([build_id] * n, pa.string()),
                    "golden_id": ids.cast(pa.string()),
                    "purpose": pa.array([aud.purpose] * n, pa.string()),
                    "channel": pa.array([aud.channel] * n, pa.string()),
                    "as_of": pa.array([as_of] * n, pa.date32()),
                    "built_at": pa.array([built] * n, pa.timestamp("us", tz="UTC")),
                },
                schema=SNAPSHOT_SCHEMA,
            )
            lh = self.svc.ws.lakehouse
            lh.append("gold", "audiences", snap, batch_id=build_id)
            self.svc.declare("gold.audiences", SNAPSHOT_CLASSES)
        seconds = round(time.perf_counter() - t0, 4)
        result = BuildResult(
            build_id,
            aud.name,
            aud.version,
            as_of.isoformat(),
            seconds,
            gate.total,
            allowed.num_rows,
            dict(sorted(gate.counts.items(), key=lambda kv: -kv[1])),
            gate.decision_id,
            gate.policy_version,
            [{"golden_id": g} for g in allowed.column("golden_id").to_pylist()[:sample]],
        )
        if write:
            with self._store.begin() as conn:
                conn.execute(
                    audience_builds.insert(),
                    [
                        {
                            "build_id": build_id,
                            "name": aud.name,
                            "version": aud.version,
                            "as_of": result.as_of,
                            "built_at_us": int(built.timestamp() * 1_000_000),
                            "seconds": seconds,
                            "before": result.before,
                            "after": result.after,
                            "excluded": result.excluded,
                            "gate_decision_id": gate.decision_id,
                            "policy_version": gate.policy_version,
                            "run_id": run_id,
                        }
                    ],
                )
            self.svc.audit("system", "audience.build", aud.name, {"build_id": build_id})
        return result

    def members(self, name: str, build_id: str | None = None) -> builtins.list[str]:
        """Golden ids of a build (default: the latest) from ``gold.audiences``."""
        build_id = build_id or (self.builds(name, limit=1) or [{}])[0].get("build_id")
        if not build_id:
            raise C360Error("decisioning.audience_not_built", f"audience {name!r} was never built")
        t = self.svc.ws.lakehouse.read("gold", "audiences", ["build_id", "golden_id"])
        with self.svc.ws.engine.fork() as con, con.temp_views(t=t):
            q = (
                exp.select(column("golden_id"))
                .from_(table("t"))
                .where(exp.EQ(this=column("build_id"), expression=literal(build_id)))
                .order_by(column("golden_id"))
            )
            return con.query(q).column(0).to_pylist()
