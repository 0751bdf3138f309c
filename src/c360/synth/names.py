"""Reference tables (names, nicknames, cities) and the small noise primitives.

The tables ship as CSV under ``c360/data`` (see its README for provenance):
first names by sex and surnames with census-like rank weights, a US nickname
list the identity engine reads too, and cities with their ZIP and area code.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

PLACEHOLDER_EMAILS = (
    "noemail@none.com",
    "na@na.com",
    "none@bank.com",
    "noemail@noemail.com",
    "customer@declined.com",
    "x@x.com",
)
PLACEHOLDER_PHONES = ("0000000000", "9999999999", "1111111111")

STREET_NAMES = tuple(
    [
        "Main",
        "Oak",
        "Maple",
        "Cedar",
        "Pine",
        "Elm",
        "Washington",
        "Lake",
        "Hill",
        "Park",
        "Walnut",
        "Sunset",
        "Lincoln",
        "Jackson",
        "Church",
        "Highland",
        "Madison",
        "River",
        "Spring",
        "Ridge",
        "Meadow",
        "Chestnut",
        "Franklin",
        "Center",
        "Willow",
        "Jefferson",
        "Forest",
        "Cherry",
        "Adams",
        "Mill",
        "Sycamore",
        "Dogwood",
        "Hickory",
        "Birch",
        "Lakeview",
        "Valley",
        "Grant",
        "Broad",
        "Market",
        "Prospect",
        "Union",
        "Liberty",
        "Fairview",
        "Woodland",
        "Green",
        "Poplar",
        "Magnolia",
        "Laurel",
        "Aspen",
        "Summit",
        "Harbor",
        "Bayview",
        "Cypress",
        "Hillcrest",
        "Kingston",
        "Monroe",
    ]
)
STREET_TYPES = ("St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Ct", "Way", "Pl", "Ter")
EMAIL_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "aol.com",
    "icloud.com",
    "comcast.net",
    "att.net",
    "msn.com",
    "live.com",
)
EMAIL_DOMAIN_WEIGHTS = (0.42, 0.16, 0.09, 0.08, 0.06, 0.07, 0.04, 0.03, 0.02, 0.03)

_RARE_PREFIX = (
    "hol",
    "brin",
    "kess",
    "mar",
    "wint",
    "ash",
    "whit",
    "blom",
    "dunk",
    "fair",
    "hart",
    "lind",
    "stan",
    "cor",
    "rad",
    "vor",
    "kov",
    "pet",
    "ost",
    "ber",
    "gal",
    "fern",
    "mont",
    "sand",
    "bel",
    "quin",
    "ross",
    "mel",
    "dar",
    "tal",
)
_RARE_MID = ("", "a", "en", "er", "i", "o", "an", "el")
_RARE_SUFFIX = (
    "ling",
    "berg",
    "ton",
    "ford",
    "ley",
    "wick",
    "man",
    "stein",
    "ski",
    "ova",
    "ez",
    "elli",
    "ard",
    "enko",
    "ham",
    "worth",
    "son",
    "gard",
    "field",
    "by",
    "mond",
    "ak",
    "ian",
    "ini",
    "etti",
    "ner",
    "dale",
    "well",
    "strom",
    "house",
)

_KEYBOARD = {
    row[i]: row[max(i - 1, 0)] + row[min(i + 1, len(row) - 1)]
    for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890")
    for i in range(len(row))
}


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("c360").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@dataclass(frozen=True)
class Table:
    values: np.ndarray
    p: np.ndarray

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.values[rng.choice(len(self.values), size=n, p=self.p)]


def _table(rows: list[dict[str, str]]) -> Table:
    w = np.array([float(r["weight"]) for r in rows])
    return Table(np.array([r["name"] for r in rows], dtype=object), w / w.sum())


@cache
def first_names(sex: str) -> Table:
    return _table([r for r in _read("first_names.csv") if r["sex"] == sex])


@cache
def surnames() -> Table:
    return _table(_read("surnames.csv"))


@cache
def cities() -> list[dict[str, str]]:
    return _read("cities.csv")


@cache
def nickname_map() -> dict[str, tuple[str, ...]]:
    """Formal name → its nicknames (lowercase)."""
    out: dict[str, list[str]] = {}
    for r in _read("nicknames.csv"):
        out.setdefault(r["name"], []).append(r["nickname"])
    return {k: tuple(v) for k, v in out.items()}


def sample_surnames(rng: np.random.Generator, n: int, rare_share: float) -> np.ndarray:
    """Surnames from the weighted table, with a generated long tail of rare ones."""
    out = surnames().sample(rng, n)
    rare = rng.random(n) < rare_share
    k = int(rare.sum())
    if k:
        pre = np.array(_RARE_PREFIX, dtype=object)[rng.integers(0, len(_RARE_PREFIX), k)]
        mid = np.array(_RARE_MID, dtype=object)[rng.integers(0, len(_RARE_MID), k)]
        suf = np.array(_RARE_SUFFIX, dtype=object)[rng.integers(0, len(_RARE_SUFFIX), k)]
        out[rare] = pre + mid + suf
    return out


def pick_nicknames(first: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One nickname per formal name ("" where the name has none)."""
    nick = nickname_map()
    u = rng.random(len(first))
    out = np.empty(len(first), dtype=object)
    for i, f in enumerate(first):
        opts = nick.get(f)
        out[i] = opts[int(u[i] * len(opts))] if opts else ""
    return out


def typo(value: str, rng: np.random.Generator) -> str:
    """One realistic character edit: neighbouring key, deletion, doubling or swap."""
    if len(value) < 3:
        return value + value[-1:] if value else value
    for _ in range(4):
        op = int(rng.integers(0, 4))
        i = int(rng.integers(1, len(value) - 1))
        c = value[i]
        if op == 0 and c.lower() in _KEYBOARD:
            near = _KEYBOARD[c.lower()]
            r = near[int(rng.integers(0, len(near)))]
            new = value[:i] + (r.upper() if c.isupper() else r) + value[i + 1 :]
        elif op == 1:
            new = value[:i] + value[i + 1 :]
        elif op == 2:
            new = value[:i] + c + value[i:]
        else:
            new = value[: i - 1] + value[i] + value[i - 1] + value[i + 1 :]
        if new != value:
            return new
    return value + value[-1]


def apply_typos(values: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Typo a ``rate`` share of the non-empty values in place; returns the mask."""
    nonempty = np.array([bool(v) for v in values], dtype=bool)
    mask = (rng.random(len(values)) < rate) & nonempty
    for i in np.flatnonzero(mask):
        values[i] = typo(values[i], rng)
    return mask


def unique_ints(n: int, high: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct integers in [0, high), in random order (no O(high) memory)."""
    got = np.empty(0, dtype=np.int64)
    while len(got) < n:
        allv = np.concatenate([got, rng.integers(0, high, (n - len(got)) * 2 + 16)])
        _, first = np.unique(allv, return_index=True)
        got = allv[np.sort(first)]
    return got[:n]


def transpose_digits(ssn9: str, rng: np.random.Generator) -> str:
    """Swap two adjacent, different digits (the clerk's classic SSN slip)."""
    idx = [i for i in range(8) if ssn9[i] != ssn9[i + 1]]
    if not idx:
        return ssn9
    i = idx[int(rng.integers(0, len(idx)))]
    return ssn9[:i] + ssn9[i + 1] + ssn9[i] + ssn9[i + 2 :]


def luhn_complete(prefix15: np.ndarray) -> np.ndarray:
    """Append the Luhn check digit to 15-digit strings (vectorised over digits)."""
    digits = np.array([list(map(int, p)) for p in prefix15], dtype=np.int64).reshape(-1, 15)
    # from the right of the 16-digit number, the check digit is position 0; positions
    # 1, 3, 5 … (i.e. indices 14, 12 … of the prefix) are doubled.
    dbl = digits.copy()
    dbl[:, 14::-2] *= 2
    dbl[dbl > 9] -= 9
    check = (10 - dbl.sum(axis=1) % 10) % 10
    return np.array([p + str(c) for p, c in zip(prefix15, check, strict=True)], dtype=object)


def luhn_valid(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()][::-1]
    total = sum(
        d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)
    )
    return total % 10 == 0
