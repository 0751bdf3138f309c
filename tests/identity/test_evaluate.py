"""Evaluation against truth: pair counts and the recall the data's evidence allows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa

from c360.identity.evaluate import evaluate_assignment
from c360.identity.schema import PARTY_RECORDS


def _record(key: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {f.name: None for f in PARTY_RECORDS}
    row.update(record_id=f"crm:{key}", source="crm", source_key=key)
    row.update(emails=[], phones=[], refs=[], ssn_variants=[])
    row.update(values)
    return row


def test_ceilings_count_pairs_joined_by_evidence_then_by_names(tmp_path: Path) -> None:
    # person P: a and b share an e-mail one keystroke apart, c shares a zip with b,
    # d carries only P's name; person Q: e and f share nothing at all
    rows = [
        _record(
            "a",
            first_name="ANNA",
            first_key="ANNA",
            last_key="ROSS",
            emails=["anna.ross@example.com"],
        ),
        _record(
            "b",
            first_name="ANNA",
            first_key="ANNA",
            last_key="ROSS",
            emails=["anna.rsos@example.com"],
            zip="02139",
        ),
        _record("c", zip="02139", dob=date(1980, 1, 2)),
        _record("d", first_name="ANN", first_key="ANNA", last_key="ROSS"),
        _record("e", first_name="BO", first_key="BO", last_key="LIND"),
        _record("f", first_name="CARL", first_key="CARL", last_key="LIND"),
    ]
    party = pa.Table.from_pylist(rows, PARTY_RECORDS)
    truth = tmp_path / "truth.csv"
    truth.write_text(
        "source,source_key,person_id\n"
        + "".join(f"crm,{k},P\n" for k in "abcd")
        + "crm,e,Q\ncrm,f,Q\n"
    )
    # a matcher that found a-b only
    assignment = pa.table(
        {
            "source": ["crm"] * 6,
            "source_key": list("abcdef"),
            "golden_id": ["G1", "G1", "G2", "G3", "G4", "G5"],
        }
    )
    m = evaluate_assignment(assignment, truth, party)
    assert m["true_pairs"] == 7 and m["true_positive_pairs"] == 1
    # evidence joins a, b, c (3 of 7 pairs); names add d (6 of 7); e-f stays apart
    assert m["recall_ceiling"] == round(3 / 7, 6)
    assert m["recall_ceiling_names"] == round(6 / 7, 6)
    assert "recall_ceiling" not in evaluate_assignment(assignment, truth)
