"""Tokens in every zone: on a file that repeats card numbers and SSNs (re-spelt: padded,
spaced, dashed) and holds bad values, bronze, silver, quarantine and restricted get the
tokens, last-4, variants, quarantine reasons and row hashes that the token SQL
(c360.ingest.tokensql) and the Python tokenizer give."""

from __future__ import annotations

import duckdb

from c360.ingest import tokensql
from tests.ingest.conftest import contract, drop

CARDS = """
source: cards
key: [txn]
columns:
  - {name: txn, type: string, required: true}
  - {name: pan, type: string, tokenize: pan, required: true, pii: pii_sensitive}
  - {name: ssn, type: string, tokenize: ssn, pii: pii_sensitive}
"""

GOOD_PANS = ["4111111111111111", "4716 0000 0004 5582", "5500-0000-0000-0004", "411111111111"]
BAD_PANS = {
    "4.11111E+15": "spreadsheet-mangled value in pan column pan (scientific notation): 4.11111E+15",
    "12345": "pan in column pan has 5 digits, expected 12–19 (a lost leading zero?)",
    "card 4111": "not a digit string in pan column pan: card 4111",
    "": "missing required value in column pan",
}
SSNS = ["123-45-6789", "123456789", "987 65 4320", "", "12345678"]


def _rows() -> list[tuple[str, str, str]]:
    """Each good card number many times, spelled differently, among bad values."""
    rows = []
    for i in range(60):
        pan = GOOD_PANS[i % len(GOOD_PANS)]
        if i % 7 == 3:
            pan = list(BAD_PANS)[(i // 7) % len(BAD_PANS)]
        elif i % 5 == 1:
            pan = f" {pan} "  # same number, padded: its own dictionary entry
        rows.append((f"T{i:03d}", pan, SSNS[i % len(SSNS)]))
    return rows


def test_zone_tokens_equal_the_token_sql_and_the_python_tokenizer(workspace):
    contract(workspace, CARDS)
    rows = _rows()
    body = "txn,pan,ssn\n" + "".join(f'{t},"{p}","{s}"\n' for t, p, s in rows)
    path = drop(workspace, "cards", "c.csv", body)
    (batch,) = workspace.ingest().batches()
    tk = workspace.tokenizer

    # the per-row SQL (c360.ingest.tokensql.token_columns) over the same file
    cols = [("pan", "pan"), ("ssn", "ssn")]
    items = ["raw.txn"]
    for name, kind in cols:
        items += tokensql.token_columns(name, kind, kind == "ssn")
        items.append(f"raw.{name}__problem")
    per_row = {
        r[0]: r[1:]
        for r in duckdb.execute(
            f"SELECT {', '.join(items)} FROM "
            + tokensql.prepared(f"read_csv('{path}', header=true, all_varchar=true)", cols),
            tokensql.params(tk),
        ).fetchall()
    }

    lh = workspace.lakehouse
    bronze = {r["txn"]: r for r in lh.read("bronze", "cards").to_pylist()}
    quarantine = {r["txn"]: r for r in lh.read("quarantine", "cards").to_pylist()}
    restricted = {r["txn"]: r for r in lh.read("restricted", "cards").to_pylist()}
    silver = {r["txn"]: r for r in lh.read("silver", "cards").to_pylist()}
    bad = [t for t, p, s in rows if p in BAD_PANS or s == SSNS[4]]
    assert (batch.rows_in, batch.rows_quarantined) == (60, len(bad))
    assert set(quarantine) == set(bad) and set(bronze) == set(silver) == {
        t for t, *_ in rows
    } - set(bad)
    assert set(restricted) == {t for t, *_ in rows}

    for txn, pan, ssn in rows:
        pan_tok, pan_l4, pan_problem, ssn_tok, ssn_l4, ssn_var, ssn_problem = per_row[txn]
        row = bronze.get(txn) or quarantine[txn]
        assert (row["pan_token"], row["pan_last4"]) == (pan_tok, pan_l4), txn
        assert (row["ssn_token"], row["ssn_last4"], row["ssn_variants"]) == (
            ssn_tok,
            ssn_l4,
            ssn_var,
        ), txn
        assert restricted[txn]["pan"] == (pan or None) and restricted[txn]["pan_token"] == pan_tok
        assert restricted[txn]["ssn"] == (ssn or None) and restricted[txn]["ssn_token"] == ssn_tok
        assert (pan_problem is None) == (pan not in BAD_PANS or pan == ""), txn
        if pan in BAD_PANS:
            assert pan_tok is None and BAD_PANS[pan] in quarantine[txn]["_reason"], txn
        else:
            assert pan_tok == tk.token("pan", pan) and pan_l4 == pan.strip()[-4:]
        if ssn and ssn_problem is None:
            assert ssn_tok == tk.token("ssn", ssn)
            assert ssn_var == tk.transposition_tokens("ssn", ssn)
        if txn in silver:
            assert silver[txn]["pan_token"] == pan_tok and silver[txn]["ssn_token"] == ssn_tok

    # the row hash covers the tokens: the one stored is the hash of the row as loaded
    visible = ["txn", "pan_token", "pan_last4", "ssn_token", "ssn_last4", "ssn_variants"]
    for zone in ("bronze", "quarantine"):
        stored = lh.read(zone, "cards").select([*visible, "_row_hash"])  # noqa: F841
        mismatched = duckdb.sql(
            f"SELECT txn FROM stored WHERE _row_hash <> {tokensql.row_hash_sql(visible, 'stored')}"
        ).fetchall()
        assert mismatched == [], zone
