"""Simulated responses from the synthetic world's truth, with a known true uplift per segment.

The generator writes each person's segment and response probabilities without and with
an offer (``truth/people.csv``: ``p_control``, ``p_treated``). A golden record maps to
the person most of its source records belong to (``truth/identity.csv`` joined to
``gold.identity_links``). :func:`draw` gives each unit a response ~ Bernoulli(p_treated)
in the treatment arm and Bernoulli(p_control) in the holdout, from a seeded generator;
the true uplift of those units is the mean of ``p_treated - p_control`` — the number
an honest CI must cover.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from c360.workspace import Workspace


@dataclass
class Truth:
    person: str
    segment: str
    p_control: float
    p_treated: float


def read_people(truth_dir: Path) -> dict[str, Truth]:
    with (truth_dir / "people.csv").open(encoding="utf-8") as fh:
        return {
            r["person_id"]: Truth(
                r["person_id"], r["segment"], float(r["p_control"]), float(r["p_treated"])
            )
            for r in csv.DictReader(fh)
        }


def golden_truth(ws: Workspace) -> dict[str, Truth]:
    """golden_id → the truth of the person most of its records belong to."""
    people = read_people(ws.truth_dir)
    with (ws.truth_dir / "identity.csv").open(encoding="utf-8") as fh:
        person_of = {(r["source"], r["source_key"]): r["person_id"] for r in csv.DictReader(fh)}
    links = ws.lakehouse.read(
        "gold", "identity_links", ["source", "source_key", "golden_id", "is_current"]
    )
    votes: dict[str, dict[str, int]] = {}
    for s, k, g, cur in zip(
        *(links.column(c).to_pylist() for c in links.column_names), strict=True
    ):
        p = person_of.get((s, k))
        if cur and p:
            mine = votes.setdefault(g, {})
            mine[p] = mine.get(p, 0) + 1
    out = {}
    for g, v in votes.items():
        p = max(sorted(v), key=lambda x: v[x])
        if p in people:
            out[g] = people[p]
    return out


def draw(units: list[tuple[str, bool, Truth]], seed: int) -> tuple[np.ndarray, float]:
    """Responses (0/1) per unit and the true uplift of these units."""
    rng = np.random.default_rng(seed)
    p = np.array([t.p_treated if treated else t.p_control for _, treated, t in units])
    y = (rng.random(len(units)) < p).astype(float)
    true = (
        float(np.mean([t.p_treated - t.p_control for _, _, t in units])) if units else float("nan")
    )
    return y, true
