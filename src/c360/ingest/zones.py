"""Writing one batch into the zones: each table one Delta commit tagged with the batch.

:class:`ZoneWriter` knows which tables already hold a batch (from their commit
history, read once per run), so a re-run after a crash writes only the commits
that are missing. Raw SSN/TIN/PAN values reach only ``restricted``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from c360.config import Contract
from c360.ingest import readers
from c360.ingest.pii import find_pii, redact
from c360.ingest.validate import TYPED, Header, lit, q
from c360.lakehouse import Lakehouse
from c360.tokens import Tokenizer

if TYPE_CHECKING:
    from c360.engine import Engine


def redact_bytes(raw: bytes | None, token: Callable[[str, str], str | None]) -> bytes | None:
    """The record's original bytes with only SSNs and card numbers replaced by their
    tokens: every other byte (a Latin-1 ``é``, a stray NUL) is kept, so a steward can
    repair the row. Latin-1 maps bytes 1:1 to characters, so spans line up."""
    if raw is None:
        return None
    text = raw.decode("latin-1")
    findings = [f for f in find_pii(text) if f.kind in ("ssn", "pan")]
    return redact(text, findings, token).encode("latin-1") if findings else raw


def visible_columns(header: Header, tok_cols: list[tuple[str, str]]) -> list[str]:
    """Columns bronze shows: tokenised ones replaced by their token, last-4 and variants."""
    tok = {name: kind for name, kind in tok_cols}
    out: list[str] = []
    for name in header.present + header.extra:
        if name in tok:
            out += [f"{name}_token", f"{name}_last4"] + (
                [f"{name}_variants"] if tok[name] in ("ssn", "tin") else []
            )
        else:
            out.append(name)
    return out


class ZoneWriter:
    """Batch-tagged writes of one source's restricted, bronze, quarantine and silver tables."""

    def __init__(self, lh: Lakehouse, contract: Contract, tokenizer: Tokenizer) -> None:
        self.lh = lh
        self.c = contract
        self.tokenizer = tokenizer
        self._committed: dict[tuple[str, str], set[str]] = {}

    def has(self, zone: str, name: str, batch_id: str) -> bool:
        key = (zone, name)
        if key not in self._committed:
            self._committed[key] = self.lh.committed_batches(zone, name)
        return batch_id in self._committed[key]

    def write(
        self,
        zone: str,
        name: str,
        batch_id: str,
        data: pa.Table | pa.RecordBatchReader,
        *,
        merge_keys: list[str] | None = None,
        delete_column: str | None = None,
        schema_merge: bool = False,
    ) -> None:
        if self.has(zone, name, batch_id):
            return
        if merge_keys:
            table = data.read_all() if isinstance(data, pa.RecordBatchReader) else data
            self.lh.merge(
                zone, name, table, merge_keys, batch_id=batch_id, delete_column=delete_column
            )
        else:
            self.lh.append(
                zone,
                name,
                data,
                batch_id=batch_id,
                schema_merge=schema_merge,
                raw_text=zone == "bronze",
            )
        self._committed[(zone, name)].add(batch_id)

    def restricted(
        self,
        con: Engine,
        bid: str,
        tok_cols: list[tuple[str, str]],
        relation: str,
    ) -> None:
        """Raw values beside their tokens, from ``relation`` (raw joined with tok)."""
        self.write_restricted(bid, con.stream(self.restricted_sql(bid, tok_cols, relation)))

    def restricted_sql(self, bid: str, tok_cols: list[tuple[str, str]], relation: str) -> str:
        """The restricted rows of ``relation``: key, raw value and token per tokenised column
        (every row, quarantined ones included: quarantine keeps only the token)."""
        cols = [f"CAST({q(k)} AS VARCHAR) AS {q(k)}" for k in self.c.key]
        for name, _ in tok_cols:
            cols += [q(name), q(name + "_token")]
        return f"SELECT {', '.join(cols)}, _row_number, {lit(bid)} AS _batch_id FROM {relation}"

    def write_restricted(self, bid: str, rows: pa.Table | pa.RecordBatchReader) -> None:
        self.write("restricted", self.c.source, bid, rows, schema_merge=True)

    def quarantine(
        self,
        con: Engine,
        bid: str,
        relpath: str,
        cols_sql: str,
        lineage: str,
        rejects: list[readers.Reject],
    ) -> None:
        typed_bad = con.query(
            f"SELECT {cols_sql}, {lineage}, _reason, CAST(NULL AS BIGINT) AS _line, CAST(NULL AS VARCHAR) AS _raw_line "
            "FROM staged WHERE _reason IS NOT NULL ORDER BY _row_number"
        )
        if rejects:
            tk = self.tokenizer.token
            parse_bad = pa.table(
                {
                    "_batch_id": [bid] * len(rejects),
                    "_source_file": [relpath] * len(rejects),
                    "_row_number": pa.array([None] * len(rejects), pa.int64()),
                    "_ingested_at": pa.array(
                        [datetime.now(UTC)] * len(rejects), pa.timestamp("us", tz="UTC")
                    ),
                    "_reason": [r.reason for r in rejects],
                    "_line": pa.array([r.line for r in rejects], pa.int64()),
                    "_raw_line": [redact(r.raw, find_pii(r.raw), tk) for r in rejects],
                    "_raw_bytes": pa.array(
                        [redact_bytes(r.raw_bytes, tk) for r in rejects], pa.binary()
                    ),
                }
            )
            typed_bad = pa.concat_tables([typed_bad, parse_bad], promote_options="permissive")
        self.write("quarantine", self.c.source, bid, typed_bad, schema_merge=True)

    @property
    def silver_appends(self) -> bool:
        """Silver of this source is appended (events, or no key), not merged by key."""
        return self.c.mode == "events" or not self.c.key

    def silver_rows(self, con: Engine, tok_cols: list[tuple[str, str]], lineage: str) -> pa.Table:
        """The batch's silver rows from ``staged`` (one per key for a CDC source, with
        ``_delete``); :meth:`write_silver` commits them."""
        rows = con.query(self.silver_sql(tok_cols, lineage))
        # a CDC batch's latest row per key, numbered ``_k`` (not SELECT * EXCLUDE: Spark has none)
        return rows.drop_columns(["_k"]) if "_k" in rows.column_names else rows

    def silver_sql(self, tok_cols: list[tuple[str, str]], lineage: str) -> str:
        """The query of the batch's silver rows (see :meth:`silver_rows`)."""
        c = self.c
        tok = {name: kind for name, kind in tok_cols}
        cols: list[str] = []
        for spec in c.columns:
            if c.cdc and spec.name == c.cdc.op_column:
                continue
            if spec.name in tok:
                cols += [q(f"{spec.name}_token"), q(f"{spec.name}_last4")]
                if tok[spec.name] in ("ssn", "tin"):
                    cols.append(q(f"{spec.name}_variants"))
            elif spec.tokenize:  # declared but absent from this file
                cols += [
                    f"CAST(NULL AS VARCHAR) AS {q(spec.name + '_token')}",
                    f"CAST(NULL AS VARCHAR) AS {q(spec.name + '_last4')}",
                ]
                if spec.tokenize in ("ssn", "tin"):
                    cols.append(f"CAST(NULL AS VARCHAR[]) AS {q(spec.name + '_variants')}")
            else:
                cols.append(f"{q(TYPED + spec.name)} AS {q(spec.name)}")
        select_sql = f"SELECT {', '.join(cols)}, {lineage} FROM staged WHERE _reason IS NULL"
        if not c.cdc or self.silver_appends:
            return select_sql
        keys = ", ".join(q(TYPED + k) for k in c.key)
        order = (
            f"{q(TYPED + c.cdc.sequence_column)} DESC NULLS LAST, " if c.cdc.sequence_column else ""
        ) + "_row_number DESC"
        deletes = ", ".join(lit(d) for d in c.cdc.delete)
        sql = (
            f"SELECT * FROM (SELECT {', '.join(cols)}, {lineage}, "
            f"trim({q(TYPED + c.cdc.op_column)}) IN ({deletes}) AS _delete, "
            f"row_number() OVER (PARTITION BY {keys} ORDER BY {order}) AS _k "
            f"FROM staged WHERE _reason IS NULL) AS latest WHERE _k = 1"
        )
        return sql

    def write_silver(self, bid: str, rows: pa.Table | pa.RecordBatchReader) -> None:
        c = self.c
        if self.silver_appends:
            self.write("silver", c.source, bid, rows)
        elif c.cdc:
            self.write("silver", c.source, bid, rows, merge_keys=c.key, delete_column="_delete")
        else:
            self.write("silver", c.source, bid, rows, merge_keys=c.key)
