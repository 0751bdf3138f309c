"""Words of the consent domain: statuses, identifier kinds, normalisation, time.

Identifiers are normalised once, here, so the ledger, suppression imports, the
subject index and the set form all compare the same strings:

- ``email``: trimmed, lower-cased, must contain one ``@`` with text either side;
  Gmail addresses fold dots and ``+tags`` of the local part (one mailbox, and
  the identity standardiser stores golden emails folded the same way);
- ``phone``: E.164 via ``phonenumbers`` (US default region);
- ``source_key``: ``<source>:<key>``;
- ``golden_id``: trimmed.

Hashed identifiers are ``sha256(normalised value)`` in lower-case hex, the form
suppression vendors ship. Times are stored as UTC epoch microseconds so that
SQLite, PostgreSQL and DuckDB compare them identically and fast.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import phonenumbers

from c360.errors import C360Error

STATUSES = ("granted", "denied", "revoked", "expired")
ID_TYPES = ("golden_id", "source_key", "email", "phone")
WILDCARD = "*"

# Order in which deny reasons are reported (first = the headline reason).
REASON_ORDER = (
    "gate.policy_invalid",
    "gate.store_unavailable",
    "gate.error",
    "gate.unknown_purpose",
    "gate.unknown_channel",
    "gate.unknown_subject",
    "gate.time_out_of_range",
    "gate.bad_address",
    "gate.unknown_address",
    "gate.before_birth",
    "suppressed",
    "gate.missing_dob",
    "gate.missing_address",
    "consent.revoked",
    "consent.denied",
    "consent.expired",
    "consent.not_written",
    "consent.missing",
    "contact.timezone_unknown",
    "contact.quiet_hours",
    "contact.declined_cooldown",
    "contact.cooldown",
    "contact.cap",
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def reason_rank(reason: str) -> int:
    """Position of a reason in :data:`REASON_ORDER` (``suppressed.*`` share a rank)."""
    head = "suppressed" if reason.startswith("suppressed.") else reason
    return REASON_ORDER.index(head) if head in REASON_ORDER else len(REASON_ORDER)


def normalise(id_type: str, value: str) -> str:
    """The canonical form of an identifier; raises ``consent.bad_identifier``."""
    if id_type not in ID_TYPES:
        raise C360Error(
            "consent.bad_identifier",
            f"unknown identifier type {id_type!r}; one of {', '.join(ID_TYPES)}",
            {"id_type": id_type},
        )
    v = (value or "").strip()
    if not v:
        raise C360Error("consent.bad_identifier", f"empty {id_type}", {"id_type": id_type})
    if id_type == "email":
        v = v.lower()
        if not _EMAIL.match(v):
            raise C360Error("consent.bad_identifier", f"not an email address: {value!r}")
        return fold_email(v)
    if id_type == "phone":
        try:
            num = phonenumbers.parse(v, "US")
        except phonenumbers.NumberParseException as exc:
            raise C360Error("consent.bad_identifier", f"not a phone number: {value!r}") from exc
        if not phonenumbers.is_possible_number(num):
            raise C360Error("consent.bad_identifier", f"not a possible phone number: {value!r}")
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    if id_type == "source_key" and ":" not in v:
        raise C360Error("consent.bad_identifier", f"source_key must be '<source>:<key>': {value!r}")
    return v


GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


def fold_email(email: str) -> str:
    """One form per mailbox: Gmail ignores dots and ``+tag`` in the local part.

    Mirrors ``c360.identity.addresses.norm_email`` (provider rules), so a fact
    about ``Ann.Lee+promo@gmail.com`` reaches the golden record that holds
    ``annlee@gmail.com``. Folding only ever joins facts, never splits them.
    """
    local, _, domain = email.rpartition("@")
    if domain in GMAIL_DOMAINS:
        return local.split("+", 1)[0].replace(".", "") + "@gmail.com"
    return email


def fold_email_sql(expr: str) -> str:
    """DuckDB SQL of :func:`fold_email` over a lower-cased, trimmed ``expr``."""
    local = f"regexp_extract({expr}, '^(.*)@[^@]*$', 1)"
    domain = f"regexp_extract({expr}, '@([^@]*)$', 1)"
    return (
        f"CASE WHEN {domain} IN {GMAIL_DOMAINS!r} "
        f"THEN replace(split_part({local}, '+', 1), '.', '') || '@gmail.com' ELSE {expr} END"
    )


ADDRESS_TYPES = ("email", "phone")


def mask(id_type: str, value: str) -> str:
    """A masked identifier for messages, logs and audit entries: never the clear value.

    ``j***@example.com``, ``***-***-4804``; source keys and golden ids keep their
    source and the last three characters (``core:***123``).
    """
    if id_type == "email":
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if id_type == "phone":
        digits = "".join(ch for ch in value if ch.isdigit())
        return f"***-***-{digits[-4:]}"
    if id_type in ("golden_id", "source_key"):
        head, _, key = value.rpartition(":")
        return f"{head + ':' if head else ''}***{key[-3:]}"
    return "***"


def id_hash(normalised: str) -> str:
    """``sha256`` hex of a normalised identifier (what hashed suppression files carry)."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def check_hash(value: str) -> str:
    """Validate a hashed identifier from an import file (64 hex chars)."""
    v = (value or "").strip().lower()
    if not _HEX64.match(v):
        raise C360Error("consent.bad_identifier", f"not a sha256 hex digest: {value!r}")
    return v


def to_us(at: datetime) -> int:
    """UTC epoch microseconds; a naive datetime is taken to be UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int | None) -> datetime | None:
    if us is None:
        return None
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC)


def now_us() -> int:
    return to_us(datetime.now(UTC))


def parse_time(value: str | datetime | None) -> datetime | None:
    """ISO-8601 text or a datetime → aware UTC datetime (``None`` stays ``None``)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise C360Error("consent.bad_time", f"not an ISO-8601 time: {value!r}") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
