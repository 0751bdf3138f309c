"""The shape every generated source shares, and small helpers of the builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from c360.synth.options import SynthOptions


@dataclass
class SourceData:
    name: str
    frame: pl.DataFrame  # layout columns + _day (+ private _columns)
    keys: list[str]
    person: np.ndarray
    flags: pl.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)


def title_case(a: np.ndarray) -> np.ndarray:
    return np.array([v.title() if v else v for v in a], dtype=object)


def opened_dates(
    people: pl.DataFrame,
    recs: pl.DataFrame,
    opts: SynthOptions,
    rng: np.random.Generator,
    max_years: float = 25,
) -> np.ndarray:
    p = recs["person"].to_numpy()
    age = people["age"].to_numpy()[p]
    span = np.clip(np.minimum(age - 18, max_years), 0.1, None) * 365
    back = (rng.random(len(p)) * span).astype(np.int64) + 1
    start = np.datetime64(opts.start_date, "D")
    day = recs["day"].to_numpy()
    return np.where(
        day > 0, start + day.astype("timedelta64[D]"), start - back.astype("timedelta64[D]")
    )


def order_by_open(recs: pl.DataFrame, opened: np.ndarray) -> tuple[pl.DataFrame, np.ndarray]:
    o = np.argsort(opened, kind="stable")
    return recs[o], opened[o]


def versions(base: pl.DataFrame, changes: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat([base, *changes], how="vertical_relaxed").sort(
        ["_day", "_seq"], maintain_order=True
    )


def core_ref(
    core: SourceData, person: np.ndarray, share: float, wrong: float, rng: np.random.Generator
) -> list[str]:
    """The core customer_no of each record's person in ``share`` of rows (if any)."""
    first_key: dict[int, str] = {}
    for k, p, d in zip(core.keys, core.person, core.extra["dup"], strict=True):
        if not d:
            first_key.setdefault(int(p), k)
    u = rng.random(len(person))
    w = rng.random(len(person)) < wrong
    out = []
    for i, p in enumerate(person):
        k = first_key.get(int(p), "")
        if k and w[i]:
            k = core.keys[int(rng.integers(0, len(core.keys)))]
        out.append(k if k and u[i] < share else "")
    return out
