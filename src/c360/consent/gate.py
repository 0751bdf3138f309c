"""The one consent gate, point form: ``check(golden_id, purpose, channel, at)``.

Fail closed: an unknown subject, missing data, an unreadable policy, an
unreachable store or any unexpected failure yields a *deny* decision with a
reason — :meth:`Gate.check` never raises, so no caller can swallow an
exception into "allow". Facts are read by indexed keys only (subject index by
golden_id, events by identifier, suppressions by identifier hash), three or
four small queries per check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from c360.consent.evaluate import (
    ContactFact,
    Decision,
    EventFact,
    Facts,
    SuppressionFact,
    deny,
    evaluate,
)
from c360.consent.policy import Policy
from c360.consent.tables import gate_decisions
from c360.consent.vocab import DAY_US, now_us, to_us
from c360.errors import C360Error
from c360.store import Store

_SUBJECT = text(
    "SELECT s.dob, s.state, i.id_type, i.id_value, i.id_hash, i.restrict_only "
    "FROM consent_subjects s LEFT JOIN consent_subject_index i ON i.golden_id = s.golden_id "
    "WHERE s.golden_id = :g"
)
_CONTACTS = text(
    "SELECT channel, purpose, outcome, contacted_at_us FROM contact_log "
    "WHERE golden_id = :g AND contacted_at_us > :lo AND contacted_at_us <= :hi AND recorded_at_us <= :k"
)
_EVENTS = text(
    "SELECT e.event_id, e.id_type, e.id_value, i.restrict_only, e.purpose, e.channel, e.status, e.method, "
    "e.effective_at_us, e.recorded_at_us, e.expires_at_us "
    "FROM consent_subject_index i JOIN consent_events e ON e.id_type = i.id_type AND e.id_value = i.id_value "
    "WHERE i.golden_id = :g AND e.purpose IN (:p, '*') AND e.channel IN (:c, '*') "
    "AND e.effective_at_us <= :at AND e.recorded_at_us <= :k"
)
_SUPP = text(
    "SELECT DISTINCT s.entry_id, s.list_name, s.id_hash, s.action, s.effective_at_us, s.recorded_at_us, "
    "s.expires_at_us FROM consent_subject_index i JOIN suppressions s ON s.id_hash = i.id_hash "
    "WHERE i.golden_id = :g AND s.effective_at_us <= :at AND s.recorded_at_us <= :k"
)


def gather(
    conn: Connection,
    golden_id: str,
    purpose: str,
    channel: str,
    at_us: int,
    known_us: int,
    *,
    contacts_since_us: int | None = None,
) -> Facts:
    """Read the facts of one golden record from the store (as known at ``known_us``)."""
    rows = conn.execute(_SUBJECT, {"g": golden_id}).all()
    if not rows:
        return Facts(golden_id=golden_id, known=False)
    dob = date.fromisoformat(rows[0][0]) if rows[0][0] else None
    facts = Facts(golden_id=golden_id, known=True, dob=dob, state=rows[0][1] or None)
    ids = [(r[2], r[3], r[4], bool(r[5])) for r in rows if r[2] is not None]
    facts.id_types = {t for t, _, _, restrict in ids if not restrict}
    if ids:
        params = {"g": golden_id, "p": purpose, "c": channel, "at": at_us, "k": known_us}
        facts.events = [
            EventFact(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], r[7], r[8], r[9], r[10])
            for r in conn.execute(_EVENTS, params)
        ]
        facts.suppressions = [SuppressionFact(*r) for r in conn.execute(_SUPP, params)]
    if contacts_since_us is not None:
        facts.contacts = [
            ContactFact(*r)
            for r in conn.execute(
                _CONTACTS, {"g": golden_id, "lo": contacts_since_us, "hi": at_us, "k": known_us}
            )
        ]
    return facts


class Gate:
    """Point-form gate over an operational store and a policy provider."""

    def __init__(
        self, store: Callable[[], Store], policy: Callable[[], Policy], *, record_all: bool = False
    ) -> None:
        self._store = store
        self._policy = policy
        self.record_all = record_all

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
        inputs: dict[str, Any] | None = None,
    ) -> Decision:
        """Decide; with ``record`` (or ``record_all``) the decision is written to gate_decisions.

        A decision that must be recorded but cannot be is returned as a deny.
        """
        at = at or datetime.now(UTC)
        ctx: dict[str, Any] = dict(
            golden_id=golden_id,
            purpose=purpose,
            channel=channel,
            at=at,
            known_at=known_at,
            activation=activation,
        )
        try:
            policy = self._policy()
        except C360Error as exc:
            return deny("gate.policy_invalid", exc.message, policy_version="unknown", **ctx)
        except Exception as exc:  # fail closed: any failure to load the policy denies
            return deny("gate.policy_invalid", repr(exc), policy_version="unknown", **ctx)
        version = policy.version_id
        try:
            at_us = to_us(at)
            known_us = to_us(known_at) if known_at else now_us()
            since = None
            if activation:
                cp = policy.contact
                days = max([c.window_days for c in cp.caps] + [cp.decline_cooldown_days, 0])
                hours = max([*list(cp.cooldown_hours.values()), 0])
                since = at_us - max(days * DAY_US, hours * 3_600_000_000)
            store = self._store()
            with store.engine.connect() as conn:
                facts = gather(
                    conn, golden_id, purpose, channel, at_us, known_us, contacts_since_us=since
                )
            decision = evaluate(
                policy, facts, purpose, channel, at, at_us, known_at=known_at, activation=activation
            )
        except (C360Error, SQLAlchemyError, OSError) as exc:
            return deny(
                "gate.store_unavailable",
                f"cannot read consent facts: {exc}",
                policy_version=version,
                **ctx,
            )
        except Exception as exc:  # fail closed: a bug must deny, never allow
            return deny("gate.error", f"unexpected failure: {exc!r}", policy_version=version, **ctx)
        if record or self.record_all:
            try:
                record_decision(store, decision, "point", inputs or {})
            except (C360Error, SQLAlchemyError) as exc:
                return deny(
                    "gate.store_unavailable",
                    f"cannot record the decision: {exc}",
                    policy_version=version,
                    **ctx,
                )
        return decision


def record_decision(store: Store, d: Decision, kind: str, inputs: dict[str, Any]) -> None:
    row = {
        "decision_id": d.decision_id,
        "kind": kind,
        "golden_id": d.golden_id,
        "purpose": d.purpose,
        "channel": d.channel,
        "at_us": to_us(d.at),
        "known_at_us": to_us(d.known_at) if d.known_at else None,
        "activation": d.activation,
        "allowed": d.allowed,
        "reasons": d.reasons,
        "evidence": d.evidence,
        "policy_version": d.policy_version,
        "inputs": inputs,
        "decided_at_us": now_us(),
    }
    with store.begin() as conn:
        conn.execute(gate_decisions.insert(), [row])
