"""Vectorised formatting in each source system's own conventions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl


def phone(digits: np.ndarray, style: str) -> np.ndarray:
    """Format 10-digit strings: ``paren`` (217) 555-0134, ``dash`` 217-555-0134,
    ``dot`` 217.555.0134, ``plain`` 2175550134, ``intl`` +1 217-555-0134,
    ``e164`` +12175550134. Empty stays empty."""
    s = pl.Series(digits.tolist(), dtype=pl.String)
    a, b, c = s.str.slice(0, 3), s.str.slice(3, 3), s.str.slice(6, 4)
    df = pl.DataFrame({"s": s, "a": a, "b": b, "c": c})
    expr = {
        "paren": pl.format("({}) {}-{}", "a", "b", "c"),
        "dash": pl.format("{}-{}-{}", "a", "b", "c"),
        "dot": pl.format("{}.{}.{}", "a", "b", "c"),
        "plain": pl.col("s"),
        "intl": pl.format("+1 {}-{}-{}", "a", "b", "c"),
        "e164": pl.format("+1{}", "s"),
    }[style]
    out = df.select(pl.when(pl.col("s") == "").then(pl.lit("")).otherwise(expr))
    return np.array(out.to_series().to_list(), dtype=object)


def mixed_phone(digits: np.ndarray, styles: Sequence[str], rng: np.random.Generator) -> np.ndarray:
    pick = rng.integers(0, len(styles), len(digits))
    out = np.empty(len(digits), dtype=object)
    for i, st in enumerate(styles):
        m = pick == i
        out[m] = phone(digits[m], st)
    return out


def dates(values: np.ndarray, fmt: str, known: np.ndarray | None = None) -> list[str]:
    """datetime64[D] → strings in ``fmt`` ('' where not known)."""
    s = pl.Series(values.astype("datetime64[D]")).dt.strftime(fmt)
    out = s.to_list()
    if known is not None:
        out = [v if k else "" for v, k in zip(out, known, strict=True)]
    return out


def timestamps(seconds: np.ndarray, fmt: str = "%Y-%m-%d %H:%M:%S") -> list[str]:
    """Epoch seconds (int64) → strings."""
    df = pl.DataFrame({"s": np.asarray(seconds, dtype=np.int64)})
    return df.select(epoch_expr("s", fmt)).to_series().to_list()


def day_seconds(
    start: date, day_offset: np.ndarray, rng: np.random.Generator, hours: tuple[int, int] = (7, 22)
) -> np.ndarray:
    """Epoch seconds at a random time of day ``start + day_offset`` (UTC)."""
    base = (np.datetime64(start, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64) * 86400
    sec = rng.integers(hours[0] * 3600, hours[1] * 3600, len(day_offset))
    return base + day_offset.astype(np.int64) * 86400 + sec


def money(cents: np.ndarray) -> list[str]:
    """Integer cents → '1234.56' (exact, no float rounding)."""
    c = np.asarray(cents, dtype=np.int64)
    s = pl.Series(np.abs(c))
    txt = (
        np.where(c < 0, "-", "").astype(object)
        + np.array((s // 100).cast(pl.String).to_list(), dtype=object)
        + "."
        + np.array((s % 100).cast(pl.String).str.zfill(2).to_list(), dtype=object)
    )
    return txt.tolist()


def seq_ids(prefix: str, n: int, width: int, rng: np.random.Generator, start: int = 1) -> list[str]:
    """Increasing ids with random gaps (as systems hand them out over years)."""
    v = start + np.cumsum(rng.integers(1, 6, n))
    return [f"{prefix}{x:0{width}d}" for x in v]


def day_date(start: date, offset: int) -> date:
    return start + timedelta(days=int(offset))


def at_time(d: date, hour: int = 2) -> str:
    return datetime(d.year, d.month, d.day, hour).strftime("%Y-%m-%d %H:%M:%S")


def money_expr(cents: str) -> pl.Expr:
    """Integer-cents column → exact decimal text, inside polars (fast for millions of rows)."""
    c = pl.col(cents)
    return pl.format(
        "{}{}.{}",
        pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (c.abs() // 100).cast(pl.String),
        (c.abs() % 100).cast(pl.String).str.zfill(2),
    )


def epoch_expr(seconds: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> pl.Expr:
    return pl.from_epoch(pl.col(seconds), time_unit="s").dt.strftime(fmt)


def strs(values: np.ndarray | list[str]) -> pl.Series:
    """A String series from object/unicode arrays (polars would make object ones Object)."""
    return pl.Series(np.asarray(values, dtype=object).tolist(), dtype=pl.String)
