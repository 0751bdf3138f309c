"""Unity Catalog SQL generated from the policy, checked against golden files in deploy/databricks/uc."""

from __future__ import annotations

import os
from pathlib import Path

from c360.workspace import Workspace

GOLDEN = Path(__file__).parents[2] / "deploy" / "databricks" / "uc"


def test_uc_sql_matches_golden_files(loaded: Workspace) -> None:
    files = loaded.governance.uc_sql()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    assert sorted(files) == sorted(p.name for p in GOLDEN.glob("*.sql"))
    for name, text in files.items():
        assert text == (GOLDEN / name).read_text(encoding="utf-8"), (
            f"{name} differs; UPDATE_GOLDEN=1 to accept"
        )


def test_uc_sql_encodes_the_policy(loaded: Workspace) -> None:
    files = loaded.governance.uc_sql()
    masks = files["20_column_masks.sql"]
    assert (
        "ALTER TABLE c360.silver.crm ALTER COLUMN email SET MASK c360.governance.mask_pii_string;"
        in masks
    )
    assert "ALTER COLUMN customer_id" not in masks and "ALTER COLUMN _batch_id" not in masks
    assert (
        "SET ROW FILTER c360.governance.rf_gold_golden_customers ON (region)"
        in files["30_row_filters.sql"]
    )
    grants = files["40_grants.sql"].splitlines()
    restricted = [g for g in grants if "c360.restricted" in g]
    assert restricted and all("c360_privacy__" in g or "c360_governance__" in g for g in restricted)
    fn = files["10_functions.sql"]
    assert "WHEN is_account_group_member('c360_agent__service') THEN make_date(year(v), 1, 1)" in fn
