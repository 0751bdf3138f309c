"""The free-text PII recognisers: what they find, what they leave, what redaction writes."""

from __future__ import annotations

import pytest

from c360.ingest.pii import find_pii, redact


def _kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.value) for f in find_pii(text)]


@pytest.mark.parametrize(
    "text, want",
    [
        ("ssn 123-45-6789 on file", [("ssn", "123-45-6789")]),
        ("ssn 123 45 6789", [("ssn", "123 45 6789")]),
        ("my ssn is 123456789.", [("ssn", "123456789")]),
        ("C00017,Ann,123456789,12.50", [("ssn", "123456789")]),
        ("SSN123-45-6789", [("ssn", "123-45-6789")]),  # written as an SSN: one anywhere
        ("tin 912-70-1234", [("ssn", "912-70-1234")]),  # an ITIN
        # not SSNs: SSA rules, ITIN groups, and nine digits inside an identifier
        ("area 000-12-3456", []),
        ("area 666-12-3456", []),
        ("group 123-00-4567", []),
        ("serial 123-45-0000", []),
        ("912-45-1234", []),
        ("CRD010855442,2026-01-03,19.99", []),
        ("ref 123456789X", []),
        ("1234567890", []),  # ten digits
        ("card 4111 1111 1111 1111 ok", [("pan", "4111 1111 1111 1111")]),
        ("card 4111 1111 1111 1112", []),  # fails Luhn
        ("write to ann@example.com", [("email", "ann@example.com")]),
        ("call (212) 555-0142", [("phone", "(212) 555-0142")]),
        ("account number 00123456", [("account", "00123456")]),
    ],
)
def test_recognisers(text: str, want: list[tuple[str, str]]) -> None:
    assert _kinds(text) == want


def test_redaction_replaces_ssns_and_card_numbers_only() -> None:
    text = "CRD010855442 ssn 123-45-6789 pan 4111111111111111 ann@example.com"
    out = redact(text, find_pii(text), lambda kind, value: f"t{len(value)}")
    assert out == "CRD010855442 ssn [SSN:t11] pan [PAN:t16] ann@example.com"
