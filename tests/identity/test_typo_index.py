"""The e-mail typo candidates of a drop: the touched addresses' pairs, found without making
every address's deletions, are exactly the pairs the full deletion index gives them."""

from __future__ import annotations

import random

import pyarrow as pa

from c360.engine import local_engine
from c360.identity.typos import email_typos


def _edits(local: str, rng: random.Random) -> list[str]:
    """One of each single edit of ``local``: a deletion, an insertion, a substitution and an
    adjacent transposition, each at a random place (first and last characters included)."""
    i = rng.randrange(len(local))
    c = rng.choice("aeiostxy.1ñ")
    out = [local[:i] + local[i + 1 :], local[:i] + c + local[i:], local[:i] + c + local[i + 1 :]]
    if len(local) > 1:
        j = min(i, len(local) - 2)
        out.append(local[:j] + local[j + 1] + local[j] + local[j + 2 :])
    return [x for x in out if x]


def _world(seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    stems = ["ann", "jo", "maria.lopez", "jennifer.smith", "li", "kowalski77", "o.neil", "zoë"]
    domains = ["gmail.com", "x.org", "bank.example", "gmial.com"]
    emails: set[str] = set()
    for _ in range(400):
        local = rng.choice(stems) + rng.choice(["", "", str(rng.randrange(100)), "_b"])
        emails.add(f"{local}@{rng.choice(domains)}")
        for edited in _edits(local, rng):
            emails.add(f"{edited}@{rng.choice(domains[:1] * 3 + domains)}")
    # an edit of the domain too, and the shortest addresses
    emails |= {"a@x.org", "b@x.org", "ab@x.org", "ann@gmal.com", "ann@gmail.co"}
    every = sorted(emails)
    return every, rng.sample(every, 60)


def _pairs(every: list[str], touched: list[str], touched_only: bool) -> set[tuple[str, str, bool]]:
    with local_engine() as con:
        con.register("usable", pa.table({"kind": ["email"] * len(every), "value": every}))
        con.register("touched", pa.table({"kind": ["email"] * len(touched), "value": touched}))
        email_typos(con, touched_only=touched_only)
        rows = con.query("SELECT e1, e2, strict FROM email_typos").to_pylist()
    return {(r["e1"], r["e2"], r["strict"]) for r in rows}


def test_touched_pairs_equal_the_full_index() -> None:
    for seed in range(4):
        every, touched = _world(seed)
        full = _pairs(every, touched, touched_only=False)
        want = {p for p in full if p[0] in touched or p[1] in touched}
        assert len(want) > 20, len(want)  # the world holds typo pairs of touched addresses
        assert _pairs(every, touched, touched_only=True) == want
