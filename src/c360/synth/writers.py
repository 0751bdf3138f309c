"""Writing landing files (one per day, names sorting chronologically) and the
fast stand-alone card-transaction file for the ingest benchmark."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from c360.synth import engagement

EXT = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}


def public(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop the generator's private ``_columns`` (truth never reaches landing) and
    write empty strings as missing values (bare empty CSV field, JSON null)."""
    cols = [c for c in frame.columns if not c.startswith("_")]
    return frame.select(
        pl.when(pl.col(c) != "").then(pl.col(c)).otherwise(None).alias(c)
        if frame.schema[c] == pl.String
        else pl.col(c)
        for c in cols
    )


def write_frame(frame: pl.DataFrame, path: Path, kind: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")  # ingest ignores *.part until renamed
    if kind == "csv":
        frame.write_csv(tmp)
    elif kind == "jsonl":
        frame.write_ndjson(tmp)
    else:
        frame.write_parquet(tmp, compression="zstd", statistics=False)
    tmp.replace(path)


def write_source(
    frame: pl.DataFrame, source: str, kind: str, landing: Path, start: date, days: int
) -> tuple[list[Path], int]:
    """``landing/<source>/<YYYY-MM-DD>.<ext>``: the full load, then one file per day."""
    files: list[Path] = []
    rows = 0
    parts = frame.partition_by("_day", as_dict=True, maintain_order=True)
    for d in range(days + 1):
        sub = parts.get((d,))
        out = public(sub if sub is not None else frame.clear())
        path = landing / source / f"{start + timedelta(days=d):%Y-%m-%d}.{EXT[kind]}"
        write_frame(out, path, kind)
        files.append(path)
        rows += out.height
    return files, rows


def write_card_transactions_csv(
    path: str | Path, rows: int, seed: int, accounts: int = 100_000
) -> int:
    """A large ``card_transactions`` CSV (contract layout) for the ingest benchmark.

    Vectorised in chunks of 1M rows; deterministic by ``seed``. Returns rows written.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 9_001])
    t0 = int((np.datetime64("2026-01-01") - np.datetime64("1970-01-01")).astype(np.int64)) * 86400
    chunk = 1_000_000
    written = 0
    with out.open("wb") as fh:
        while written < rows or written == 0:
            n = min(chunk, rows - written)
            sec = np.sort(t0 + rng.integers(0, 30 * 86400, n))
            acct_n = rng.integers(0, max(accounts, 1), n)
            acct = pl.Series(acct_n).cast(pl.String).str.zfill(9)
            acct = pl.select(pl.format("CRD{}", pl.lit(acct))).to_series()
            df = engagement.txn_frame(acct, sec, engagement.txn_columns(n, rng), written + 1)
            df.write_csv(fh, include_header=written == 0)
            written += n
            if n == 0:
                break
    return written
