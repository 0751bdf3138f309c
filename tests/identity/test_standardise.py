"""Standardisers: names, phones, emails, addresses — examples and properties."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from c360.config import Contract
from c360.errors import C360Error
from c360.identity.addresses import norm_email, norm_phone, parse_address
from c360.identity.cluster import dobs_compatible
from c360.identity.names import first_names_compatible, fold, nickname_key, parse_full_name
from c360.identity.standardise import standardise


@pytest.mark.parametrize(
    ("raw", "layout", "expected"),
    [
        ("SMITH, JOHN A JR", "last_first", ("john", "a", "smith", "JR")),
        ("John A. Smith III", "first_last", ("john", "a", "smith", "III")),
        ("Müller, Zoë", "first_last", ("zoe", None, "muller", None)),
        ("Dr. Mary Ann O'Neil", "first_last", ("mary", "ann", "oneil", None)),
        ("   ", "first_last", (None, None, None, None)),
    ],
)
def test_parse_full_name(raw: str, layout: str, expected: tuple[str | None, ...]) -> None:
    assert parse_full_name(raw, layout) == expected


def test_nicknames_and_typos_are_compatible_names() -> None:
    assert nickname_key("Bob") == nickname_key("Robert")
    assert first_names_compatible("robert", "bob")
    assert first_names_compatible("jonathan", "jonathon")
    assert first_names_compatible("j", "john")
    assert not first_names_compatible("mary", "susan")


def test_dob_compatibility_rules() -> None:
    d = dt.date(1980, 3, 4)
    assert dobs_compatible(d, dt.date(1980, 4, 3))  # day/month swap
    assert dobs_compatible(d, dt.date(1980, 3, 5))  # a day
    assert dobs_compatible(d, dt.date(1989, 3, 4))  # one-digit typo
    assert not dobs_compatible(d, dt.date(1955, 7, 21))


def test_phone_email_address() -> None:
    assert norm_phone("(415) 555-2671") == "+14155552671"
    assert norm_phone("+1 415 555 2671") == "+14155552671"
    assert norm_phone("000-000-0000") is None
    assert norm_phone("+44 20 7946 0958") == "+442079460958"
    assert norm_email(" John.Smith+news@GMAIL.com ") == "johnsmith@gmail.com"
    assert norm_email("noemail@none.com") is None
    assert parse_address("12 North Main Street Apt 4, Springfield, IL 62701-1234") == (
        "12 N MAIN ST APT 4",
        "SPRINGFIELD",
        "IL",
        "62701",
    )


@given(st.text(max_size=40))
def test_fold_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


@given(st.text(max_size=30), st.sampled_from(["first_last", "last_first"]))
def test_parse_never_fails(text: str, layout: str) -> None:
    parts = parse_full_name(text, layout)
    assert len(parts) == 4


def _contract(identity: dict[str, object]) -> Contract:
    cols = ["id", "name", "phone", "email"]
    return Contract.model_validate(
        {
            "source": "crm",
            "key": ["id"],
            "columns": [{"name": c} for c in cols],
            "identity": identity,
        }
    )


def test_records_without_identity_are_kept_with_a_reason() -> None:
    c = _contract({"full_name": "name", "phones": ["phone"], "emails": ["email"]})
    t = pa.table(
        {"id": ["1", "2"], "name": ["Ann Lee", None], "phone": [None, "n/a"], "email": [None, "x"]}
    )
    out = standardise({"crm": (c, t)})
    assert out.num_rows == 2
    reasons = dict(
        zip(out["record_id"].to_pylist(), out["no_identity_reason"].to_pylist(), strict=True)
    )
    assert reasons["crm:1"] is None
    assert reasons["crm:2"] == "no usable identity attributes"


def test_mapping_to_a_missing_silver_column_is_a_clear_error() -> None:
    c = _contract({"full_name": "name", "phones": ["phone"], "emails": ["email"]})
    t = pa.table({"id": ["1"], "name": ["Ann Lee"], "phone": ["4155552671"]})  # no email column
    with pytest.raises(C360Error) as exc:
        standardise({"crm": (c, t)})
    assert exc.value.code == "identity.mapping_missing_column"
    assert "email" in exc.value.message


def test_contract_mapping_an_undeclared_column_is_rejected() -> None:
    with pytest.raises(ValueError, match="identity maps to column"):
        _contract({"full_name": "nom"})
