"""The written policy, applied to the facts of one golden record (point form).

Pure: no I/O, no clock. :mod:`c360.consent.gate` gathers the facts from the
store; :mod:`c360.consent.setform` compiles the same steps to SQL. The steps:

1. unknown purpose / channel / subject → deny;
2. any active suppression whose list covers (purpose, channel) on any
   identifier → deny ``suppressed.<list>``; a minor (age from dob at ``at``)
   within the minors scope → ``suppressed.minor``; no dob there → ``gate.missing_dob``;
3. the channel needs an address the record lacks → ``gate.missing_address``;
4. per identifier, the latest applicable consent event (by effective time,
   then recorded time) gives its state; a lapsed grant or an event past its
   ``expires_at`` is neutral; so is a grant not captured in writing where the
   rule needs written consent. Any denial/revocation on any identifier denies
   (most restrictive wins). Otherwise a grant allows; otherwise the rule's
   basis decides (opt-out allows, opt-in denies ``consent.missing``);
5. for activations: frequency caps, cool-downs and quiet hours.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from c360.consent.timezones import is_quiet
from c360.consent.vocab import (
    ADDRESS_TYPES,
    DAY_US,
    HOUR_US,
    WILDCARD,
    fold_email,
    from_us,
    mask,
    reason_rank,
)
from c360.settings.consent_policy import Policy

ADDRESS_OF = {"email": "email", "sms": "phone", "phone": "phone"}


@dataclass(frozen=True)
class EventFact:
    event_id: str
    id_type: str
    id_value: str
    restrict_only: bool
    purpose: str
    channel: str
    status: str
    method: str
    effective_us: int
    recorded_us: int
    expires_us: int | None


@dataclass(frozen=True)
class SuppressionFact:
    entry_id: str
    list_name: str
    id_hash: str
    action: str
    effective_us: int
    recorded_us: int
    expires_us: int | None


@dataclass(frozen=True)
class ContactFact:
    channel: str
    purpose: str
    outcome: str
    contacted_us: int


@dataclass
class Facts:
    """Everything the policy needs about one golden record (pre-filtered to ``known_at``)."""

    golden_id: str
    known: bool
    dob: date | None = None
    state: str | None = None
    id_types: set[str] = field(default_factory=set)
    events: list[EventFact] = field(default_factory=list)
    suppressions: list[SuppressionFact] = field(default_factory=list)
    contacts: list[ContactFact] = field(default_factory=list)
    #: the id the caller asked about, when it was absorbed by ``golden_id`` in a merge
    redirected_from: str | None = None
    #: for an id that is no subject: the one record that absorbed it in a merge (if any)
    survivor: str | None = None
    # id_hash -> (id_type, id_value) of the record's own identifiers (suppressions carry hashes)
    hashes: dict[str, tuple[str, str]] = field(default_factory=dict)

    def addresses(self, id_type: str) -> set[str]:
        """The record's own addresses of ``id_type``, normalised as the ledger holds them."""
        return {
            fold_email(v) if t == "email" else v for t, v in self.hashes.values() if t == id_type
        }


@dataclass(frozen=True)
class Decision:
    """The gate's answer. ``reasons`` are codes, most important first."""

    allowed: bool
    reasons: list[str]
    evidence: list[str]
    policy_version: str
    golden_id: str | None
    purpose: str
    channel: str
    at: datetime
    known_at: datetime | None = None
    activation: bool = False
    messages: dict[str, str] = field(default_factory=dict)
    decision_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: the absorbed golden id asked about; ``golden_id`` is the survivor that answered
    redirected_from: str | None = None
    #: for an id that is no subject: the one record that absorbed it in a merge (if any)
    survivor: str | None = None
    address: str | None = None  # the address asked about, masked

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "allowed": self.allowed,
            "reasons": self.reasons,
            "messages": self.messages,
            "evidence": self.evidence,
            "policy_version": self.policy_version,
            "golden_id": self.golden_id,
            "purpose": self.purpose,
            "channel": self.channel,
            "at": self.at.isoformat(),
            "known_at": self.known_at.isoformat() if self.known_at else None,
            "activation": self.activation,
            "redirected_from": self.redirected_from,
            "address": self.address,
        }


def deny(
    reason: str,
    message: str,
    *,
    policy_version: str,
    golden_id: str | None,
    purpose: str,
    channel: str,
    at: datetime,
    known_at: datetime | None = None,
    activation: bool = False,
    address: str | None = None,
) -> Decision:
    """A fail-closed decision with one reason."""
    return Decision(
        False,
        [reason],
        [],
        policy_version,
        golden_id,
        purpose,
        channel,
        at,
        known_at,
        activation,
        {reason: message},
        address=address,
    )


def shown(id_type: str, value: str) -> str:
    """An identifier as a message may show it: golden ids as they are, the rest masked."""
    return value if id_type == "golden_id" else mask(id_type, value)


def time_problem(
    policy: Policy, at_us: int, known_us: int | None, now: int
) -> tuple[str, str] | None:
    """Why the gate must not answer for ``at`` / ``known_at`` (checked against ``now``), or None.

    A time beyond ``policy.max_future_days`` would be answered from today's facts as if
    nothing could change until then; a knowledge time in the future cannot be known yet.
    """
    horizon = now + policy.max_future_days * DAY_US
    if at_us > horizon:
        return (
            "gate.time_out_of_range",
            f"{from_us(at_us):%Y-%m-%d} is more than {policy.max_future_days} days ahead: "
            "the gate does not answer that far into the future",
        )
    if known_us is not None and known_us > now:
        return ("gate.time_out_of_range", "known_at is in the future: it cannot be known yet")
    return None


def for_address(facts: Facts, id_type: str, address: str, per_address: set[str]) -> Facts:
    """The facts that bear on one address of the record: golden-level facts (golden ids,
    source keys, suppressions of person-level lists on any identifier) and the facts on
    that address; facts on the record's other addresses are dropped."""

    def other(t: str, v: str) -> bool:
        norm = fold_email(v) if t == "email" else v
        return t in ADDRESS_TYPES and not (t == id_type and norm == address)

    events = [e for e in facts.events if not other(e.id_type, e.id_value)]
    sups = [
        s
        for s in facts.suppressions
        if not (s.list_name in per_address and other(*facts.hashes.get(s.id_hash, ("", ""))))
    ]
    return replace(facts, events=events, suppressions=sups)


def age_on(dob: date, at_us: int) -> int:
    d = from_us(at_us).date()  # type: ignore[union-attr]
    return d.year - dob.year - ((d.month, d.day) < (dob.month, dob.day))


def latest_per_identifier(
    events: list[EventFact], purpose: str, channel: str, at_us: int
) -> list[EventFact]:
    """The event in force per identifier for (purpose, channel) at ``at``."""
    best: dict[tuple[str, str], EventFact] = {}
    for e in events:
        if (
            e.effective_us > at_us
            or e.purpose not in (purpose, WILDCARD)
            or e.channel not in (channel, WILDCARD)
        ):
            continue
        k = (e.id_type, e.id_value)
        cur = best.get(k)
        if cur is None or (e.effective_us, e.recorded_us, e.event_id) > (
            cur.effective_us,
            cur.recorded_us,
            cur.event_id,
        ):
            best[k] = e
    return list(best.values())


def active_suppressions(sups: list[SuppressionFact], at_us: int) -> list[SuppressionFact]:
    best: dict[tuple[str, str], SuppressionFact] = {}
    for s in sups:
        if s.effective_us > at_us:
            continue
        k = (s.list_name, s.id_hash)
        cur = best.get(k)
        if cur is None or (s.effective_us, s.recorded_us, s.entry_id) > (
            cur.effective_us,
            cur.recorded_us,
            cur.entry_id,
        ):
            best[k] = s
    return [
        s
        for s in best.values()
        if s.action == "add" and (s.expires_us is None or s.expires_us > at_us)
    ]


def evaluate(
    policy: Policy,
    facts: Facts,
    purpose: str,
    channel: str,
    at: datetime,
    at_us: int,
    *,
    known_at: datetime | None = None,
    activation: bool = False,
    address: str | None = None,
) -> Decision:
    """Apply the policy to the facts. Never raises for data reasons: it denies.

    With ``address`` (normalised, of the channel's address type) the answer is for that
    address: see :func:`for_address`; an address the record does not hold is denied.
    """
    version = policy.version_id
    reasons: dict[str, str] = {}
    evidence: list[str] = []
    need = ADDRESS_OF.get(channel)
    masked = mask(need, address) if address is not None and need else None
    ctx = (version, facts, purpose, channel, at, known_at, activation, masked)
    if purpose not in policy.purposes:
        reasons["gate.unknown_purpose"] = f"purpose {purpose!r} is not in the policy"
    if channel not in policy.channels:
        reasons["gate.unknown_channel"] = f"channel {channel!r} is not in the policy"
    if not facts.known:
        reasons["gate.unknown_subject"] = (
            f"golden record {facts.golden_id!r} is not in the subject index"
        )
    if reasons:
        return _decide(False, reasons, evidence, *ctx)
    if address is not None:
        if need is None:
            reasons["gate.bad_address"] = f"channel {channel} is not sent to an address"
        elif address not in facts.addresses(need):
            reasons["gate.unknown_address"] = (
                f"{masked} is not an address of golden record {facts.golden_id}"
            )
        else:
            facts = for_address(facts, need, address, set(policy.per_address_lists()))
        if reasons:
            return _decide(False, reasons, evidence, *ctx)

    # 2. suppressions and minors
    blocking = set(policy.blocking_lists(purpose, channel))
    for s in active_suppressions(facts.suppressions, at_us):
        if s.list_name in blocking:
            on = facts.hashes.get(s.id_hash)
            where = f" ({on[0]} {shown(*on)})" if on else ""
            reasons[f"suppressed.{s.list_name}"] = f"on suppression list {s.list_name}{where}"
            evidence.append(s.entry_id)
    if facts.dob is not None and from_us(at_us).date() < facts.dob:  # type: ignore[union-attr]
        reasons["gate.before_birth"] = "the time asked about is before the customer's birth"
    elif policy.minor_scope.covers(purpose, channel):
        if facts.dob is None:
            if policy.unknown_dob == "deny":
                reasons["gate.missing_dob"] = "no birth date: cannot rule out a minor"
        elif age_on(facts.dob, at_us) < policy.minor_age:
            reasons["suppressed.minor"] = f"customer is under {policy.minor_age}"
    # 3. address
    if channel in policy.require_address and need and need not in facts.id_types:
        reasons["gate.missing_address"] = f"no {need} on the record for channel {channel}"
    # 4. consent
    rule = policy.resolve(purpose, channel, facts.state)
    granted: list[str] = []
    neutral: dict[str, str] = {}
    for e in latest_per_identifier(facts.events, purpose, channel, at_us):
        lapsed = (e.expires_us is not None and e.expires_us <= at_us) or (
            e.status == "granted"
            and rule.expire_after_days is not None
            and e.effective_us + rule.expire_after_days * DAY_US <= at_us
        )
        if e.status == "expired" or lapsed:
            neutral.setdefault("consent.expired", e.event_id)
        elif e.status in ("denied", "revoked"):
            reasons[f"consent.{e.status}"] = (
                f"{e.status} on {e.id_type} {shown(e.id_type, e.id_value)}"
            )
            evidence.append(e.event_id)
        elif e.restrict_only:
            continue
        elif rule.written and e.method not in policy.written_methods:
            neutral.setdefault("consent.not_written", e.event_id)
        else:
            granted.append(e.event_id)
    allow_reason = None
    if not any(r.startswith("consent.") for r in reasons):
        if granted:
            allow_reason = "consent.granted"
            evidence.extend(granted)
        elif not rule.opt_in:
            allow_reason = "policy.opt_out_default"
        else:
            code = min(neutral, key=reason_rank) if neutral else "consent.missing"
            reasons[code] = {
                "consent.expired": "consent has expired",
                "consent.not_written": "prior express written consent is required",
            }.get(code, "opt-in required and no consent recorded")
            if code in neutral:
                evidence.append(neutral[code])
    # 5. contact policy
    if activation and purpose not in policy.contact.exempt_purposes:
        reasons.update(contact_reasons(policy, facts, purpose, channel, at_us))
    if reasons:
        return _decide(False, reasons, evidence, *ctx)
    return _decide(True, {allow_reason or "policy.opt_out_default": "allowed"}, evidence, *ctx)


def contact_reasons(
    policy: Policy, facts: Facts, purpose: str, channel: str, at_us: int
) -> dict[str, str]:
    cp = policy.contact
    out: dict[str, str] = {}
    past = [c for c in facts.contacts if c.contacted_us <= at_us and c.outcome != "failed"]
    for cap in cp.caps:
        if cap.channel not in (channel, WILDCARD):
            continue
        lo = at_us - cap.window_days * DAY_US
        n = sum(1 for c in past if c.contacted_us > lo and cap.channel in (c.channel, WILDCARD))
        if n >= cap.max_contacts:
            out["contact.cap"] = (
                f"{n} contacts on {cap.channel} in {cap.window_days} days (cap {cap.max_contacts})"
            )
    hours = cp.cooldown_hours.get(channel)
    if hours and any(
        c.channel == channel and c.contacted_us > at_us - hours * HOUR_US for c in past
    ):
        out["contact.cooldown"] = f"contacted on {channel} within {hours} h"
    lo = at_us - cp.decline_cooldown_days * DAY_US
    if cp.decline_cooldown_days and any(
        c.outcome == "declined" and c.purpose == purpose and c.contacted_us > lo for c in past
    ):
        out["contact.declined_cooldown"] = (
            f"declined {purpose} within {cp.decline_cooldown_days} days"
        )
    if channel in cp.quiet_hours.channels:
        quiet = is_quiet(facts.state, at_us, cp.quiet_hours.start, cp.quiet_hours.end)
        if quiet is None:
            out["contact.timezone_unknown"] = (
                "no time zone for the customer: quiet hours cannot be checked"
            )
        elif quiet:
            out["contact.quiet_hours"] = "within quiet hours in the customer's time zone"
    return out


def _decide(
    allowed: bool,
    reasons: dict[str, str],
    evidence: list[str],
    version: str,
    facts: Facts,
    purpose: str,
    channel: str,
    at: datetime,
    known_at: datetime | None,
    activation: bool,
    address: str | None,
) -> Decision:
    codes = sorted(reasons, key=lambda r: (reason_rank(r), r))
    if address is not None:  # every reason names the address it answers for (masked)
        reasons = {c: f"{m} [address {address}]" for c, m in reasons.items()}
    return Decision(
        allowed,
        codes,
        sorted(set(evidence)),
        version,
        facts.golden_id,
        purpose,
        channel,
        at,
        known_at,
        activation,
        {c: reasons[c] for c in codes},
        redirected_from=facts.redirected_from,
        address=address,
    )
