"""Per-batch transformations of a copied file: tokenisation and free-text PII.

Tokens are computed by the engine (``c360.ingest.tokensql``); free text is scanned for
PII in Python, value by value. Both hand the engine a table joined back by
``_row_number``; raw SSN/TIN/PAN values leave this module only towards the restricted
zone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from c360.config import Contract
from c360.ingest import tokensql
from c360.ingest.pii import find_pii, redact
from c360.ingest.validate import q
from c360.tokens import Tokenizer

if TYPE_CHECKING:
    from c360.engine import Engine

VARIANT_KINDS = ("ssn", "tin")


@dataclass
class PiiScan:
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (column, kind) -> rows
    samples: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    restricted: list[dict[str, object]] = field(default_factory=list)  # raw values found in text


def tokenised_columns(contract: Contract, present: set[str]) -> list[tuple[str, str]]:
    return [(c.name, c.tokenize) for c in contract.columns if c.tokenize and c.name in present]


def scan_columns(contract: Contract, present: set[str], extra: list[str]) -> list[str]:
    cols = [
        c.name
        for c in contract.columns
        if c.name in present and (c.type == "text" or c.scan_pii) and not c.tokenize
    ]
    return cols + list(extra)


def build_tokens(
    con: Engine,
    contract: Contract,
    tokenizer: Tokenizer,
    tok_cols: list[tuple[str, str]],
    text_cols: list[str],
) -> PiiScan:
    """Materialise ``tok`` (_row_number, <col>_token/_last4/_variants, redacted text)."""
    scan = PiiScan()
    if not tok_cols and not text_cols:
        return scan  # nothing to add: no ``tok`` table, and ``raw`` is not scanned
    # tokens, last-4 and variants in one SQL pass on all cores (no Python per value)
    items = ["_row_number"]
    for col, kind in tok_cols:
        items += tokensql.token_columns(col, kind, kind in VARIANT_KINDS)
        items.append(f"raw.{q(col + tokensql.PROBLEM)}")
    tokens = "tok" if not text_cols else "tok_values"
    con.materialise(
        tokens,
        f"SELECT {', '.join(items)} FROM {tokensql.prepared('raw', tok_cols)}",
        tokensql.params(tokenizer) if tok_cols else None,
    )
    if not text_cols:
        return scan
    keys = contract.key
    names = list(dict.fromkeys(text_cols + keys))
    src = con.query(f"SELECT _row_number, {', '.join(q(c) for c in names)} FROM raw")
    out: dict[str, pa.Array] = {"_row_number": src["_row_number"].combine_chunks()}
    key_vals = src if keys else None
    for col in text_cols:
        values = src[col].to_pylist()
        red: list[str | None] = []
        kinds: Counter[str] = Counter()
        for i, text in enumerate(values):
            findings = find_pii(text) if text else []
            if not findings:
                red.append(text)
                continue
            for kind in {f.kind for f in findings}:
                kinds[kind] += 1
                scan.samples.setdefault((col, kind), [])
                if len(scan.samples[(col, kind)]) < 5:
                    scan.samples[(col, kind)].append(int(out["_row_number"][i].as_py()))
            for f in findings:
                if f.kind in ("ssn", "pan"):
                    scan.restricted.append(
                        {
                            "column": col,
                            "kind": f.kind,
                            "_row_number": int(out["_row_number"][i].as_py()),
                            "source_key": "|".join(str(key_vals[k][i].as_py()) for k in keys)
                            if key_vals is not None
                            else None,
                            "value": f.value,
                            "token": tokenizer.token(f.kind, f.value),
                        }
                    )
            red.append(redact(text, findings, tokenizer.token))
        for kind, n in kinds.items():
            scan.counts[(col, kind)] = n
        out[col] = pa.array(red, pa.string())
    con.register("text_arrow", pa.table(out))
    texts = ", ".join(f"text_arrow.{q(c)}" for c in text_cols)
    con.materialise(
        "tok",
        f"SELECT tok_values.*, {texts} FROM tok_values JOIN text_arrow "
        "ON tok_values._row_number = text_arrow._row_number",
    )
    con.unregister("text_arrow")
    con.unregister("tok_values")
    return scan
