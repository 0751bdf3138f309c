"""Common blocking keys (``identity.common_block_records``): a first name + surname, or a
first name + zip, held by many records blocks only together with partial evidence, so
the pairs a run scores stop growing with the square of the population. On the synthetic
world, through generate → ingest → identity, the bound changes no golden record."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pytest

from c360.identity import model
from tests.identity.synthetic import synthetic_workspace


def _resolve(root: Path, k: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.setenv("C360_IDENTITY__COMMON_BLOCK_RECORDS", str(k))
    ws = synthetic_workspace(root, 2000, hard=False)
    try:
        ws.ingest()
        report = ws.identity.run()
        links = ws.identity.links()
        party = ws.lakehouse.read("silver", "party_records")
        pairs = ws.lakehouse.read("silver", "identity_pairs")
        return {
            "common": model.load_common_keys(ws.root / "models" / "identity", report.model_version),
            "golden": dict(
                zip(links["record_id"].to_pylist(), links["golden_id"].to_pylist(), strict=True)
            ),
            "party": party.filter(pc.is_null(party["no_identity_reason"])),
            "pairs": set(
                zip(pairs["record_id_l"].to_pylist(), pairs["record_id_r"].to_pylist(), strict=True)
            ),
            "eval": ws.identity.evaluate(ws.truth_dir / "identity.csv"),
        }
    finally:
        ws.close()


def test_common_keys_bound_the_blocks_and_change_no_golden_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _resolve(tmp_path / "alone", 1_000_000, monkeypatch)  # every key blocks alone
    bound = _resolve(tmp_path / "bound", 4, monkeypatch)
    assert alone["common"].num_rows == 0

    # the common keys are exactly the names and zip + first names of more than 4 records
    party = bound["party"].to_pylist()
    names = Counter((r["first_key"], r["last_key"]) for r in party)
    zips = Counter((r["zip"], r["first_key"]) for r in party)
    want = {("name", f"{a}\x1f{b}") for (a, b), n in names.items() if a and b and n > 4}
    want |= {("zip_first", f"{a}\x1f{b}") for (a, b), n in zips.items() if a and b and n > 4}
    common = bound["common"]
    got = set(zip(common["kind"].to_pylist(), common["key"].to_pylist(), strict=True))
    assert got == want and any(kind == "name" for kind, _ in got), got

    # fewer candidates, and no pair that matters lost: every golden record is the same
    assert bound["pairs"] < alone["pairs"]
    assert bound["golden"] == alone["golden"]
    assert bound["eval"]["precision"] == alone["eval"]["precision"]
    assert bound["eval"]["recall"] == alone["eval"]["recall"]
