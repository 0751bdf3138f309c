"""``ws.consent``: the consent capability's façade (CLI, API and console call this).

Everything that lets data be *used* goes through :attr:`ConsentService.gate`
(point form) or :meth:`ConsentService.audience` (set form); both apply the
same written policy (:mod:`c360.consent.evaluate`, :mod:`c360.consent.setform`)
and both fail closed.
"""

from __future__ import annotations

import getpass
import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy.exc import SQLAlchemyError

from c360.consent import setfacts, setform, subjects
from c360.consent.bulk import duck
from c360.consent.capture import CaptureResult, capture
from c360.consent.evaluate import Decision
from c360.consent.gate import Gate, record_decision
from c360.consent.ledger import Event, Ledger, NewEvent
from c360.consent.suppression import ImportReport, Suppressions
from c360.consent.tables import contact_log
from c360.consent.vocab import now_us, to_us
from c360.errors import C360Error
from c360.lakehouse import Lakehouse
from c360.settings.consent import ConsentSettings, load_policy
from c360.settings.consent_policy import Policy
from c360.store import Store
from c360.store.lock import writes


@dataclass
class GateResult:
    """Set-form outcome: allowed rows, excluded rows (with ``reason`` and ``reasons``), counts."""

    allowed: pa.Table
    excluded: pa.Table
    counts: dict[str, int]
    policy_version: str
    decision_id: str
    purpose: str
    channel: str
    at: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.allowed.num_rows + self.excluded.num_rows


AUDIENCE_ZONES = ("gold", "silver")


class ConsentService:
    """Consent ledger, suppressions, subject index, contact log and the gate of a workspace."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._settings: ConsentSettings | None = None
        self._policy: tuple[Any, Policy] | None = None
        self.gate = Gate(lambda: self.ws.store, self.policy, record_all=self._record_all())

    # ------------------------------------------------------------------ config
    def _record_all(self) -> bool:
        try:
            return self.settings.record_point_checks
        except C360Error:
            return False

    @property
    def settings(self) -> ConsentSettings:
        if self._settings is None:
            self._settings = self.ws.config.consent
        return self._settings

    def policy(self) -> Policy:
        """The policy in force (re-read when the policy file changes)."""
        s = self.settings
        stamp: Any = None
        if s.policy_file:
            p = Path(s.policy_file)
            p = p if p.is_absolute() else self.ws.root / p
            try:
                st = p.stat()
                stamp = (st.st_mtime_ns, st.st_size)
            except OSError:
                stamp = "missing"
        if self._policy is None or self._policy[0] != stamp:
            self._policy = (stamp, load_policy(s, self.ws.root))
        return self._policy[1]

    @property
    def store(self) -> Store:
        store: Store = self.ws.store
        return store

    def _lakehouse(self) -> Lakehouse | None:
        """The workspace lakehouse, if it has one (the set form's fast path reads it)."""
        lh = getattr(self.ws, "lakehouse", None)
        return lh if isinstance(lh, Lakehouse) else None

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.store)

    @property
    def suppressions(self) -> Suppressions:
        return Suppressions(self.store)

    # ------------------------------------------------------------------ ledger
    def _audit(self, action: str, target: str, details: dict[str, Any]) -> None:
        """Consent writes and recorded checks are audited; identifiers only as keyed hashes."""
        log = getattr(self.ws, "audit", None)
        if log is not None:
            log.append(getpass.getuser(), action, target, details)

    def _hash(self, value: str) -> str:
        return str(self.ws.tokenizer.keyed_hash(value))

    def record(self, events: list[NewEvent]) -> list[str]:
        """Append consent events (all or none)."""
        ids = self.ledger.append(events, self.policy())
        self._audit(
            "consent.write",
            "consent_events",
            {
                "events": len(ids),
                "subjects": sorted({self._hash(f"{e.id_type}:{e.id_value}") for e in events}),
            },
        )
        return ids

    def set(
        self,
        golden_id: str,
        purpose: str,
        channel: str,
        status: str,
        *,
        evidence: str | None = None,
        effective_at: datetime | None = None,
        expires_at: datetime | None = None,
        actor: str | None = None,
        method: str = "manual",
        legal_basis: str = "consent",
        source_system: str = "c360",
        notice_text: str | None = None,
    ) -> str:
        """Record a consent fact against a golden record; returns the event id."""
        notice = hashlib.sha256(notice_text.encode()).hexdigest() if notice_text else None
        ev = NewEvent(
            "golden_id",
            golden_id,
            purpose,
            channel,
            status,
            legal_basis=legal_basis,
            source_system=source_system,
            method=method,
            notice_hash=notice,
            actor=actor or getpass.getuser(),
            evidence=evidence,
            effective_at=effective_at,
            expires_at=expires_at,
        )
        return self.record([ev])[0]

    @writes("consent.import")
    def import_events(self, path: str | Path, *, actor: str | None = None) -> list[str]:
        """Append every consent event of a CSV file, or none if any row is bad."""
        from c360.consent.ledger import read_events_csv

        pol = self.policy()
        ids = self.ledger.append(read_events_csv(path, pol, actor=actor or getpass.getuser()), pol)
        self._audit("consent.import", "consent_events", {"events": len(ids)})
        return ids

    def survivor(self, golden_id: str) -> str | None:
        """The golden id ``golden_id`` stands for today (itself, or the one record that absorbed
        it in a merge); None when the subject index knows no single such record."""
        from c360.consent.lineage import resolve

        with self.store.engine.connect() as conn:
            return resolve(conn, golden_id)

    def history(self, golden_id: str, *, known_at: datetime | None = None) -> list[Event]:
        """Every event about the record ``golden_id`` stands for (an absorbed id: its survivor)."""
        return self.ledger.history(self.survivor(golden_id) or golden_id, known_at=known_at)

    def show(self, golden_id: str, at: datetime | None = None) -> dict[str, Any]:
        """Every purpose × channel decision for one golden record (no contact policy); an
        absorbed id is answered for its survivor, named in ``redirected_from``."""
        at = at or datetime.now(UTC)
        pol = self.policy()
        to = self.survivor(golden_id) or golden_id
        grid = [self.gate.check(to, p, c, at).to_dict() for p in pol.purposes for c in pol.channels]
        return {
            "golden_id": to,
            "redirected_from": golden_id if to != golden_id else None,
            "at": at.isoformat(),
            "policy_version": pol.version_id,
            "decisions": grid,
        }

    # ------------------------------------------------------------------ gate
    def check(
        self,
        golden_id: str,
        purpose: str,
        channel: str,
        at: datetime | None = None,
        *,
        known_at: datetime | None = None,
        activation: bool = False,
        record: bool = False,
    ) -> Decision:
        """Point form of the gate (never raises; denies on any failure)."""
        d = self.gate.check(
            golden_id, purpose, channel, at, known_at=known_at, activation=activation, record=record
        )
        if record:
            try:
                self._audit(
                    "consent.check",
                    self._hash(f"golden_id:{golden_id}"),
                    {"purpose": purpose, "channel": channel, "allowed": d.allowed},
                )
            except C360Error as exc:
                # a recorded check whose evidence cannot be written is denied, never raised
                return replace(
                    d,
                    allowed=False,
                    reasons=["gate.store_unavailable", *d.reasons],
                    messages={
                        **d.messages,
                        "gate.store_unavailable": f"the decision could not be audited ({exc.code})",
                    },
                )
        return d

    def audience(
        self,
        audience: str | pa.Table,
        purpose: str,
        channel: str,
        at: datetime | None = None,
        *,
        known_at: datetime | None = None,
        activation: bool = False,
        record: bool = True,
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> GateResult:
        """Set form: filter an audience (SQL over the lakehouse views, or an Arrow table with golden_id).

        Raises ``consent.gate_unavailable`` if the policy or the store cannot be read — a set
        cannot be partially allowed, so the caller gets no rows at all.
        """
        at = at or datetime.now(UTC)
        at_us, known_us = to_us(at), to_us(known_at) if known_at else now_us()
        try:
            pol = self.policy()
        except C360Error as exc:
            raise C360Error(
                "consent.gate_unavailable", f"policy unreadable: {exc.message}"
            ) from exc
        own = con is None
        con = con or duck()
        try:
            if isinstance(audience, pa.Table):
                con.register("_cg_audience", audience)
            else:
                # the governed path: never a raw zone (bronze, quarantine, restricted)
                self.ws.governance.vet_sql(audience)
                if own:  # the SQL reads gold and silver tables as <zone>__<name> views
                    self.ws.lakehouse.duckdb(con, zones=AUDIENCE_ZONES)
                con.execute(f"CREATE OR REPLACE TEMP VIEW _cg_audience AS {audience}")
            try:
                with self.store.engine.connect() as conn:
                    base = setfacts.register_base(con, conn, self._lakehouse())
                    facts = setfacts.load_facts(
                        con, conn, pol, purpose, channel, at_us, known_us, activation
                    )
            except (C360Error, SQLAlchemyError, OSError, duckdb.Error) as exc:
                raise C360Error(
                    "consent.gate_unavailable", f"cannot read consent facts: {exc}"
                ) from exc
            view = setform.register(con, facts, pol, purpose, channel, at_us, activation=activation)
            allowed, excluded = setform.apply(
                con, "_cg_audience", pol, purpose, channel, view, at=at
            )
            counts: dict[str, int] = {}
            for r in excluded.column("reason").to_pylist():
                counts[r] = counts.get(r, 0) + 1
            moved = setform.redirected(con, "_cg_audience")
        finally:
            if own:
                con.close()
        result = GateResult(
            allowed,
            excluded,
            counts,
            pol.version_id,
            uuid.uuid4().hex,
            purpose,
            channel,
            at,
            {"facts_from": base, "redirected": moved},
        )
        if record:
            ids = (
                allowed.column("golden_id").to_pylist()
                if "golden_id" in allowed.column_names
                else []
            )
            digest = hashlib.sha256("\n".join(sorted(map(str, ids))).encode()).hexdigest()
            d = Decision(
                allowed.num_rows > 0,
                sorted(counts),
                [],
                pol.version_id,
                None,
                purpose,
                channel,
                at,
                known_at,
                activation,
                decision_id=result.decision_id,
            )
            record_decision(
                self.store,
                d,
                "set",
                {
                    "audience_rows": result.total,
                    "allowed_rows": allowed.num_rows,
                    "excluded_by_reason": counts,
                    "allowed_sha256": digest,
                },
            )
            self._audit(
                "consent.audience",
                result.decision_id,
                {
                    "purpose": purpose,
                    "channel": channel,
                    "rows": result.total,
                    "allowed": allowed.num_rows,
                },
            )
        return result

    # ------------------------------------------------------------------ identity, suppression, contacts
    @writes("consent.index")
    def refresh_identity_index(self) -> dict[str, Any]:
        """Rebuild the subject index from gold.identity_links / gold.golden_customers.

        A golden-level fact whose records a split spread over several golden records
        applies restrictively to all of them (its golden id is listed in ``undecided``)
        and raises a steward review task (``review_tasks_raised``). The summary names no
        source record: it lands in the run log.
        """
        from c360.identity import raise_consent_task

        out: dict[str, Any] = subjects.refresh(self.ws)
        raised = []
        at = datetime.now(UTC)
        with self.store.begin() as conn:
            for u in out["undecided"]:
                task = raise_consent_task(conn, u["golden_id"], u["parts"], at=at)
                if task is not None:
                    raised.append(task)
        out["undecided"] = [u["golden_id"] for u in out["undecided"]]
        out["review_tasks_raised"] = raised
        return out

    @writes("suppression.import")
    def import_suppressions(
        self,
        path: str | Path,
        list_name: str,
        *,
        id_type: str | None = None,
        hashed: bool = False,
        reason: str | None = None,
    ) -> ImportReport:
        rep = self.suppressions.import_file(
            path, list_name, self.policy(), id_type=id_type, hashed=hashed, reason=reason
        )
        self._audit(
            "consent.suppression_import", list_name, {"rows": rep.rows, "inserted": rep.inserted}
        )
        return rep

    def suppress(
        self,
        list_name: str,
        id_type: str,
        value: str,
        *,
        action: str = "add",
        reason: str | None = None,
        effective_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> str:
        entry = self.suppressions.add(
            list_name,
            id_type,
            value,
            self.policy(),
            action=action,
            reason=reason,
            effective_at=effective_at,
            expires_at=expires_at,
        )
        self._audit("consent.suppress", list_name, {"action": action, "subject": self._hash(value)})
        return entry

    def record_contact(
        self,
        golden_id: str,
        channel: str,
        purpose: str,
        *,
        outcome: str = "sent",
        at: datetime | None = None,
        decision_id: str | None = None,
    ) -> str:
        """Log a contact (or a decline: ``outcome="declined"``) for caps and cool-downs."""
        cid = uuid.uuid4().hex
        with self.store.begin() as conn:
            conn.execute(
                contact_log.insert(),
                [
                    {
                        "contact_id": cid,
                        "golden_id": golden_id,
                        "channel": channel,
                        "purpose": purpose,
                        "outcome": outcome,
                        "contacted_at_us": to_us(at or datetime.now(UTC)),
                        "decision_id": decision_id,
                        "recorded_at_us": now_us(),
                    }
                ],
            )
        return cid

    @writes("consent.capture")
    def capture_from_sources(self) -> list[CaptureResult]:
        """Append consent facts from the silver tables named in ``consent.capture``."""
        results = capture(self.ws, self.settings.capture, self.policy())
        self._audit(
            "consent.capture",
            "consent_events",
            {r.name: {"rows": r.rows, "appended": r.appended} for r in results},
        )
        return results

    # ------------------------------------------------------------------ reports
    def golden_attributes(
        self,
        at: datetime | None = None,
        *,
        purposes: list[str] | None = None,
        channels: list[str] | None = None,
    ) -> pa.Table:
        from c360.consent.report import golden_attributes

        return golden_attributes(
            self, at or datetime.now(UTC), purposes=purposes, channels=channels
        )

    def audience_report(
        self,
        audience: str | pa.Table,
        purpose: str,
        channel: str,
        at: datetime | None = None,
        *,
        activation: bool = False,
    ) -> dict[str, Any]:
        from c360.consent.report import audience_report

        return audience_report(
            self, audience, purpose, channel, at or datetime.now(UTC), activation=activation
        )
