"""PII recognisers for free text and undeclared columns.

Regex recognisers with checksums keep false positives low: SSNs must respect
the SSA's area/group/serial rules (and nine bare digits joined to a letter are an
account or reference id, not an SSN), card numbers must pass Luhn, phones must be
valid NANP numbers. SSNs and card numbers found in text are redacted to
``[SSN:<token>]`` / ``[PAN:<token>]`` (the raw value goes to the restricted
zone); emails, phones and account numbers are reported, not redacted, since
the column's own class governs how they are shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

SSN_RE = re.compile(r"(?<![\d-])(\d{3})[- ]?(\d{2})[- ]?(\d{4})(?![\d-])")
PAN_RE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# bounded repetitions keep every pattern linear on a megabyte-long value (an unbounded
# local part made a 2 MB line of letters quadratic)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}")
PHONE_RE = re.compile(
    r"(?<!\d)(?:\+?1[ .-]?)?\(?([2-9]\d{2})\)?[ .-]?([2-9]\d{2})[ .-]?(\d{4})(?!\d)"
)
ACCOUNT_RE = re.compile(
    r"\b(?:account|acct|a/c)(?:\s+(?:number|no\.?|#))?\s*[:#]?\s*(\d{6,17})\b", re.I
)
# Fast pre-filter: only strings with a run of digits or an @ can hold anything.
CANDIDATE_RE = re.compile(r"\d{4}|@")


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


ITIN_GROUPS = set(range(50, 66)) | set(range(70, 89)) | {90, 91, 92} | set(range(94, 100))


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """SSA rules for SSNs; area 9xx is an ITIN (also a TIN) when its group is in ITIN ranges."""
    a, g = int(area), int(group)
    if a >= 900:
        return g in ITIN_GROUPS and serial != "0000"
    return a not in (0, 666) and g != 0 and serial != "0000"


def _in_identifier(text: str, m: re.Match[str]) -> bool:
    """Nine bare digits joined to a letter (``CRD010855442``, ``ACC123456789X``) are part
    of an account or reference number, not an SSN; a written SSN (``123-45-6789``,
    ``123 45 6789``) is one wherever it stands."""
    if not m.group().isdigit():
        return False
    before = text[m.start() - 1] if m.start() else ""
    after = text[m.end()] if m.end() < len(text) else ""
    return before.isalpha() or after.isalpha()


@dataclass(frozen=True)
class Finding:
    kind: str  # ssn | pan | email | phone | account
    value: str
    start: int
    end: int


def find_pii(text: str) -> list[Finding]:
    if not text or not CANDIDATE_RE.search(text):
        return []
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    for m in PAN_RE.finditer(text):
        if luhn_ok(m.group()):
            found.append(Finding("pan", m.group(), m.start(), m.end()))
            taken.append(m.span())
    for m in SSN_RE.finditer(text):
        if free(*m.span()) and ssn_ok(*m.groups()) and not _in_identifier(text, m):
            found.append(Finding("ssn", m.group(), m.start(), m.end()))
            taken.append(m.span())
    for m in EMAIL_RE.finditer(text) if "@" in text else ():
        found.append(Finding("email", m.group(), m.start(), m.end()))
        taken.append(m.span())
    for m in ACCOUNT_RE.finditer(text):
        if free(*m.span(1)):
            found.append(Finding("account", m.group(1), m.start(1), m.end(1)))
            taken.append(m.span(1))
    for m in PHONE_RE.finditer(text):
        if free(*m.span()):
            found.append(Finding("phone", m.group(), m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


REDACT = ("ssn", "pan")


def redact(text: str, findings: list[Finding], token: Callable[[str, str], str | None]) -> str:
    """Replace SSN and PAN findings with ``[KIND:token]``."""
    out, pos = [], 0
    for f in findings:
        if f.kind not in REDACT:
            continue
        out.append(text[pos : f.start])
        out.append(f"[{f.kind.upper()}:{token(f.kind, f.value)}]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)
