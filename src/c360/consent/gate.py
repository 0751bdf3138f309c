"""The one consent gate, point form: ``check(golden_id, purpose, channel, at)``.

Fail closed: an unknown subject, missing data, an unreadable policy, an
unreachable store or any unexpected failure yields a *deny* decision with a
reason — :meth:`Gate.check` never raises, so no caller can swallow an
exception into "allow". Facts are read by indexed keys only (subject index by
golden_id, events by identifier, suppressions by identifier hash) in one
round trip (plus one for the contact log when activating).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from c360.consent.evaluate import (
    ADDRESS_OF,
    ContactFact,
    Decision,
    EventFact,
    Facts,
    SuppressionFact,
    deny,
    evaluate,
    time_problem,
)
from c360.consent.tables import gate_decisions
from c360.consent.vocab import DAY_US, mask, normalise, now_us, to_us
from c360.errors import C360Error
from c360.settings.consent_policy import Policy
from c360.store import Store

_CONTACTS = text(
    "SELECT channel, purpose, outcome, contacted_at_us FROM contact_log "
    "WHERE golden_id = :g AND contacted_at_us > :lo AND contacted_at_us <= :hi AND recorded_at_us <= :k"
)
# One round trip: the subject and its identifiers ('s'), the events of those
# identifiers ('e'), the suppression entries on their hashes ('p') and, for an id
# absorbed by a merge, the record(s) that hold it as an alias ('a'), in one
# 12-column shape: kind, t1..t7 (text), flag, n1..n3 (bigint).
_FACTS = text(
    "SELECT 's', s.dob, s.state, i.id_type, i.id_value, i.id_hash, NULL, NULL, i.restrict_only, "
    "CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT) "
    "FROM consent_subjects s LEFT JOIN consent_subject_index i ON i.golden_id = s.golden_id "
    "WHERE s.golden_id = :g "
    "UNION ALL "
    "SELECT 'e', e.event_id, e.id_type, e.id_value, e.purpose, e.channel, e.status, e.method, "
    "i.restrict_only, e.effective_at_us, e.recorded_at_us, e.expires_at_us "
    "FROM consent_subject_index i JOIN consent_events e ON e.id_type = i.id_type AND e.id_value = i.id_value "
    "WHERE i.golden_id = :g AND e.purpose IN (:p, '*') AND e.channel IN (:c, '*') "
    "AND e.effective_at_us <= :at AND e.recorded_at_us <= :k "
    "UNION ALL "
    "SELECT 'p', s.entry_id, s.list_name, s.id_hash, s.action, NULL, NULL, NULL, NULL, "
    "s.effective_at_us, s.recorded_at_us, s.expires_at_us "
    "FROM consent_subject_index i JOIN suppressions s ON s.id_hash = i.id_hash "
    "WHERE i.golden_id = :g AND s.effective_at_us <= :at AND s.recorded_at_us <= :k "
    "UNION ALL "
    "SELECT 'a', a.golden_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT) "
    "FROM consent_subject_index a WHERE a.id_type = 'golden_id' AND a.id_value = :g "
    "AND a.golden_id <> :g AND NOT a.restrict_only"
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
    params = {"g": golden_id, "p": purpose, "c": channel, "at": at_us, "k": known_us}
    rows = conn.execute(_FACTS, params).all()
    subject = [r for r in rows if r[0] == "s"]
    if not subject:
        owners = {r[1] for r in rows if r[0] == "a"}
        survivor = owners.pop() if len(owners) == 1 else None
        return Facts(golden_id=golden_id, known=False, survivor=survivor)
    dob = date.fromisoformat(subject[0][1]) if subject[0][1] else None
    facts = Facts(golden_id=golden_id, known=True, dob=dob, state=subject[0][2] or None)
    facts.id_types = {r[3] for r in subject if r[3] is not None and not r[8]}
    facts.hashes = {r[5]: (r[3], r[4]) for r in subject if r[3] is not None}
    supp: dict[str, SuppressionFact] = {}
    for r in rows:
        if r[0] == "e":
            facts.events.append(
                EventFact(r[1], r[2], r[3], bool(r[8]), r[4], r[5], r[6], r[7], r[9], r[10], r[11])
            )
        elif r[0] == "p":
            supp[r[1]] = SuppressionFact(r[1], r[2], r[3], r[4], r[9], r[10], r[11])
    facts.suppressions = list(supp.values())
    if contacts_since_us is not None:
        facts.contacts = [
            ContactFact(*r)
            for r in conn.execute(
                _CONTACTS, {"g": golden_id, "lo": contacts_since_us, "hi": at_us, "k": known_us}
            )
        ]
    return facts


def facts_of(
    conn: Connection,
    golden_id: str,
    purpose: str,
    channel: str,
    at_us: int,
    known_us: int,
    *,
    contacts_since_us: int | None = None,
) -> Facts:
    """The facts :func:`gather` reads, followed to the survivor when ``golden_id`` was
    absorbed by a merge (one round trip for a subject or an unknown id, two for an alias)."""
    facts = gather(
        conn, golden_id, purpose, channel, at_us, known_us, contacts_since_us=contacts_since_us
    )
    if facts.known or facts.survivor is None:
        return facts
    survivor = facts.survivor
    facts = gather(
        conn, survivor, purpose, channel, at_us, known_us, contacts_since_us=contacts_since_us
    )
    facts.redirected_from = golden_id
    return facts


T = TypeVar("T")

log = logging.getLogger("c360.consent.gate")

# Called inside the transaction that records a decision (the audit chain append).
AuditHook = Callable[[Connection, Decision, str, dict[str, Any]], None]


def unavailable(what: str, exc: BaseException) -> str:
    """A message for a store failure that names no host, database, SQL or value.

    The driver's own words (which name the server and database) go to the log for
    operators; the decision, the API answer and the CLI line only say what failed.
    """
    log.warning("consent store failure (%s): %s", what, getattr(exc, "orig", None) or exc)
    kind = exc.code if isinstance(exc, C360Error) else type(exc).__name__
    return f"{what}: the consent store is unavailable ({kind})"


def normalise_address(channel: str, address: str) -> tuple[str | None, str | None]:
    """(normalised address, None) or (None, why it cannot be one) for ``channel``."""
    need = ADDRESS_OF.get(channel)
    if need is None:
        return None, f"channel {channel!r} is not sent to an address"
    try:
        return normalise(need, address), None
    except C360Error:
        return None, f"not a valid {need} address"


def contacts_since(policy: Policy, at_us: int) -> int:
    """The earliest contact a send at ``at_us`` must see: the longest cap window, decline
    cool-down or per-channel cool-down of the contact policy."""
    cp = policy.contact
    days = max([c.window_days for c in cp.caps] + [cp.decline_cooldown_days, 0])
    hours = max([*list(cp.cooldown_hours.values()), 0])
    return at_us - max(days * DAY_US, hours * 3_600_000_000)


class Gate:
    """Point-form gate over an operational store and a policy provider."""

    def __init__(
        self,
        store: Callable[[], Store],
        policy: Callable[[], Policy],
        *,
        record_all: bool = False,
        audit: AuditHook | None = None,
    ) -> None:
        self._store = store
        self._policy = policy
        self.record_all = record_all
        self._audit = audit

    def _read(self, store: Store, read: Callable[[Connection], T]) -> T:
        """Run ``read`` on a connection: from the pool, or on PostgreSQL from the store's
        autocommit pool (:attr:`Store.autocommit`).

        A checkout from the main PostgreSQL pool costs a pre-ping and a reset round
        trip, tripling the latency of a one-query check; the autocommit pool's costs
        neither (every check is one statement, one snapshot). A connection found broken
        is dropped and the check retried once on a fresh one; any other failure
        propagates (and denies).
        """
        if store.dialect != "postgresql":
            with store.engine.connect() as conn:
                return read(conn)
        for attempt in (0, 1):
            try:
                with store.autocommit.connect() as conn:
                    return read(conn)
            except DBAPIError as exc:
                if attempt or not exc.connection_invalidated:
                    raise
        raise C360Error("consent.gate_unavailable", "unreachable")  # pragma: no cover

    def close(self) -> None:
        """Nothing to release: the gate holds no connection between checks."""

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
        address: str | None = None,
    ) -> Decision:
        """Decide; with ``record`` (or ``record_all``) the decision is written to gate_decisions
        and appended to the audit chain in the same transaction.

        With ``address`` (an email for email, a phone for sms/phone) the answer is for that
        address only. A decision that must be recorded but cannot be is returned as a deny.
        """
        now = now_us()
        at = at or datetime.now(UTC)
        ctx: dict[str, Any] = dict(
            golden_id=golden_id,
            purpose=purpose,
            channel=channel,
            at=at,
            known_at=known_at,
            activation=activation,
        )
        norm: str | None = None
        if address is not None:
            norm, why = normalise_address(channel, address)
            ctx["address"] = mask(ADDRESS_OF[channel], norm) if norm else "***"
        try:
            policy = self._policy()
        except C360Error as exc:
            return deny("gate.policy_invalid", exc.message, policy_version="unknown", **ctx)
        except Exception as exc:  # fail closed: any failure to load the policy denies
            return deny("gate.policy_invalid", repr(exc), policy_version="unknown", **ctx)
        version = policy.version_id
        if address is not None and norm is None:
            return deny("gate.bad_address", str(why), policy_version=version, **ctx)
        try:
            at_us = to_us(at)
            known_us = to_us(known_at) if known_at else now
            if problem := time_problem(policy, at_us, to_us(known_at) if known_at else None, now):
                return deny(*problem, policy_version=version, **ctx)
            since = contacts_since(policy, at_us) if activation else None
            store = self._store()

            facts = self._read(
                store,
                lambda conn: facts_of(
                    conn, golden_id, purpose, channel, at_us, known_us, contacts_since_us=since
                ),
            )
            decision = evaluate(
                policy,
                facts,
                purpose,
                channel,
                at,
                at_us,
                known_at=known_at,
                activation=activation,
                address=norm,
            )
        except (C360Error, SQLAlchemyError, OSError) as exc:
            msg = unavailable("cannot read consent facts", exc)
            return deny("gate.store_unavailable", msg, policy_version=version, **ctx)
        except Exception as exc:  # fail closed: a bug must deny, never allow
            log.exception("consent gate failure")
            return deny(
                "gate.error",
                f"unexpected failure ({type(exc).__name__})",
                policy_version=version,
                **ctx,
            )
        if record or self.record_all:
            try:
                record_decision(store, decision, "point", inputs or {}, audit=self._audit)
            except Exception as exc:  # a decision whose evidence is lost must deny
                msg = unavailable("cannot record the decision", exc)
                return deny("gate.store_unavailable", msg, policy_version=version, **ctx)
        return decision

    def check_many(
        self,
        requests: Sequence[tuple[str, str, str]],
        at: datetime | None = None,
        *,
        activation: bool = False,
        record: bool = False,
        inputs: dict[str, Any] | None = None,
    ) -> list[Decision]:
        """The point form for many ``(golden_id, purpose, channel)`` at one time ``at``.

        Each request gets its own decision, taken exactly as :meth:`check` takes it (the
        same facts read by indexed keys, the same :func:`evaluate`), but the policy is
        loaded once, the facts are read on one connection and the decisions are recorded
        in one transaction: the activation drain re-checks a send batch this way. Fails
        closed per request (an evaluation failure denies that request) and for the set
        (an unreadable policy or store, or decisions that cannot be recorded, deny all).
        """
        at = at or datetime.now(UTC)

        def deny_all(reason: str, message: str, version: str) -> list[Decision]:
            return [
                deny(
                    reason,
                    message,
                    policy_version=version,
                    golden_id=g,
                    purpose=p,
                    channel=c,
                    at=at,
                    activation=activation,
                )
                for g, p, c in requests
            ]

        try:
            policy = self._policy()
        except C360Error as exc:
            return deny_all("gate.policy_invalid", exc.message, "unknown")
        except Exception as exc:  # fail closed: any failure to load the policy denies
            return deny_all("gate.policy_invalid", type(exc).__name__, "unknown")
        version = policy.version_id
        try:
            at_us, known_us = to_us(at), now_us()
            since = contacts_since(policy, at_us) if activation else None
            store = self._store()
            all_facts = self._read(
                store,
                lambda conn: [
                    facts_of(conn, g, p, c, at_us, known_us, contacts_since_us=since)
                    for g, p, c in requests
                ],
            )
        except (C360Error, SQLAlchemyError, OSError) as exc:
            msg = unavailable("cannot read consent facts", exc)
            return deny_all("gate.store_unavailable", msg, version)
        except Exception as exc:  # fail closed: a bug must deny, never allow
            log.exception("consent gate failure")
            return deny_all("gate.error", f"unexpected failure ({type(exc).__name__})", version)
        out: list[Decision] = []
        for (g, p, c), facts in zip(requests, all_facts, strict=True):
            try:
                out.append(evaluate(policy, facts, p, c, at, at_us, activation=activation))
            except Exception as exc:  # fail closed, for this request only
                log.exception("consent gate failure")
                out.append(
                    deny(
                        "gate.error",
                        f"unexpected failure ({type(exc).__name__})",
                        policy_version=version,
                        golden_id=g,
                        purpose=p,
                        channel=c,
                        at=at,
                        activation=activation,
                    )
                )
        if (record or self.record_all) and out:
            try:
                record_decisions(store, out, "point", inputs or {}, audit=self._audit)
            except Exception as exc:  # decisions whose evidence is lost must deny
                msg = unavailable("cannot record the decisions", exc)
                return deny_all("gate.store_unavailable", msg, version)
        return out


def _with_address(d: Decision, inputs: dict[str, Any]) -> dict[str, Any]:
    """The decision's inputs, naming the (masked) address it was asked for."""
    return inputs if d.address is None else {**inputs, "address": d.address}


def _decision_row(d: Decision, kind: str, inputs: dict[str, Any]) -> dict[str, Any]:
    inputs = _with_address(d, inputs)
    return {
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


def record_decision(
    store: Store,
    d: Decision,
    kind: str,
    inputs: dict[str, Any],
    *,
    audit: AuditHook | None = None,
) -> None:
    """Write the decision row and (with ``audit``) its audit entry in one transaction."""
    record_decisions(store, [d], kind, inputs, audit=audit)


def record_decisions(
    store: Store,
    ds: Sequence[Decision],
    kind: str,
    inputs: dict[str, Any],
    *,
    audit: AuditHook | None = None,
) -> None:
    """Write decisions to gate_decisions, each with its audit entry (with ``audit``), in
    one transaction: all are recorded with their evidence, or none is."""
    with store.begin() as conn:
        conn.execute(gate_decisions.insert(), [_decision_row(d, kind, inputs) for d in ds])
        if audit is not None:
            for d in ds:
                audit(conn, d, kind, _with_address(d, inputs))
