"""Unity Catalog SQL generated from the policy on a small policy workspace.

The golden files in deploy/databricks/uc come from the real pipeline's tables and are
checked in tests/deploy/test_databricks.py."""

from __future__ import annotations

from c360.workspace import Workspace


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
