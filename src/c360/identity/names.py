"""Person names: parsing, normalising, nickname keys and the first-name compatibility test.

Parsing runs once per *distinct* raw value (callers cache through
:func:`parse_names`), so a million records with a few hundred thousand distinct
names stay cheap. The compatibility test is what the clusterer uses to refuse a
merge: two first names are compatible when they are the same name, a nickname
of one another (via the shared list ``c360/data/nicknames.csv``), a typo of
either, or an initial of the other. Last names never refuse (marriages).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from functools import lru_cache
from importlib import resources

import jellyfish

SUFFIXES = {
    "jr": "JR",
    "junior": "JR",
    "sr": "SR",
    "senior": "SR",
    "ii": "II",
    "iii": "III",
    "iv": "IV",
    "2nd": "II",
    "3rd": "III",
}
_TITLES = {"mr", "mrs", "ms", "miss", "dr", "prof", "mx", "rev"}
_NON_ALPHA = re.compile(r"[^a-z' -]+")
_SPACES = re.compile(r"\s+")


#: what clerks type when a name is unknown; the whole field is treated as missing
PLACEHOLDER_NAMES = frozenset(
    {
        "unknown",
        "unk",
        "none",
        "null",
        "nil",
        "na",
        "n/a",
        "not applicable",
        "not provided",
        "not given",
        "no name",
        "noname",
        "anonymous",
        "refused",
        "test",
        "tbd",
        "xxx",
        "xx",
        "x",
        "fnu",
        "lnu",
        "nfn",
        "nln",
        "nmn",
        "customer",
        "client",
        "occupant",
        "resident",
        "current resident",
        "-",
        "?",
        ".",
    }
)
"""Matched on the whole field (case, spaces and dots ignored). ``NA`` alone counts only
in a first- or whole-name field: Na is a surname."""
_PLACEHOLDER_TOKENS = frozenset({"fnu", "lnu", "nfn", "nln", "nmn", "unknown", "unk"})


def placeholder(raw: object, *, surname: bool = False) -> bool:
    """``raw`` is a placeholder, not a name (see :data:`PLACEHOLDER_NAMES`)."""
    if raw is None:
        return False
    text = " ".join(str(raw).lower().replace(".", " ").split())
    if surname and text == "na":
        return False
    return text in PLACEHOLDER_NAMES or text.replace(" ", "") in PLACEHOLDER_NAMES


def drop_placeholder_tokens(text: str | None) -> str | None:
    """A folded name without placeholder tokens (``smith fnu`` → ``smith``)."""
    if not text:
        return text
    kept = [t for t in text.split() if t not in _PLACEHOLDER_TOKENS]
    return " ".join(kept) or None


def fold(text: str | None) -> str | None:
    """Lower case, accents removed, punctuation dropped, spaces collapsed."""
    if text is None:
        return None
    t = unicodedata.normalize("NFKD", str(text))
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    t = _NON_ALPHA.sub(" ", t.replace(".", " ").replace(",", " "))
    t = _SPACES.sub(" ", t.replace("'", "")).strip()
    return t or None


def name_key(text: str | None) -> str | None:
    """A folded name without spaces or hyphens (``Mc Donald`` == ``McDonald``)."""
    f = fold(text)
    return f.replace(" ", "").replace("-", "") if f else None


@lru_cache(maxsize=1)
def nickname_groups() -> dict[str, frozenset[str]]:
    """name → every formal name it may stand for (itself included).

    Reads ``c360/data/nicknames.csv`` (``name,nickname``, shared with the
    generator) and ``c360/data/name_variants.csv`` (``name,variant,kind``:
    transliterations, Spanish and Slavic nicknames, English equivalents, old
    written abbreviations — the identity engine's alone); an absent file means
    no such knowledge, never an error.
    """
    groups: dict[str, set[str]] = {}
    for file, column in (("nicknames.csv", "nickname"), ("name_variants.csv", "variant")):
        try:
            text = resources.files("c360.data").joinpath(file).read_text(encoding="utf-8")
        except (FileNotFoundError, ModuleNotFoundError, OSError):
            continue
        for row in csv.DictReader(io.StringIO(text)):
            formal = name_key(row.get("name"))
            nick = name_key(row.get(column))
            if not formal or not nick:
                continue
            groups.setdefault(formal, set()).add(formal)
            groups.setdefault(nick, set()).add(formal)
    # a variant of a variant (Mohammed ~ Muhammad ~ Mohamed) is one name: close each group
    # over formal names that share a variant, so the relation is the same in both directions
    out: dict[str, frozenset[str]] = {}
    for key, formals in groups.items():
        closed = set(formals)
        for f in formals:
            closed |= groups.get(f, set())
        out[key] = frozenset(closed)
    return out


@lru_cache(maxsize=1)
def _known_names() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """Every first name the reference tables know, and a one-deletion index over them.

    The index maps each name and each of its one-character deletions to the
    names it came from (the "symmetric delete" trick), so the known names one
    edit or one adjacent transposition away from a value are found without
    comparing against the whole list.
    """
    known = set(nickname_groups())
    try:
        text = resources.files("c360.data").joinpath("first_names.csv").read_text(encoding="utf-8")
        known |= {k for r in csv.DictReader(io.StringIO(text)) if (k := name_key(r.get("name")))}
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        pass
    index: dict[str, set[str]] = {}
    for name in known:
        for d in _deletions(name):
            index.setdefault(d, set()).add(name)
    return frozenset(known), {k: frozenset(v) for k, v in index.items()}


def is_known_first(key: str) -> bool:
    """``key`` (a name key) is a first name the reference tables know."""
    return key in _known_names()[0]


def _deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


@lru_cache(maxsize=200_000)
def correct_first(key: str) -> str:
    """A first-name key with a typo mapped to the one known name it is an edit away from.

    Known names and names with no (or several) known neighbours stay as they
    are: only an unambiguous typo of a known name is corrected (``rovert`` →
    ``robert``, ``itna`` → ``tina``, ``ussie`` → ``susie``).
    """
    near = near_known(key)
    return next(iter(near)) if len(near) == 1 else key


@lru_cache(maxsize=200_000)
def near_known(key: str) -> frozenset[str]:
    """Known names one edit or one adjacent transposition from an unknown ``key``."""
    known, index = _known_names()
    if key in known or len(key) < 3:
        return frozenset()
    near = {n for d in _deletions(key) for n in index.get(d, ())}
    return frozenset(n for n in near if jellyfish.damerau_levenshtein_distance(key, n) <= 1)


def nickname_key(first: str | None) -> str | None:
    """Canonical key of a first name: the alphabetically first formal name it may mean.

    An unambiguous typo of a known name is corrected first (:func:`correct_first`).
    """
    k = name_key(first)
    if not k:
        return None
    k = correct_first(k)
    group = nickname_groups().get(k)
    return min(group) if group else k


def _formal(name: str) -> frozenset[str]:
    """The name, its typo correction, and every formal name either may stand for."""
    groups = nickname_groups()
    out = set(groups.get(name, frozenset())) | {name}
    for n in near_known(name):
        out |= groups.get(n, frozenset()) | {n}
    return frozenset(out)


@lru_cache(maxsize=1)
def _by_formal() -> dict[str, frozenset[str]]:
    """formal name → every name (nickname, variant) that may stand for it."""
    out: dict[str, set[str]] = {}
    for name, formals in nickname_groups().items():
        for f in formals:
            out.setdefault(f, set()).add(name)
    return {k: frozenset(v) for k, v in out.items()}


@lru_cache(maxsize=200_000)
def _variants(name: str) -> frozenset[str]:
    """Every nickname or variant of every formal name ``name`` may stand for."""
    by = _by_formal()
    return frozenset(v for f in _formal(name) for v in by.get(f, ()))


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(c in it for c in short)


def _abbreviates(short: str, long: str) -> bool:
    """``short`` is an initial, a truncation or a written abbreviation of ``long`` that is
    no name of its own (``je``/``jn``/``jen`` for Jennifer, ``chr`` for Christopher), or
    ``long`` is a compound given name starting with ``short`` (Ana / Ana María,
    Jean / Jean-Pierre)."""
    if short[0] != long[0]:
        return False
    if long.startswith(short) and is_known_first(long[len(short) :]):
        return True  # compound: ana + maria
    return len(short) <= 4 and not is_known_first(short) and _subsequence(short, long)


@lru_cache(maxsize=200_000)
def first_names_compatible(a: str, b: str) -> bool:
    """Same name, nickname or variant (also of a corrected typo), typo (Jaro-Winkler
    ≥ 0.88 or one edit), an initial, a truncation or a compound given name."""
    if a == b:
        return True
    if len(a) == 1 or len(b) == 1:
        return a[0] == b[0]
    if _formal(a) & _formal(b):
        return True
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if len(short) < len(long) and _abbreviates(short, long):
        return True
    if (  # "bb" for Bob, so for Robert
        len(short) <= 4
        and not is_known_first(short)
        and any(len(v) > len(short) and _abbreviates(short, v) for v in _variants(long))
    ):
        return True
    if jellyfish.damerau_levenshtein_distance(a, b) <= 1:
        return True
    return bool(jellyfish.jaro_winkler_similarity(a, b) >= 0.88 and min(len(a), len(b)) >= 4)


#: the most common Vietnamese family names (about nine in ten Vietnamese carry one of them)
VIETNAMESE_FAMILY = frozenset(
    {
        "nguyen",
        "tran",
        "le",
        "pham",
        "hoang",
        "huynh",
        "phan",
        "vu",
        "vo",
        "dang",
        "bui",
        "do",
        "ho",
        "ngo",
        "duong",
        "ly",
        "truong",
        "dinh",
        "lam",
        "mai",
        "trinh",
        "luong",
        "doan",
    }
)
#: Vietnamese middle names that are never given names (Văn for men, Thị for women): after
#: a Vietnamese family name they mark the given name as the *last* word
VIETNAMESE_MIDDLE = frozenset({"van", "thi"})
#: particles that begin a surname written first (DE LA CRUZ, VAN DER BERG, DEL RIO)
_SURNAME_PARTICLES = frozenset({"de", "del", "della", "da", "di", "dos", "das", "du", "van", "von"})
_SURNAME_ARTICLES = frozenset({"la", "las", "los", "der", "den"})


@lru_cache(maxsize=1)
def _known_surnames() -> frozenset[str]:
    try:
        text = resources.files("c360.data").joinpath("surnames.csv").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return frozenset()
    return frozenset(k for r in csv.DictReader(io.StringIO(text)) if (k := name_key(r.get("name"))))


def is_known_surname(key: str) -> bool:
    """``key`` (a name key) is a common US surname (``c360/data/surnames.csv``)."""
    return key in _known_surnames()


def _vietnamese_order(family: str, given: list[str]) -> bool:
    """``given`` (the words after a Vietnamese family name) are middle names then the
    given name: ``NGUYEN VAN MINH`` is Minh, ``TRAN THI HOA`` is Hoa."""
    return (
        family in VIETNAMESE_FAMILY
        and len(given) >= 2
        and given[0] in VIETNAMESE_MIDDLE
        and len(given[-1]) > 1  # NGUYEN, MINH D: a given name and a middle initial
    )


def _family_first(tokens: list[str]) -> tuple[str | None, ...]:
    """``(first, middle, last)`` of a family-name-first field without a comma.

    Real conventions beyond ``FAMILY GIVEN MIDDLE``: a surname with particles
    (``DE LA CRUZ MARIA``), a Spanish double surname (``GARCIA LOPEZ JOSE``: the second
    word is a known surname and no given name, the third a known given name) and a
    Vietnamese name in full order (``NGUYEN VAN MINH``: the given name comes last).
    """
    n = 1
    if tokens[0] in _SURNAME_PARTICLES and len(tokens) > 2:
        n = 2
        if tokens[1] in _SURNAME_ARTICLES and len(tokens) > 3:
            n = 3
    family, rest = tokens[:n], tokens[n:]
    if n == 1 and _vietnamese_order(tokens[0], rest):
        return (rest[-1], " ".join(rest[:-1]), tokens[0])
    if (
        len(rest) >= 2
        and is_known_surname(rest[0])
        and not is_known_first(rest[0])
        and (is_known_first(rest[1]) or not is_known_surname(rest[1]))
    ):
        family, rest = family + rest[:1], rest[1:]
    return (rest[0] if rest else None, " ".join(rest[1:]) or None, " ".join(family))


def parse_full_name(raw: str | None, layout: str) -> tuple[str | None, ...]:
    """``(first, middle, last, suffix)`` from one name field.

    ``last_first`` expects ``LAST, FIRST M`` (a comma is honoured whatever the
    layout; without one see :func:`_family_first`); ``first_last`` expects
    ``First M Last Jr`` unless the family name is plainly written first
    (:func:`_family_written_first`). ``NGUYEN, VAN MINH`` is Minh (Vietnamese order).
    """
    if raw is None or not str(raw).strip():
        return (None, None, None, None)
    text = str(raw)
    if "," in text:
        head, _, tail = text.partition(",")
        last_part, given_part = head, tail
        tokens_given = (fold(given_part) or "").split()
        tokens_last = (fold(last_part) or "").split()
        # "Smith Jr, John" or "Smith, John Jr"
        suffix = None
        for tokens in (tokens_given, tokens_last):
            while tokens and tokens[-1] in SUFFIXES:
                suffix = SUFFIXES[tokens.pop()]
        tokens_given = [t for t in tokens_given if t not in _TITLES]
        if len(tokens_last) == 1 and _vietnamese_order(tokens_last[0], tokens_given):
            tokens_given = tokens_given[-1:] + tokens_given[:-1]
        first = tokens_given[0] if tokens_given else None
        middle = " ".join(tokens_given[1:]) or None
        last = " ".join(tokens_last) or None
        return (first, middle, last, suffix)
    tokens = (fold(text) or "").split()
    tokens = [t for t in tokens if t not in _TITLES]
    suffix = None
    while tokens and tokens[-1] in SUFFIXES and len(tokens) > 1:
        suffix = SUFFIXES[tokens.pop()]
    if not tokens:
        return (None, None, None, suffix)
    if layout == "last_first":
        return (*_family_first(tokens), suffix)
    if len(tokens) == 1:
        return (tokens[0], None, None, suffix)
    if _family_written_first(tokens):
        return (*_family_first(tokens), suffix)
    return (tokens[0], " ".join(tokens[1:-1]) or None, tokens[-1], suffix)


def _transposed_first(word: str) -> bool:
    """``word`` is a known given name with two adjacent letters swapped (Gray for Gary)."""
    return any(
        is_known_first(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
        for i in range(len(word) - 1)
    )


def _family_written_first(tokens: list[str]) -> bool:
    """A ``Given Family`` field that holds the family name first: ``Wang Xiaoling``
    (two words, the first a common surname and no given name nor one mistyped, the
    second no common surname) or ``Nguyen Van Minh`` (a Vietnamese family name, then Văn or Thị)."""
    if len(tokens) == 2:
        first, last = tokens
        return (
            is_known_surname(first)
            and not is_known_first(first)
            and not _transposed_first(first)
            and not is_known_surname(last)
        )
    return _vietnamese_order(tokens[0], tokens[1:])


def norm_suffix(raw: str | None) -> str | None:
    f = fold(raw)
    return SUFFIXES.get(f.replace(" ", "")) if f else None
