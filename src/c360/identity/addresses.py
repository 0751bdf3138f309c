"""US addresses, phones and emails: fast standardisers applied once per distinct value.

A regex parser handles the shapes bank systems deliver (``123 Main St Apt 4,
Springfield, IL 62701``); ``usaddress`` is not needed on the hot path. Phones
that are not plain NANP numbers fall back to ``phonenumbers``.
"""

from __future__ import annotations

import re

import phonenumbers

STREET_SUFFIX = {
    "street": "ST",
    "st": "ST",
    "str": "ST",
    "avenue": "AVE",
    "ave": "AVE",
    "av": "AVE",
    "road": "RD",
    "rd": "RD",
    "drive": "DR",
    "dr": "DR",
    "lane": "LN",
    "ln": "LN",
    "boulevard": "BLVD",
    "blvd": "BLVD",
    "court": "CT",
    "ct": "CT",
    "place": "PL",
    "pl": "PL",
    "terrace": "TER",
    "ter": "TER",
    "circle": "CIR",
    "cir": "CIR",
    "highway": "HWY",
    "hwy": "HWY",
    "parkway": "PKWY",
    "pkwy": "PKWY",
    "way": "WAY",
    "trail": "TRL",
    "trl": "TRL",
    "square": "SQ",
    "sq": "SQ",
}
DIRECTIONS = {
    "north": "N",
    "south": "S",
    "east": "E",
    "west": "W",
    "n": "N",
    "s": "S",
    "e": "E",
    "w": "W",
    "northeast": "NE",
    "northwest": "NW",
    "southeast": "SE",
    "southwest": "SW",
    "ne": "NE",
    "nw": "NW",
    "se": "SE",
    "sw": "SW",
}
UNITS = {"apartment": "APT", "apt": "APT", "unit": "UNIT", "suite": "STE", "ste": "STE", "#": "#"}
_STATE_ZIP = re.compile(r"^(?P<state>[A-Za-z]{2})\s*(?P<zip>\d{5})?(?:-\d{4})?$")
_TOKEN = re.compile(r"[A-Za-z0-9#]+")
_PLACEHOLDER_LOCAL = {
    "noemail",
    "none",
    "na",
    "no",
    "test",
    "unknown",
    "noreply",
    "donotreply",
    "null",
    "email",
}
_PLACEHOLDER_DOMAIN = {"none.com", "noemail.com", "example.com", "test.com", "email.com"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


_PO_BOX = re.compile(r"^(?:P\s*O|POST\s+OFFICE)\s+BOX\b")


def norm_street(raw: str | None) -> str | None:
    """Upper-case street with USPS abbreviations for suffixes, directions and units;
    ``P.O. Box``/``Post Office Box`` → ``PO BOX``, ``#4B`` → ``# 4B``."""
    if not raw:
        return None
    out: list[str] = []
    for tok in _TOKEN.findall(str(raw)):
        low = tok.lower()
        if low.startswith("#") and len(low) > 1:
            out += ["#", tok[1:].upper()]
            continue
        out.append(STREET_SUFFIX.get(low) or DIRECTIONS.get(low) or UNITS.get(low) or tok.upper())
    text = " ".join(out)
    return _PO_BOX.sub("PO BOX", text) or None


def _split_city(text: str) -> tuple[str, str | None]:
    """A one-line ``street city`` without a comma: the street ends at its last suffix
    (and the direction or unit after it) or a PO box number; the rest is the city."""
    toks = text.split()
    end = None
    i = 0
    while i < len(toks):
        low = toks[i].lower().rstrip(".")
        if low in STREET_SUFFIX and i > 0:
            end = i
        elif low == "box" and i + 1 < len(toks) and toks[i + 1].isdigit():
            end = i + 1
            i += 1
        elif end is not None and end == i - 1 and low in DIRECTIONS:
            end = i
        elif end is not None and end == i - 1 and (low in UNITS or low.startswith("#")):
            end = i + (0 if low.startswith("#") and len(low) > 1 else 1)
            i = end
        i += 1
    if end is None or end + 1 >= len(toks):
        return text, None
    return " ".join(toks[: end + 1]), " ".join(toks[end + 1 :]).upper()


def parse_address(raw: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """``(street, city, state, zip)`` from one address line."""
    if not raw or not str(raw).strip():
        return (None, None, None, None)
    parts = [p.strip() for p in str(raw).split(",") if p.strip()]
    state = zip_ = city = None
    if parts:
        m = _STATE_ZIP.match(parts[-1])
        if m is None:
            # "Springfield IL 62701" as the last part
            tail = parts[-1].rsplit(" ", 2)
            if len(tail) == 3 and _STATE_ZIP.match(f"{tail[1]} {tail[2]}"):
                parts[-1:] = [tail[0], f"{tail[1]} {tail[2]}"]
                m = _STATE_ZIP.match(parts[-1])
        if m is not None:
            state, zip_ = m.group("state").upper(), m.group("zip")
            parts = parts[:-1]
    if len(parts) >= 2:
        city = parts[-1].upper()
        parts = parts[:-1]
    elif len(parts) == 1 and state is not None:  # "17 Birch Ln Apt 4 Chicago IL 60614"
        street_part, city = _split_city(parts[0])
        parts = [street_part]
    street = norm_street(" ".join(parts)) if parts else None
    return (street, city, state, zip_)


def norm_phone(raw: str | None) -> str | None:
    """E.164 or None. NANP numbers by digit rules; anything else via ``phonenumbers``."""
    if not raw:
        return None
    text = str(raw)
    digits = re.sub(r"\D", "", text)
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if (len(digits) == 10 and not text.strip().startswith("+")) or (
        text.strip().startswith("+1") and len(digits) == 10
    ):
        if digits[0] in "01" or digits[3] in "01" or len(set(digits)) == 1:
            return None
        return "+1" + digits
    if len(digits) < 7:
        return None
    try:
        num = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def norm_email(raw: str | None, provider_rules: bool = True) -> str | None:
    """Lower-cased email; placeholders dropped; Gmail dots and +tags folded if asked."""
    if not raw:
        return None
    e = str(raw).strip().lower()
    if not _EMAIL.match(e):
        return None
    local, _, domain = e.rpartition("@")
    if local in _PLACEHOLDER_LOCAL or domain in _PLACEHOLDER_DOMAIN:
        return None
    if provider_rules and domain in {"gmail.com", "googlemail.com"}:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"
