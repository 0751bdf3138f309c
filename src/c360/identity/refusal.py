"""The constraints that refuse a merge: birth dates, SSNs, first names, suffixes, stewards.

A cluster carries the values of its members; two clusters may merge only when
every value of each side is compatible with some value of the other (see
:func:`refusal`). Which of dob, SSN and first name may refuse is decided by the
trained model (:func:`c360.identity.model.hard_attributes`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from c360.identity.names import first_names_compatible


def dobs_compatible(a: date, b: date) -> bool:
    if a == b or abs((a - b).days) <= 1:
        return True
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return True
    sa, sb = a.strftime("%Y%m%d"), b.strftime("%Y%m%d")
    diff = [i for i in range(8) if sa[i] != sb[i]]
    if len(diff) == 1:
        return True
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and sa[diff[0]] == sb[diff[1]]
        and sa[diff[1]] == sb[diff[0]]
    )


@dataclass(slots=True)
class Cluster:
    members: list[int]
    firsts: set[str] = field(default_factory=set)
    dobs: set[date] = field(default_factory=set)
    ssns: set[str] = field(default_factory=set)
    variants: set[str] = field(default_factory=set)
    suffixes: set[str] = field(default_factory=set)
    forbidden: set[int] = field(default_factory=set)
    anchors: int = 0  # members that are not sparse


def _some(xs: set[Any], ys: set[Any], ok: Callable[[Any, Any], bool]) -> bool:
    """Every value of each side is compatible with some value of the other (``ok`` holds
    for a value and itself, so equal sides need no call)."""
    if xs == ys:
        return True
    if len(xs) == 1 and len(ys) == 1:  # most clusters hold one value of each attribute
        (x,), (y,) = xs, ys
        return ok(x, y)
    return all(any(ok(x, y) for y in ys) for x in xs) and all(any(ok(x, y) for x in xs) for y in ys)


# the greedy merge asks about the same pairs of values again and again (a common first
# name against its nicknames, a birth date against a cluster's); both are pure functions
_first_ok = lru_cache(maxsize=200_000)(first_names_compatible)
_dob_ok = lru_cache(maxsize=200_000)(dobs_compatible)


def compatible_all(cs: list[Cluster], hard: frozenset[str]) -> bool:
    """No two of ``cs`` refuse each other."""
    return all(refusal(a, b, hard) is None for i, a in enumerate(cs) for b in cs[i + 1 :])


CHECKED = frozenset({"first_name", "dob", "ssn"})


def refusal(a: Cluster, b: Cluster, hard: frozenset[str] = CHECKED) -> str | None:
    """Why ``a`` and ``b`` may not merge, or None. ``hard``: attributes that may refuse."""
    # (no set built from the members unless a steward constraint is there to check)
    if (a.forbidden and not a.forbidden.isdisjoint(b.members)) or (
        b.forbidden and not b.forbidden.isdisjoint(a.members)
    ):
        return "steward cannot-link"
    if (
        a.suffixes
        and b.suffixes
        and a.suffixes != b.suffixes
        and {"JR", "SR"} & (a.suffixes | b.suffixes)
    ):
        return f"generational suffix differs ({'/'.join(sorted(a.suffixes | b.suffixes))})"
    if "ssn" in hard and a.ssns and b.ssns:

        def ssn_ok(x: str, y: str) -> bool:
            return x == y or x in b.variants or y in a.variants

        if not _some(a.ssns, b.ssns, ssn_ok):
            return "SSN tokens differ beyond one transposition"
    if "dob" in hard and a.dobs and b.dobs and not _some(a.dobs, b.dobs, _dob_ok):
        return "birth dates differ beyond a typo, swap or a day"
    if "first_name" in hard and a.firsts and b.firsts and not _some(a.firsts, b.firsts, _first_ok):
        return "first names are not the same, a nickname or a typo"
    return None
