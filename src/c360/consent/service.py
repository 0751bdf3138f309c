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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from c360.consent import setfacts, setform, subjects
from c360.consent.capture import CaptureResult, capture
from c360.consent.decisions import read_decisions
from c360.consent.evaluate import Decision, shown, time_problem
from c360.consent.gate import Gate, record_decision, unavailable
from c360.consent.ledger import Event, Ledger, NewEvent
from c360.consent.suppression import ImportReport, Suppressions
from c360.consent.tables import consent_subject_index, contact_log
from c360.consent.vocab import check_hash, normalise, now_us, to_us
from c360.engine import Engine
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
        self.gate = Gate(
            lambda: self.ws.store,
            self.policy,
            record_all=self._record_all(),
            audit=self._audit_decision,
        )

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
    def _audit(
        self,
        action: str,
        target: str,
        details: dict[str, Any],
        *,
        conn: Connection | None = None,
        actor: str | None = None,
    ) -> None:
        """Consent writes and recorded checks are audited; identifiers only as keyed hashes.

        Pass the write's ``conn`` so the entry commits (or rolls back) with the write."""
        self.ws.audit.append(actor or getpass.getuser(), action, target, details, conn=conn)

    def _audit_decision(
        self, conn: Connection, d: Decision, kind: str, inputs: dict[str, Any]
    ) -> None:
        """The audit entry of a recorded gate decision (same transaction as its row)."""
        details: dict[str, Any] = {
            "kind": kind,
            "purpose": d.purpose,
            "channel": d.channel,
            "at": d.at.isoformat(),
            "known_at": d.known_at.isoformat() if d.known_at else None,
            "activation": d.activation,
            "allowed": d.allowed,
            "reasons": d.reasons,
            "policy_version": d.policy_version,
        }
        if d.golden_id is not None:
            details["subject"] = self._hash(f"golden_id:{d.golden_id}")
        if d.address is not None:
            details["address"] = d.address
        if kind == "set":
            details.update({k: inputs[k] for k in ("audience_rows", "allowed_rows") if k in inputs})
        action = "consent.check" if kind == "point" else "consent.audience"
        self._audit(action, d.decision_id, details, conn=conn, actor=inputs.get("actor"))

    def _hash(self, value: str) -> str:
        return str(self.ws.tokenizer.keyed_hash(value))

    def unknown_identifiers(
        self, conn: Connection, idents: list[tuple[str, str]], *, hashed: bool = False
    ) -> list[tuple[str, str]]:
        """The (id_type, normalised value) pairs no current golden record holds.

        With ``hashed`` the values are sha256 digests and are looked up by hash."""
        idx = consent_subject_index
        col = idx.c.id_hash if hashed else idx.c.id_value
        known = {
            v
            for (v,) in conn.execute(
                select(col).where(col.in_(sorted({v for _, v in idents}))).distinct()
            )
        }
        return [(t, v) for t, v in idents if v not in known]

    @staticmethod
    def _refuse_unknown(unknown: list[tuple[str, str]]) -> None:
        if unknown:
            t, v = unknown[0]
            raise C360Error(
                "consent.unknown_subject",
                f"no customer has {t} {shown(t, v)}: nothing was recorded. Check the "
                "identifier, or record it ahead of the customer's arrival with --allow-unknown "
                "(allow_unknown=True); it binds when a record with that identifier arrives",
                {"unknown": [{"id_type": a, "id_value": shown(a, b)} for a, b in unknown]},
                http_status=404,
            )

    def record(
        self,
        events: list[NewEvent],
        *,
        allow_unknown: bool = False,
        actor: str | None = None,
    ) -> list[str]:
        """Append consent events (all or none) with their audit entry, in one transaction.

        An event about an identifier no customer holds is refused (``consent.unknown_subject``)
        unless ``allow_unknown``: then it is recorded ahead of the customer's arrival and
        binds when the subject index next holds that identifier.
        """
        pol = self.policy()
        self.ledger.check(events, pol)
        idents = [(e.id_type, normalise(e.id_type, e.id_value)) for e in events]
        with self.store.begin() as conn:
            unknown = self.unknown_identifiers(conn, idents)
            if not allow_unknown:
                self._refuse_unknown(unknown)
            ids = self.ledger.append(events, pol, conn=conn)
            self._audit(
                "consent.write",
                "consent_events",
                {
                    "events": len(ids),
                    "event_ids": ids,
                    "subjects": sorted({self._hash(f"{t}:{v}") for t, v in idents}),
                    "ahead_of_subject": len(unknown),
                },
                conn=conn,
                actor=actor,
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
        allow_unknown: bool = False,
    ) -> str:
        """Record a consent fact against a golden record; returns the event id.

        An unknown golden id is refused unless ``allow_unknown`` (see :meth:`record`)."""
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
        return self.record([ev], allow_unknown=allow_unknown, actor=ev.actor)[0]

    @writes("consent.import")
    def import_events(self, path: str | Path, *, actor: str | None = None) -> list[str]:
        """Append every consent event of a CSV file, or none if any row is bad."""
        from c360.consent.ledger import read_events_csv

        pol = self.policy()
        events = read_events_csv(path, pol, actor=actor or getpass.getuser())
        with self.store.begin() as conn:
            ids = self.ledger.append(events, pol, conn=conn)
            self._audit("consent.import", "consent_events", {"events": len(ids)}, conn=conn)
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
        address: str | None = None,
        actor: str | None = None,
    ) -> Decision:
        """Point form of the gate (never raises; denies on any failure).

        With ``address`` (an email for email, a phone for sms/phone) the answer is for that
        address. A recorded decision is in ``gate_decisions`` and the audit chain."""
        return self.gate.check(
            golden_id,
            purpose,
            channel,
            at,
            known_at=known_at,
            activation=activation,
            record=record,
            address=address,
            inputs={"actor": actor} if actor else None,
        )

    def decisions(
        self,
        *,
        golden_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Recorded gate decisions, newest first (the decision log)."""
        return read_decisions(self.store, golden_id=golden_id, since=since, limit=limit)

    def check_many(
        self,
        requests: list[tuple[str, str, str]],
        at: datetime | None = None,
        *,
        activation: bool = False,
        record: bool = False,
    ) -> list[Decision]:
        """Point form for many ``(golden_id, purpose, channel)`` (see :meth:`Gate.check_many`).

        Recorded decisions are in ``gate_decisions`` and each in the audit chain, written
        in one transaction; if that cannot be written, every decision is a deny (as in
        :meth:`check`)."""
        return self.gate.check_many(requests, at, activation=activation, record=record)

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
        engine: Engine | None = None,
        address: str | None = None,
    ) -> GateResult:
        """Set form: filter an audience (SQL over the lakehouse views, or an Arrow table with golden_id).

        It runs on a fork of the workspace's engine (``ws.engine``), or on ``engine`` when
        given — an engine on which the audience SQL's own views are registered.

        With ``address`` (the name of an audience column holding an email for email, a
        phone for sms/phone) each row is answered for its own address, as the point form
        answers with ``address=``.

        Raises ``consent.gate_unavailable`` if the policy or the store cannot be read — a set
        cannot be partially allowed, so the caller gets no rows at all — and
        ``consent.bad_time`` for a time the gate does not answer (see the point form).
        """
        at = at or datetime.now(UTC)
        now = now_us()
        at_us, known_us = to_us(at), to_us(known_at) if known_at else now
        try:
            pol = self.policy()
        except C360Error as exc:
            raise C360Error(
                "consent.gate_unavailable", f"policy unreadable: {exc.message}"
            ) from exc
        if problem := time_problem(pol, at_us, to_us(known_at) if known_at else None, now):
            raise C360Error("consent.bad_time", problem[1], {"reason": problem[0]})
        own = engine is None
        eng = engine if engine is not None else self.ws.engine.fork()
        try:
            if isinstance(audience, pa.Table):
                eng.register("_cg_audience", audience)
            else:
                # the governed path: never a raw zone (bronze, quarantine, restricted)
                self.ws.governance.vet_sql(audience)
                if own:  # the SQL reads gold and silver tables as <zone>__<name> views
                    lh = self.ws.lakehouse
                    eng.register_lakehouse(
                        lh,
                        [
                            (i.zone, i.name)
                            for i in lh.tables(count_rows=False)
                            if i.zone in AUDIENCE_ZONES
                        ],
                    )
                eng.create_view("_cg_audience", audience)
            try:
                with self.store.engine.connect() as conn:
                    base = setfacts.register_base(eng, conn, self._lakehouse())
                    facts = setfacts.load_facts(
                        eng, conn, pol, purpose, channel, at_us, known_us, activation
                    )
            except (C360Error, SQLAlchemyError, OSError, *eng.errors) as exc:
                raise C360Error(
                    "consent.gate_unavailable", unavailable("cannot read consent facts", exc)
                ) from exc
            pairs = None
            if address is not None:
                pairs = setform.register_pairs(eng, "_cg_audience", address, channel)
            view = setform.register(
                eng, facts, pol, purpose, channel, at_us, activation=activation, pairs=pairs
            )
            allowed, excluded = setform.apply(
                eng, "_cg_audience", pol, purpose, channel, view, at=at, address=address
            )
            counts: dict[str, int] = {}
            for r in excluded.column("reason").to_pylist():
                counts[r] = counts.get(r, 0) + 1
            moved = setform.redirected(eng, "_cg_audience")
        finally:
            if own:
                eng.close()
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
                    **({"address_column": address} if address else {}),
                },
                audit=self._audit_decision,
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
        with self.store.begin() as conn:
            rep = self.suppressions.import_file(
                path,
                list_name,
                self.policy(),
                id_type=id_type,
                hashed=hashed,
                reason=reason,
                conn=conn,
            )
            self._audit(
                "consent.suppression_import",
                list_name,
                {"rows": rep.rows, "inserted": rep.inserted, "matched": rep.matched},
                conn=conn,
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
        hashed: bool = False,
        allow_unknown: bool = False,
    ) -> str:
        """Add (or ``action="remove"``) one suppression entry, audited in the same transaction.

        An identifier no customer holds is refused unless ``allow_unknown`` (then the entry
        is kept and binds when a record with that identifier arrives)."""
        pol = self.policy()
        norm = check_hash(value) if hashed else normalise(id_type, value)
        with self.store.begin() as conn:
            unknown = self.unknown_identifiers(conn, [(id_type, norm)], hashed=hashed)
            if not allow_unknown and action == "add":
                self._refuse_unknown(unknown)
            entry = self.suppressions.add(
                list_name,
                id_type,
                value,
                pol,
                action=action,
                reason=reason,
                effective_at=effective_at,
                expires_at=expires_at,
                hashed=hashed,
                conn=conn,
            )
            self._audit(
                "consent.suppress",
                list_name,
                {
                    "action": action,
                    "entry_id": entry,
                    "subject": self._hash(f"{id_type}:{norm}"),
                    "ahead_of_subject": bool(unknown),
                },
                conn=conn,
            )
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

    def record_contacts(self, contacts: list[dict[str, Any]], *, conn: Connection) -> None:
        """Log sends in the caller's transaction (the activation drain: with its deliveries).

        Each entry: ``golden_id``, ``channel``, ``purpose``, ``at`` (datetime) and
        ``decision_id``; the outcome is ``sent``.
        """
        if not contacts:
            return
        rec = now_us()
        conn.execute(
            contact_log.insert(),
            [
                {
                    "contact_id": uuid.uuid4().hex,
                    "golden_id": c["golden_id"],
                    "channel": c["channel"],
                    "purpose": c["purpose"],
                    "outcome": "sent",
                    "contacted_at_us": to_us(c["at"]),
                    "decision_id": c.get("decision_id"),
                    "recorded_at_us": rec,
                }
                for c in contacts
            ],
        )

    @writes("consent.capture")
    def capture_from_sources(self) -> list[CaptureResult]:
        """Append consent facts from the silver tables named in ``consent.capture``."""
        with self.store.begin() as conn:
            results = capture(self.ws, self.settings.capture, self.policy(), conn=conn)
            self._audit(
                "consent.capture",
                "consent_events",
                {r.name: {"rows": r.rows, "appended": r.appended} for r in results},
                conn=conn,
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
