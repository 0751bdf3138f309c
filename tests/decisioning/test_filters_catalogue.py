"""The filter language accepts conditions over known columns only; the catalogue is validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from c360.decisioning.catalogue import NO_ACTION, load_catalogue
from c360.decisioning.filters import compile_filter, render, select_where
from c360.errors import C360Error

COLS = {
    "age",
    "state",
    "has_email",
    "deposit_balance",
    "balance_change_30d",
    "has_card",
    "is_core_customer",
}


def test_compiles_and_quotes_columns() -> None:
    cond = compile_filter("age >= 65 AND state IN ('TX', 'CA') AND NOT has_card", COLS)
    sql = render(select_where("ctx", cond, ["golden_id"]))
    assert sql == (
        'SELECT "golden_id" FROM ctx WHERE "age" >= 65 AND "state" IN (\'TX\', \'CA\') '
        'AND NOT "has_card"'
    )


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("age >= 65; DROP TABLE x", "cannot parse"),
        ("lower(state) = 'tx'", "not allowed"),
        ("age IN (SELECT 1)", "not allowed"),
        ("salary > 1", "unknown column 'salary'"),
        ("t.age > 1", "qualified column"),
        ("", "empty condition"),
        ("age > (SELECT max(age) FROM gold__golden_customers)", "not allowed"),
    ],
)
def test_rejects_anything_outside_the_language(text: str, fragment: str) -> None:
    with pytest.raises(C360Error) as e:
        compile_filter(text, COLS)
    assert e.value.code == "decisioning.filter_invalid"
    assert fragment in e.value.message


def test_packaged_catalogue_has_the_required_actions() -> None:
    cat = load_catalogue(None, Path("."), COLS | {"has_loan"})
    assert {
        "retain_fee_waiver",
        "educate_savings_goals",
        "cross_sell_credit_card",
        NO_ACTION,
    } <= set(cat.ids)
    assert cat.get("retain_fee_waiver").suitability == ["minor", "senior", "protected"]
    assert cat.version_id.startswith("2026-01+")


def test_bad_catalogue_is_one_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "cat.yaml"
    p.write_text(
        "version: x\nactions:\n  - id: a\n    description: d\n    purpose: marketing\n    eligibility: 'age > 1'\n"
    )
    with pytest.raises(C360Error, match="no_action"):
        load_catalogue(p, tmp_path, COLS)
    p.write_text(
        "version: x\nactions:\n  - id: no_action\n    description: d\n    purpose: p\n    eligibility: 'income > 1'\n"
    )
    with pytest.raises(C360Error, match="unknown column 'income'"):
        load_catalogue(p, tmp_path, COLS)
    p.write_text("version: x\nactions:\n  - id: no_action\n    descr: d\n")
    with pytest.raises(C360Error) as e:
        load_catalogue(p, tmp_path, COLS)
    assert e.value.code == "decisioning.catalogue_invalid"
