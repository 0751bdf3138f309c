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


def write_frame(frame: pl.DataFrame, path: Path, kind: str, extra: bytes = b"") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")  # ingest ignores *.part until renamed
    if kind == "csv":
        frame.write_csv(tmp)
        if extra:
            with tmp.open("ab") as fh:
                fh.write(extra)
    elif kind == "jsonl":
        frame.write_ndjson(tmp)
    else:
        frame.write_parquet(tmp, compression="zstd", statistics=False)
    tmp.replace(path)


DIRTY_KINDS = ("missing_columns", "too_many_columns", "invalid_encoding")


def write_source(
    frame: pl.DataFrame,
    source: str,
    kind: str,
    landing: Path,
    start: date,
    days: int,
    dirty_rate: float = 0.0,
    rng: np.random.Generator | None = None,
) -> tuple[list[Path], int, list[dict[str, object]]]:
    """``landing/<source>/<YYYY-MM-DD>.<ext>``: the full load, then one file per day.

    Daily CSV drops get ``Binomial(rows, dirty_rate)`` malformed lines appended; they are
    returned (source, file, line, kind) for ``truth/dirty_rows.csv``.
    """
    files: list[Path] = []
    rows = 0
    dirty: list[dict[str, object]] = []
    parts = frame.partition_by("_day", as_dict=True, maintain_order=True)
    for d in range(days + 1):
        sub = parts.get((d,))
        out = public(sub if sub is not None else frame.clear())
        path = landing / source / f"{start + timedelta(days=d):%Y-%m-%d}.{EXT[kind]}"
        extra = b""
        if kind == "csv" and d > 0 and out.height and dirty_rate > 0 and rng is not None:
            n_bad = int(rng.binomial(out.height, dirty_rate))
            extra, bad = _dirty_lines(path, out, n_bad, rng, landing)
            dirty += bad
        write_frame(out, path, kind, extra)
        files.append(path)
        rows += out.height
    return files, rows, dirty


def _dirty_lines(
    path: Path, out: pl.DataFrame, n: int, rng: np.random.Generator, landing: Path
) -> tuple[bytes, list[dict[str, object]]]:
    """``n`` malformed copies of rows of ``out`` (never loadable, always quarantined),
    to append after the file's rows; with their physical line numbers."""
    if n == 0:
        return b"", []
    first_line = out.height + 2  # header is line 1; generated fields hold no newlines
    width = out.width
    added: list[bytes] = []
    rows: list[dict[str, object]] = []
    for i in range(n):
        src = [
            ("" if v is None else str(v)).replace(",", " ").replace('"', "")
            for v in out.row(int(rng.integers(0, out.height)))
        ]
        kind = DIRTY_KINDS[int(rng.integers(0, len(DIRTY_KINDS)))]
        if kind == "missing_columns":
            line = ",".join(src[: max(1, width // 2)]).encode()
        elif kind == "too_many_columns":
            line = ",".join([*src, "EXTRA"]).encode()
        else:  # a byte that is not UTF-8 at the end of the last field
            line = ",".join(src).encode() + b"\xff"
        added.append(line)
        rows.append(
            {
                "source": path.parent.name,
                "file": str(path.relative_to(landing)),
                "line": first_line + i,
                "kind": kind,
            }
        )
    return b"\n".join(added) + b"\n", rows


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
