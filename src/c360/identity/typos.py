"""Email addresses one keystroke apart that are plausibly one address mistyped.

Local parts are derived from names (``jsmith``, ``mary.lopez``, ``donnak83``),
so two *people* often hold addresses one edit apart. Only edits a typist
makes and that rarely separate two real addresses count:

* a misspelt provider: the same local part at a domain one keystroke from a
  domain at least :data:`DOMAIN_RATIO` times as common in the data
  (``hottmail.com``, ``gmial.com``, ``yhoo.com``);
* in the local part, after its first character (often an initial): a swap of
  two neighbouring letters, a letter replaced by a neighbouring key, or a
  doubled letter added or dropped. An arbitrary letter added or dropped
  (``lmiller`` / ``lamiller``) or a far key (``donnak83`` / ``donnas83``) is
  another address, not a typo.

Digits, dots and underscores of the local parts must agree in sequence
(``jsmith1`` / ``jsmith2``, ``john.smith`` / ``johnsmith`` are two people).
"""

from __future__ import annotations

from functools import lru_cache

import pyarrow as pa

from c360.engine import Engine

#: a misspelt domain is at least this many times rarer than the one it misspells
DOMAIN_RATIO = 20.0

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEAR: dict[str, set[str]] = {}
for _r, _row in enumerate(_ROWS):
    for _i, _c in enumerate(_row):
        near = _NEAR.setdefault(_c, set())
        for _dr in (-1, 0, 1):
            if 0 <= _r + _dr < len(_ROWS):
                other = _ROWS[_r + _dr]
                for _di in (-1, 0, 1):
                    if 0 <= _i + _di < len(other) and other[_i + _di] != _c:
                        near.add(other[_i + _di])


@lru_cache(maxsize=200_000)
def local_typo(a: str, b: str) -> bool:
    """``a`` and ``b`` (local parts, one edit apart) differ by a plausible keystroke."""
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if not diff or diff[0] == 0:
            return False
        if len(diff) == 1:
            return b[diff[0]] in _NEAR.get(a[diff[0]], set())
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    long, short = (a, b) if len(a) > len(b) else (b, a)
    i = next((k for k in range(len(short)) if long[k] != short[k]), len(short))
    if i == 0 or long[:i] + long[i + 1 :] != short:
        return False
    c = long[i]
    return c == long[i - 1] or (i + 1 < len(long) and c == long[i + 1])


def plausible(a: str, b: str, share_a: float, share_b: float) -> bool:
    """Two addresses one edit apart: a plausible typo of one another (see module doc).

    ``share_a``/``share_b``: how many distinct addresses use each one's domain.
    """
    la, _, da = a.partition("@")
    lb, _, db = b.partition("@")
    if la == lb:
        lo, hi = sorted((share_a, share_b))
        return da != db and hi >= DOMAIN_RATIO * lo
    return da == db and local_typo(la, lb)


@lru_cache(maxsize=200_000)
def loose(a: str, b: str) -> bool:
    """One letter dropped, added or swapped with its neighbour anywhere, or the first
    letter replaced by a neighbouring key — never a later letter replaced (``jamesh03`` /
    ``jamesf03`` are two surname initials). ``a``, ``b``: addresses one edit apart."""
    la, _, da = a.partition("@")
    lb, _, db = b.partition("@")
    if da != db or min(len(la), len(lb)) < LOOSE_MIN_LOCAL:
        return False
    if len(la) != len(lb):
        return True
    diff = [i for i in range(len(la)) if la[i] != lb[i]]
    if len(diff) == 2:
        return True  # adjacent swap (one Damerau-Levenshtein edit)
    return diff == [0] and lb[0] in _NEAR.get(la[0], set())


def after_first_name(a: str, b: str, first_names: frozenset[str]) -> bool:
    """``a`` and ``b`` differ first right after a first name their holders carry.

    Local parts are often a first name, then a surname or its initial, then digits
    (``jamesm021``, ``marylim``, ``mark77``). An edit just after the first name changes
    the surname, not a keystroke of one person's address: ``jamesm021`` / ``jamesh021``,
    ``marylim`` / ``marykim``, ``mark77`` / ``markk77`` are two people's.
    """
    la, _, da = a.partition("@")
    lb, _, db = b.partition("@")
    if da != db or la == lb:
        return False
    i = next((k for k in range(min(len(la), len(lb))) if la[k] != lb[k]), min(len(la), len(lb)))
    prefix = la[:i].rstrip("._-+")
    return bool(prefix) and prefix in first_names


def _after_first_name_batch(
    a: pa.Array, b: pa.Array, n1: pa.Array, n2: pa.Array, k1: pa.Array, k2: pa.Array
) -> pa.Array:
    columns = [n.to_pylist() for n in (n1, n2, k1, k2)]
    return pa.array(
        [
            after_first_name(x, y, frozenset(str(n).lower() for n in ns if n))
            for x, y, *ns in zip(a.to_pylist(), b.to_pylist(), *columns, strict=True)
        ],
        pa.bool_(),
    )


def _loose_batch(a: pa.Array, b: pa.Array) -> pa.Array:
    return pa.array(
        [loose(x, y) for x, y in zip(a.to_pylist(), b.to_pylist(), strict=True)], pa.bool_()
    )


def _plausible_batch(a: pa.Array, b: pa.Array, sa: pa.Array, sb: pa.Array) -> pa.Array:
    return pa.array(
        [
            plausible(x, y, float(p), float(q))
            for x, y, p, q in zip(
                a.to_pylist(), b.to_pylist(), sa.to_pylist(), sb.to_pylist(), strict=True
            )
        ],
        pa.bool_(),
    )


#: a *loose* typo (any one edit, first character included) needs local parts this long
LOOSE_MIN_LOCAL = 8


def _deletions(src: str) -> str:
    """Each address of ``src`` (e, sig) as itself and as each of its one-character deletions."""
    return f"""
            SELECT e, sig, e AS d FROM {src}
            UNION ALL
            SELECT e, sig, unnest(list_transform(range(1, length(e) + 1),
                                  lambda i: substr(e, 1, i - 1) || substr(e, i + 1))) FROM {src}"""


# With ``touched_only``: the touched addresses' deletions (``dx``), the addresses that can
# share a deletion with one of them (``near``) and theirs (``dy``). An address ``y`` shares
# one when ``y`` is such a deletion ``t``, or when deleting its ``i``-th character gives a
# ``t``: then ``y`` is one character longer than ``t`` and, with ``k = length(y) // 2``,
# either ``i > k`` and ``y`` starts with ``t``'s first ``k`` characters (``heads``), or
# ``i <= k`` and ``y`` from character ``k + 2`` on is ``t`` from character ``k + 1`` on
# (``tails``). Matching those halves by equality finds every such ``y`` without making
# every address's deletions, so the join below gives the pairs the full index would.
_NEAR_TOUCHED = f"""
        tev AS (SELECT * FROM ev WHERE e IN (SELECT value FROM touched WHERE kind = 'email')),
        dx AS ({_deletions("tev")}),
        heads AS (SELECT DISTINCT length(d) + 1 AS n, left(d, (length(d) + 1) // 2) AS h FROM dx),
        tails AS (SELECT DISTINCT length(d) + 1 AS n, substr(d, (length(d) + 1) // 2 + 1) AS h
                  FROM dx),
        near AS (
            SELECT e FROM ev SEMI JOIN dx ON ev.e = dx.d
            UNION
            SELECT e FROM ev SEMI JOIN heads
                ON heads.n = length(ev.e) AND heads.h = left(ev.e, length(ev.e) // 2)
            UNION
            SELECT e FROM ev SEMI JOIN tails
                ON tails.n = length(ev.e) AND tails.h = substr(ev.e, length(ev.e) // 2 + 2)
        ),
        nev AS (SELECT * FROM ev SEMI JOIN near USING (e)),
        dy AS ({_deletions("nev")}),"""
_EVERY = f"""
        d AS ({_deletions("ev")}),"""


def email_typos(engine: Engine, *, touched_only: bool = False) -> None:
    """Table ``email_typos(e1, e2, strict)`` (e1 < e2) from the emails of table ``usable``.

    ``strict``: :func:`plausible` (a typo on its own). Otherwise a *loose* typo
    (:func:`loose`): a letter dropped, added or swapped anywhere, or the first letter
    replaced by a neighbouring key, at the same domain between local parts of at least
    :data:`LOOSE_MIN_LOCAL` characters with the same digits and separators (``lisharrison`` / ``lisaharrison``, ``ojhn.lyons`` /
    ``john.lyons``) — evidence only when the first names agree too.

    Candidates come from a symmetric-delete join (every address and its
    one-character deletions), never a cross product; :func:`plausible` decides.
    ``touched_only``: only pairs with a side in table ``touched`` (kind, value); the other
    side's deletions are then made only for the addresses that can share one with a
    touched address (``_NEAR_TOUCHED``), not for every address.
    """
    index, left, right = (_NEAR_TOUCHED, "dx", "dy") if touched_only else (_EVERY, "d", "d")
    engine.register_function("loose_typo", _loose_batch, ["VARCHAR", "VARCHAR"], "BOOLEAN")
    engine.register_function(
        "after_first_name", _after_first_name_batch, ["VARCHAR"] * 6, "BOOLEAN"
    )
    engine.register_function(
        "plausible_typo", _plausible_batch, ["VARCHAR", "VARCHAR", "DOUBLE", "DOUBLE"], "BOOLEAN"
    )
    engine.execute(f"""
        CREATE OR REPLACE TABLE email_typos AS
        WITH ev AS (
            SELECT e, regexp_replace(split_part(e, '@', 1), '[^0-9._+-]', '', 'g') AS sig,
                   split_part(e, '@', 2) AS domain
            FROM (SELECT DISTINCT value AS e FROM usable WHERE kind = 'email')
        ),
        share AS (SELECT domain, CAST(count(*) AS DOUBLE) AS n FROM ev GROUP BY domain),{index}
        cand AS (
            SELECT DISTINCT least(x.e, y.e) AS e1, greatest(x.e, y.e) AS e2
            FROM {left} x JOIN {right} y ON x.d = y.d AND x.sig = y.sig AND x.e <> y.e
        ),
        one AS (SELECT e1, e2 FROM cand WHERE damerau_levenshtein(e1, e2) = 1),
        judged AS (
            SELECT one.e1, one.e2, plausible_typo(one.e1, one.e2, s1.n, s2.n) AS strict
            FROM one
            JOIN share s1 ON s1.domain = split_part(one.e1, '@', 2)
            JOIN share s2 ON s2.domain = split_part(one.e2, '@', 2)
        )
        SELECT e1, e2, strict FROM judged
        WHERE strict OR (split_part(e1, '@', 2) = split_part(e2, '@', 2)
                         AND least(length(split_part(e1, '@', 1)),
                                   length(split_part(e2, '@', 1))) >= {LOOSE_MIN_LOCAL}
                         AND loose_typo(e1, e2))
    """)
