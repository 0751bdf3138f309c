"""Feature views as data: loading, versions, validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from c360.errors import C360Error
from c360.features.inputs import compile_view_sql
from c360.features.spec import load_view, load_views

VIEW = """
name: my_view
description: test view
owner: tests
sql: |
  SELECT golden_id, count(*) AS n_logins FROM logins GROUP BY golden_id
columns:
  n_logins: {class: behavioural, type: int}
"""


def test_packaged_views_cover_the_issue_list() -> None:
    views = load_views()
    assert {
        "product_holdings",
        "tenure",
        "digital_activity",
        "balance_trends",
        "card_spend",
        "email_engagement",
        "contact_centre",
        "life_stage",
    } <= set(views)
    cols = [c for v in views.values() for c in v.columns]
    assert len(cols) >= 30 and len(cols) == len(set(cols))
    for v in views.values():
        assert v.entity == "golden_id" and v.owner and v.description
        assert all(c.class_ for c in v.columns.values())


def test_version_is_a_hash_of_the_definition(tmp_path: Path) -> None:
    p = tmp_path / "v.yaml"
    p.write_text(VIEW)
    v1 = load_view(p)
    assert load_view(p).version == v1.version
    p.write_text(VIEW.replace("count(*)", 'count(DISTINCT "at")'))
    assert load_view(p).version != v1.version


def test_workspace_view_replaces_packaged_one(tmp_path: Path) -> None:
    (tmp_path / "tenure.yaml").write_text(VIEW.replace("my_view", "tenure"))
    views = load_views(tmp_path)
    assert views["tenure"].owner == "tests"
    assert "digital_activity" in views


@pytest.mark.parametrize(
    "text, needle",
    [
        (VIEW.replace("owner: tests\n", ""), "owner"),
        (VIEW.replace("class: behavioural", "class: secret"), "class"),
        (VIEW.replace("FROM logins", "FROM silver__digital_logins"), "feature input"),
        ("name: [", "YAML"),
    ],
)
def test_bad_views_are_clear_errors(tmp_path: Path, text: str, needle: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(C360Error) as err:
        load_view(p)
    assert err.value.code == "features.bad_view"
    assert str(p) in err.value.message and needle in err.value.message


def test_inputs_are_bounded_at_as_of() -> None:
    sql = compile_view_sql("SELECT golden_id, count(*) AS n FROM logins GROUP BY golden_id")
    assert '"at" < $as_of' in sql
    assert (
        "$as_of"
        not in compile_view_sql(
            "SELECT golden_id, count(*) AS n FROM logins GROUP BY golden_id", bounded=False
        )
        .split("FROM silver__digital_logins")[1]
        .split(")")[0]
    )
