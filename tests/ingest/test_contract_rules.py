"""Contract rules: ranges, domains, patterns, digit strings, control characters, header case.

Each rule quarantines exactly the rows that break it, with a reason naming the column."""

from __future__ import annotations

from tests.ingest.conftest import contract, drop, quarantine_reasons, silver

PEOPLE = """
source: people
key: [id]
columns:
  - {name: id, type: string, required: true, digits: true}
  - {name: name, type: string}
  - {name: dob, type: date, min: 1900-01-01, not_in_future: true}
  - {name: age, type: int, min: 0, max: 130}
  - {name: status, type: string, allowed: [active, closed]}
  - {name: zip, type: string, pattern: "[0-9]{5}"}
"""


def test_ranges_domains_patterns_and_digit_strings(workspace):
    contract(workspace, PEOPLE)
    body = (
        "id,name,dob,age,status,zip\n"
        "001,Ann,1980-01-02,44,active,02134\n"  # good (leading zeros kept as text)
        "002,Bob,2999-01-01,30,active,02134\n"  # birth date in the future
        "003,Cy,1850-05-05,40,closed,02134\n"  # before min
        "004,Di,1980-01-02,-3,active,02134\n"  # negative age
        "005,Ed,1980-01-02,40,pending,02134\n"  # not an allowed value
        "006,Fay,1980-01-02,40,active,2134\n"  # zip lost its leading zero
        "4.11111E+15,Gus,1980-01-02,40,active,02134\n"  # spreadsheet-mangled id
        "7.0,Hal,1980-01-02,40,active,02134\n"  # not a digit string
    )
    drop(workspace, "people", "p.csv", body)
    (batch,) = workspace.ingest().batches()
    assert (batch.rows_in, batch.rows_loaded, batch.rows_quarantined) == (8, 1, 7)
    assert quarantine_reasons(workspace, "people") == [
        "date in the future in column dob: 2999-01-01",
        "not a digit string in column id: 7.0",
        "spreadsheet-mangled value in digit column id (scientific notation): 4.11111E+15",
        "value below the minimum 0 of column age: -3",
        "value below the minimum 1900-01-01 of column dob: 1850-05-05",
        "value does not match the pattern of column zip: 2134",
        "value not allowed in column status: pending",
    ]
    (row,) = silver(workspace, "people")
    assert (row["id"], row["zip"]) == ("001", "02134")


CARDS = """
source: cards
key: [card_id]
columns:
  - {name: card_id, type: string, required: true}
  - {name: pan, type: string, tokenize: pan, pii: pii_sensitive}
"""


def test_mangled_card_number_is_not_tokenised(workspace):
    contract(workspace, CARDS)
    body = "card_id,pan\nK1,4111 1111 1111 1111\nK2,4.11111E+15\nK3,4111-1111-1111\nK4,\n"
    drop(workspace, "cards", "c.csv", body)
    (batch,) = workspace.ingest().batches()
    assert (batch.rows_loaded, batch.rows_quarantined) == (3, 1)
    assert quarantine_reasons(workspace, "cards") == [
        "spreadsheet-mangled value in pan column pan (scientific notation): 4.11111E+15"
    ]
    rows = {r["card_id"]: r for r in silver(workspace, "cards")}
    tk = workspace.tokenizer
    assert rows["K1"]["pan_token"] == tk.token("pan", "4111111111111111")
    assert rows["K1"]["pan_last4"] == "1111"
    assert rows["K3"]["pan_token"] == tk.token("pan", "411111111111")
    assert rows["K4"]["pan_token"] is None and rows["K4"]["pan_last4"] is None
    # the quarantined row shows the token columns, never the raw number
    q = workspace.lakehouse.read("quarantine", "cards").to_pylist()
    assert "pan" not in q[0] and q[0]["pan_token"] is None


def test_ssn_tokens_and_variants_match_the_tokenizer(workspace):
    from tests.ingest.conftest import CUSTOMERS, HEADER

    contract(workspace, CUSTOMERS)
    drop(workspace, "customers", "d.csv", HEADER + "C1,A,01/02/1980,123-45-6789,1,\n")
    workspace.ingest()
    (row,) = silver(workspace, "customers")
    tk = workspace.tokenizer
    assert row["ssn_token"] == tk.token("ssn", "123456789")
    assert row["ssn_variants"] == tk.transposition_tokens("ssn", "123456789")


NOTES = """
source: notes
key: [id]
control_chars: reject
columns:
  - {name: id, type: string, required: true}
  - {name: name, type: string}
  - {name: memo, type: text, control_chars: strip}
"""


def test_control_characters_rejected_or_stripped_as_declared(workspace):
    contract(workspace, NOTES)
    body = 'id,name,memo\n1,An\x00ne,ok\n2,Bob,tab\there\x07 bell\n3,Cy,"two\nlines"\n'
    drop(workspace, "notes", "n.csv", body)
    (batch,) = workspace.ingest().batches()
    assert (batch.rows_loaded, batch.rows_quarantined) == (2, 1)
    assert quarantine_reasons(workspace, "notes") == ["control character U+0000 in column name"]
    rows = {r["id"]: r for r in silver(workspace, "notes")}
    assert rows["2"]["memo"] == "tab\there bell"  # BEL stripped, tab kept
    assert rows["3"]["memo"] == "two\nlines"


def test_header_case_insensitive(workspace):
    contract(workspace, PEOPLE + "header_case: insensitive\n")
    drop(
        workspace,
        "people",
        "p.csv",
        "ID,Name,DOB,Age,STATUS,Zip\n001,Ann,1980-01-02,44,active,02134\n",
    )
    (batch,) = workspace.ingest().batches()
    assert (batch.rows_loaded, batch.warnings) == (1, [])
    (row,) = silver(workspace, "people")
    assert (row["name"], row["age"], row["zip"]) == ("Ann", 44, "02134")


def test_header_case_exact_by_default(workspace):
    contract(workspace, PEOPLE)
    drop(
        workspace,
        "people",
        "p.csv",
        "ID,name,dob,age,status,zip\n001,Ann,1980-01-02,44,active,02134\n",
    )
    (batch,) = workspace.ingest().batches()
    assert batch.status == "failed"
    assert batch.error is not None and "required column 'id' is missing" in batch.error


def test_headers_differing_only_by_case_are_an_error(workspace):
    contract(workspace, PEOPLE + "header_case: insensitive\n")
    drop(workspace, "people", "p.csv", "id,ID,name\n1,2,Ann\n")
    (batch,) = workspace.ingest().batches()
    assert batch.status == "failed"
    assert batch.error == (
        "p.csv: header columns 'id' and 'ID' differ only by case (contract has header_case: "
        "insensitive)"
    )
