"""Display forms of standardised values: what a person reads, not what matching compares.

Standardisation folds names to lower case and streets to upper-case USPS forms so that
records compare equal; a golden record or a steward's screen shows ``Angela O'Brien``,
``12 Main St Apt 4``, ``San Francisco``. These functions only change letter case (and
never the letters), so a display form always folds back to its standardised form.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
#: Street tokens that stay upper case (directions, unit designators read as letters).
_UPPER = frozenset(
    {"NE", "NW", "SE", "SW", "N", "S", "E", "W", "PO", "RR", "US", "II", "III", "IV"}
)
_ORDINAL = re.compile(r"^(\d+)(ST|ND|RD|TH)$", re.IGNORECASE)
#: Name particles written in lower case inside a name ("van der Berg", "de la Cruz").
_PARTICLES = frozenset({"van", "der", "den", "de", "la", "le", "du", "da", "di", "del", "von"})


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:].lower()


def _name_word(word: str, first: bool) -> str:
    low = word.lower()
    if not first and low in _PARTICLES:
        return low
    if low.startswith("mc") and len(low) > 2:
        return "Mc" + _cap(low[2:])
    return _cap(low)


def proper_name(value: str | None) -> str | None:
    """``"o'brien-smith"`` → ``"O'Brien-Smith"``, ``"mcdonald"`` → ``"McDonald"``."""
    if value is None:
        return None
    words = iter(range(10_000))
    return _WORD.sub(lambda m: _name_word(m.group(0), next(words) == 0), value)


def proper_street(value: str | None) -> str | None:
    """``"12 NW MAIN ST APT 4B"`` → ``"12 NW Main St Apt 4B"``, ``"1ST AVE"`` → ``"1st Ave"``."""
    if value is None:
        return None
    out = []
    for token in value.split(" "):
        if token.upper() in _UPPER:
            out.append(token.upper())
        elif m := _ORDINAL.match(token):
            out.append(m.group(1) + m.group(2).lower())
        elif any(c.isdigit() for c in token):
            out.append(token.upper())
        else:
            out.append(_WORD.sub(lambda w: _cap(w.group(0)), token))
    return " ".join(out)


def proper_city(value: str | None) -> str | None:
    """``"SAN FRANCISCO"`` → ``"San Francisco"``."""
    if value is None:
        return None
    return _WORD.sub(lambda w: _cap(w.group(0)), value)


def proper_address(value: str | None) -> str | None:
    """``"12 MAIN ST, SPRINGFIELD, IL 62701"`` (street, city, state zip) in display case."""
    if value is None:
        return None
    parts = value.split(", ")
    if len(parts) != 3:
        return proper_street(value)
    return ", ".join([proper_street(parts[0]) or "", proper_city(parts[1]) or "", parts[2]])


_FIELDS = {
    "first_name": proper_name,
    "middle_name": proper_name,
    "last_name": proper_name,
    "street": proper_street,
    "city": proper_city,
}


def display_value(field: str, value: Any) -> Any:
    """A standardised party-record value as a person reads it (dates as ISO text)."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    fn = _FIELDS.get(field)
    return fn(value) if fn is not None and isinstance(value, str) else value
