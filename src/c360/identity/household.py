"""Household identifiers: mailboxes named for a couple or a family.

A mailbox such as ``johnandmary@``, ``mary.and.john77@`` or ``smithfamily12@``
is read by every member of a household, whatever records the bank happens to
hold with it. Even when the data shows only one member using it, it points at
none of them on its own: a subscriber with no first name on ``smithfamily12@``
may be any Smith of the house. Such an address

* never attaches a record without a first name (it is never *one person*),
* carries no weight for Splink (like an ambiguous value), and
* still links records whose first names agree (the rules' name test guards it).

The test is a pure function of the address, so its result never changes
between runs (an incremental run needs no re-check).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from c360.engine import Engine, local_engine
from c360.identity import names

_FAMILY = re.compile(r"(family|household|familia|famille)")
_THE_PLURAL = re.compile(r"^the[a-z]{3,}s$")
_AND = re.compile(r"(?:and|&|\+)")
_MIN_NAME = 3


def _is_first_name(word: str) -> bool:
    return len(word) >= _MIN_NAME and names.is_known_first(word)


def _starts_with_first_name(word: str) -> bool:
    """``word`` is a known first name, or one followed by more letters (a surname)."""
    return any(_is_first_name(word[:i]) for i in range(len(word), _MIN_NAME - 1, -1))


@lru_cache(maxsize=200_000)
def household_mailbox(address: str | None) -> bool:
    """An e-mail address named for a household (see module doc).

    ``johnandmary``, ``john.and.mary``, ``john&mary``, ``johnandmarysmith``,
    ``smithfamily``, ``thesmiths``: household. ``alexander``, ``sandra.lee``,
    ``brandon.smith``: one person (the "and" must join two known first names).
    """
    if not address or "@" not in address:
        return False
    local = address.split("@", 1)[0].lower()
    letters = re.sub(r"[^a-z&+]", "", local)
    if _FAMILY.search(letters):
        return True
    plain = re.sub(r"[^a-z]", "", local)
    if _THE_PLURAL.match(plain) and not _starts_with_first_name(plain):  # not "theodores"
        return True
    for m in _AND.finditer(letters):
        left, right = letters[: m.start()], letters[m.end() :]
        if _is_first_name(left) and _starts_with_first_name(right):
            return True
    return False


def _batch(a: pa.Array) -> pa.Array:
    return pa.array([household_mailbox(x) for x in a.to_pylist()], pa.bool_())


def register(engine: Engine) -> None:
    """SQL function ``household_mailbox(email) -> BOOLEAN`` on ``engine``."""
    engine.register_function("household_mailbox", _batch, ["VARCHAR"], "BOOLEAN")


def discounted_identifiers(
    party: pa.Table, golden_of: dict[str, str], status: pa.Table, a: str, b: str
) -> list[dict[str, Any]]:
    """Identifiers records ``a`` and ``b`` share that count for less than a match, and why.

    ``status``: ``silver.identity_generic``; ``golden_of``: record id → golden id. Each
    entry names the kind (never the value), how many golden records hold it and why it
    was discounted (generic, ambiguous, household mailbox, several holders).
    """
    rows = {
        r["record_id"]: r
        for r in party.filter(pc.is_in(party["record_id"], pa.array([a, b]))).to_pylist()
    }
    ra, rb = rows.get(a), rows.get(b)
    if ra is None or rb is None:
        return []
    shared = [("email", v) for v in sorted(set(ra["emails"] or []) & set(rb["emails"] or []))]
    shared += [("phone", v) for v in sorted(set(ra["phones"] or []) & set(rb["phones"] or []))]
    if ra["ssn_token"] and ra["ssn_token"] == rb["ssn_token"]:
        shared.append(("ssn", ra["ssn_token"]))
    flags = {(s["kind"], s["value"]): s for s in status.to_pylist()}
    engine = local_engine()
    engine.register("party", party.select(["record_id", "emails", "phones", "ssn_token"]))
    out: list[dict[str, Any]] = []
    for kind, value in shared:
        where = {
            "email": "list_contains(emails, $value)",
            "phone": "list_contains(phones, $value)",
            "ssn": "ssn_token = $value",
        }[kind]
        ids = engine.query(f"SELECT record_id FROM party WHERE {where}", {"value": value})[
            "record_id"
        ].to_pylist()
        goldens = {golden_of.get(r) for r in ids} - {None}
        st = flags.get((kind, value), {})
        why = []
        if st.get("generic"):
            why.append(f"generic: held by {st.get('people')} people with different first names")
        if st.get("ambiguous"):
            why.append("ambiguous: two holders with compatible first names cannot be one person")
        if kind == "email" and household_mailbox(value):
            why.append("household mailbox: named for a couple or a family")
        if st and not st.get("one_person", True) and not why:
            why.append("its holders carry first names that are not one person's")
        if len(goldens) > 1:
            why.append(
                f"held by {len(goldens)} golden records: evidence for none of them on its own"
            )
        if why:
            out.append({"kind": kind, "golden_records": len(goldens), "why": "; ".join(why)})
    engine.close()
    return out
