"""The consent policy as data: ``consent.policy`` in c360.yaml (or ``consent.policy_file``).

Rules are an ordered list; for a (purpose, channel) the *last* matching rule
wins, so general rules come first and specific ones after. A jurisdiction
(US state) appends its own rules after the base ones. When the customer's
state is unknown, the most restrictive outcome over every jurisdiction applies
(fail closed). Every decision names :attr:`Policy.version_id` — the label plus
a hash of the policy's canonical content — so a changed rule is a new version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from pydantic import Field, model_validator

from c360.settings.base import Block

WILDCARD = "*"  # any purpose / any channel (the same word as c360.consent.vocab.WILDCARD)

Basis = Literal["opt_in", "opt_out"]

DEFAULT_PURPOSES = [
    "marketing",
    "cross_sell",
    "retention",
    "service",
    "profiling",
    "third_party_sharing",
    "affiliate_marketing",
]
DEFAULT_CHANNELS = ["email", "sms", "phone", "direct_mail", "push", "in_app", "agent_assisted"]
NON_SERVICE = [p for p in DEFAULT_PURPOSES if p != "service"]
TELEMARKETING = ["marketing", "cross_sell", "retention", "affiliate_marketing"]


class _Model(Block):
    """Settings model: unknown keys are errors."""


class Rule(_Model):
    """How consent works for some purposes on some channels (``*`` = all)."""

    purposes: list[str] = Field(
        default_factory=lambda: [WILDCARD], description="Purposes the rule covers (* = all)."
    )
    channels: list[str] = Field(
        default_factory=lambda: [WILDCARD], description="Channels the rule covers (* = all)."
    )
    basis: Basis = Field(description="opt_in: consent required; opt_out: allowed unless objected.")
    written: bool = Field(
        default=False,
        description="Only grants captured by a written method count (TCPA PEWC for SMS/autodialled calls).",
    )
    expire_after_days: int | None = Field(
        default=None, ge=1, description="A grant older than this lapses."
    )
    note: str = Field(default="", description="Why the rule exists (the law or policy it encodes).")

    def matches(self, purpose: str, channel: str) -> bool:
        return (WILDCARD in self.purposes or purpose in self.purposes) and (
            WILDCARD in self.channels or channel in self.channels
        )


class Scope(_Model):
    """Which uses a suppression list (or the minors rule) blocks."""

    purposes: list[str] = Field(
        default_factory=lambda: [WILDCARD], description="Purposes blocked (* = all)."
    )
    channels: list[str] = Field(
        default_factory=lambda: [WILDCARD], description="Channels blocked (* = all)."
    )

    def covers(self, purpose: str, channel: str) -> bool:
        return (WILDCARD in self.purposes or purpose in self.purposes) and (
            WILDCARD in self.channels or channel in self.channels
        )


class ListScope(Scope):
    """A suppression list: the uses it blocks, and whether it is kept per address."""

    per_address: bool = Field(
        default=False,
        description=(
            "An entry on an email or phone blocks only that address when the gate is asked "
            "about an address (do-not-call, unsubscribe lists); otherwise any entry blocks "
            "the whole person (deceased, holds)."
        ),
    )


class Jurisdiction(_Model):
    """Rules a US state adds after the base rules (the last matching rule wins)."""

    rules: list[Rule] = Field(
        default_factory=list, description="Rules appended after the base rules."
    )
    note: str = Field(default="", description="The law behind these rules.")


class Cap(_Model):
    """At most ``max_contacts`` contacts on ``channel`` within ``window_days``."""

    channel: str = Field(default=WILDCARD, description="Channel capped (* = all channels).")
    window_days: int = Field(ge=1, description="Length of the sliding window in days.")
    max_contacts: int = Field(ge=0, description="Contacts allowed within the window.")


class QuietHours(_Model):
    start: str = Field(
        default="21:00", pattern=r"^\d\d:\d\d$", description="Local time quiet hours begin."
    )
    end: str = Field(
        default="08:00", pattern=r"^\d\d:\d\d$", description="Local time quiet hours end."
    )
    channels: list[str] = Field(
        default_factory=lambda: ["phone", "sms"], description="Channels quiet hours apply to."
    )


class ContactPolicy(_Model):
    """Frequency caps, cool-downs and quiet hours, checked for activations."""

    caps: list[Cap] = Field(
        description="Frequency caps; every cap that covers a channel must hold.",
        default_factory=lambda: [
            Cap(channel="email", window_days=7, max_contacts=3),
            Cap(channel="sms", window_days=7, max_contacts=2),
            Cap(channel="phone", window_days=7, max_contacts=2),
            Cap(channel=WILDCARD, window_days=30, max_contacts=8),
        ],
    )
    cooldown_hours: dict[str, int] = Field(
        default_factory=lambda: {"email": 24, "sms": 48, "phone": 72},
        description="After a contact on a channel, no further contact on it for this long.",
    )
    decline_cooldown_days: int = Field(
        default=30,
        ge=0,
        description="After the customer declines an offer, no contact for that purpose.",
    )
    quiet_hours: QuietHours = Field(
        default_factory=lambda: QuietHours(),
        description="No phone or SMS contact in the customer's local night.",
    )
    exempt_purposes: list[str] = Field(
        default_factory=lambda: ["service"],
        description="Purposes caps, cool-downs and quiet hours do not apply to.",
    )


def _default_rules() -> list[Rule]:
    return [
        Rule(basis="opt_out", note="default: allowed unless the customer objected"),
        Rule(
            channels=["sms", "phone"],
            purposes=NON_SERVICE,
            basis="opt_in",
            written=True,
            note="TCPA: prior express written consent for marketing texts/autodialled calls",
        ),
        Rule(channels=["push"], purposes=NON_SERVICE, basis="opt_in", note="push needs opt-in"),
        Rule(
            purposes=["third_party_sharing"],
            basis="opt_out",
            note="GLBA: non-affiliate sharing until the customer opts out (and CCPA do-not-sell/share)",
        ),
        Rule(
            purposes=["affiliate_marketing"],
            basis="opt_out",
            note="FCRA 624: affiliate marketing honours the opt-out",
        ),
    ]


def _default_jurisdictions() -> dict[str, Jurisdiction]:
    sharing_opt_in = Jurisdiction(
        rules=[
            Rule(
                purposes=["third_party_sharing"],
                basis="opt_in",
                note="state financial privacy law: opt-in to non-affiliate sharing",
            )
        ]
    )
    return {"CA": sharing_opt_in, "VT": sharing_opt_in}


def _default_lists() -> dict[str, ListScope]:
    return {
        "dnc_national": ListScope(
            purposes=TELEMARKETING, channels=["phone", "sms"], per_address=True
        ),
        "dnc_internal": ListScope(
            purposes=TELEMARKETING, channels=["phone", "sms"], per_address=True
        ),
        "email_unsubscribe_global": ListScope(
            purposes=NON_SERVICE, channels=["email"], per_address=True
        ),
        "deceased": ListScope(),
        "fraud_hold": ListScope(),
        "legal_hold": ListScope(),
        "bankruptcy": ListScope(purposes=[*TELEMARKETING, "third_party_sharing"]),
        "litigation": ListScope(purposes=NON_SERVICE),
        "vulnerable": ListScope(
            purposes=["marketing", "cross_sell", "affiliate_marketing", "third_party_sharing"]
        ),
    }


class Policy(_Model):
    """The whole written consent policy."""

    version: str = Field(default="builtin-1", description="Human label of this policy version.")
    purposes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PURPOSES),
        description="Every purpose data may be used for; rules and checks name only these.",
    )
    channels: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CHANNELS),
        description="Every channel customers may be contacted on.",
    )
    rules: list[Rule] = Field(
        default_factory=_default_rules,
        description="Ordered rules; for a (purpose, channel) the last matching rule wins.",
    )
    jurisdictions: dict[str, Jurisdiction] = Field(
        default_factory=_default_jurisdictions,
        description="US state -> extra rules; an unknown state gets the most restrictive outcome.",
    )
    written_methods: list[str] = Field(
        description="Capture methods that count as written consent (for rules with written: true).",
        default_factory=lambda: [
            "written",
            "esign",
            "web_form",
            "sms_keyword",
            "paper",
            "recorded_verbal",
        ],
    )
    suppression_lists: dict[str, ListScope] = Field(
        default_factory=_default_lists,
        description="Suppression list name -> the uses a listed identifier is blocked from.",
    )
    minor_age: int = Field(
        default=18, ge=0, description="People younger than this are minors (see minor_scope)."
    )
    minor_scope: Scope = Field(
        description="Uses denied for minors.",
        default_factory=lambda: Scope(
            purposes=[
                "marketing",
                "cross_sell",
                "profiling",
                "third_party_sharing",
                "affiliate_marketing",
            ]
        ),
    )
    unknown_dob: Literal["deny", "allow"] = Field(
        default="deny",
        description="Within the minors scope, a record without a birth date is denied.",
    )
    require_address: list[str] = Field(
        default_factory=lambda: ["email", "sms", "phone"],
        description="Channels that need an email (email) or phone (sms, phone) on the record.",
    )
    max_future_days: int = Field(
        default=366,
        ge=1,
        description=(
            "The gate answers questions about at most this many days ahead of now; a later "
            "time is refused (gate.time_out_of_range), not answered from today's facts."
        ),
    )
    contact: ContactPolicy = Field(
        default_factory=lambda: ContactPolicy(),
        description="Contact policy for activations: caps, cool-downs, quiet hours.",
    )

    @model_validator(mode="after")
    def _known_names(self) -> Policy:
        known_p, known_c = {*self.purposes, WILDCARD}, {*self.channels, WILDCARD}
        rules = list(self.rules) + [r for j in self.jurisdictions.values() for r in j.rules]
        scopes = [*self.suppression_lists.values(), self.minor_scope]
        for where, ps, cs in [("rule", r.purposes, r.channels) for r in rules] + [
            ("scope", s.purposes, s.channels) for s in scopes
        ]:
            for p in ps:
                if p not in known_p:
                    raise ValueError(f"{where} names unknown purpose {p!r}")
            for c in cs:
                if c not in known_c:
                    raise ValueError(f"{where} names unknown channel {c!r}")
        return self

    # ----------------------------------------------------------------- identity
    @cached_property
    def content_hash(self) -> str:
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()[:12]

    @cached_property
    def version_id(self) -> str:
        return f"{self.version}+{self.content_hash}"

    # ----------------------------------------------------------------- resolution
    def resolve(self, purpose: str, channel: str, state: str | None) -> Resolved:
        """The applicable rule outcome for a customer in ``state`` (None = unknown)."""
        if state is not None and state in self.jurisdictions:
            return _fold(self.rules + self.jurisdictions[state].rules, purpose, channel)
        if state is not None:
            return _fold(self.rules, purpose, channel)
        outcomes = [_fold(self.rules, purpose, channel)] + [
            _fold(self.rules + j.rules, purpose, channel) for j in self.jurisdictions.values()
        ]
        return Resolved(
            opt_in=any(o.opt_in for o in outcomes),
            written=any(o.written for o in outcomes),
            expire_after_days=min(
                (o.expire_after_days for o in outcomes if o.expire_after_days), default=None
            ),
        )

    def blocking_lists(self, purpose: str, channel: str) -> list[str]:
        return sorted(n for n, s in self.suppression_lists.items() if s.covers(purpose, channel))

    def per_address_lists(self) -> list[str]:
        """Lists whose entries on an email or phone block only that address."""
        return sorted(n for n, s in self.suppression_lists.items() if s.per_address)


@dataclass(frozen=True)
class Resolved:
    opt_in: bool
    written: bool
    expire_after_days: int | None


def _fold(rules: list[Rule], purpose: str, channel: str) -> Resolved:
    out = Resolved(opt_in=True, written=False, expire_after_days=None)  # no rule = opt-in
    for r in rules:
        if r.matches(purpose, channel):
            out = Resolved(r.basis == "opt_in", r.written, r.expire_after_days)
    return out
