"""Tokenisation compiled to DuckDB SQL: keyed HMAC-SHA256 over a whole column at once.

``HMAC(k, m) = H((k ⊕ opad) ‖ H((k ⊕ ipad) ‖ m))`` needs nothing but SHA-256 and
byte concatenation, both DuckDB built-ins, so tokens, last-4 and the SSN
transposition variants are computed inside the engine, on all cores, with no Python
per row — the same values :class:`c360.tokens.Tokenizer` gives. The key's pads are
bound as query parameters (``$ipad``, ``$opad``), never written into SQL text.

A tokenised value must look like what it claims to be: digits with optional spaces or
dashes, 9 digits for an SSN/TIN and 12–19 for a card number. Anything else — a
spreadsheet's ``4.11111E+15``, ``123456789.0``, an SSN that lost its leading zero — is
not tokenised and its row goes to quarantine with the reason.
"""

from __future__ import annotations

from c360.engine import quoted as _q
from c360.engine import sql_literal as _lit
from c360.tokens import TOKEN_LEN, Tokenizer

DIGIT_COUNTS = {"ssn": (9, 9), "tin": (9, 9), "pan": (12, 19)}
TOKEN_SPACE = {"tin": "ssn"}
SHAPE_RE = r"^[0-9]([0-9 -]*[0-9])?$"
SCIENTIFIC_RE = r"^[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$"


def params(tokenizer: Tokenizer) -> dict[str, bytes]:
    ipad, opad = tokenizer.hmac_pads()
    return {"ipad": ipad, "opad": opad}


def hmac_sql(kind: str, digits_sql: str) -> str:
    """SQL of the token of the digit string ``digits_sql`` (NULL stays NULL)."""
    space = TOKEN_SPACE.get(kind, kind)
    inner = f"unhex(sha256($ipad || encode({_lit(space + ':')} || {digits_sql})))"
    return f"left(sha256($opad || {inner}), {TOKEN_LEN})"


def _plain(value_sql: str, lo: int = 1, hi: int | None = None) -> str:
    """SQL true when the value is already a bare digit string (of ``lo``–``hi`` digits): the
    common case, decided by one anchored RE2 match instead of the full clean-up."""
    counts = f"{{{lo},{hi if hi is not None else ''}}}"
    return f"regexp_full_match({value_sql}, '[0-9]{counts}')"


def digits_sql(value_sql: str) -> str:
    return (
        f"CASE WHEN {_plain(value_sql)} THEN {value_sql} "
        f"ELSE NULLIF(regexp_replace({value_sql}, '[^0-9]', '', 'g'), '') END"
    )


def problem_sql(column: str, kind: str, value_sql: str) -> str:
    """SQL giving why a non-empty value cannot be tokenised (NULL when it can)."""
    lo, hi = DIGIT_COUNTS[kind]
    v = f"trim({value_sql})"
    n = f"length({digits_sql(v)})"
    want = f"{lo}" if lo == hi else f"{lo}–{hi}"
    return (
        f"CASE WHEN {_plain(value_sql, lo, hi)} THEN NULL "
        f"WHEN NULLIF({v}, '') IS NULL THEN NULL "
        f"WHEN regexp_matches({v}, {_lit(SCIENTIFIC_RE)}) THEN "
        f"'spreadsheet-mangled value in {kind} column {column} (scientific notation): ' || left({v}, 40) "
        f"WHEN NOT regexp_matches({v}, {_lit(SHAPE_RE)}) THEN "
        f"'not a digit string in {kind} column {column}: ' || left({v}, 40) "
        f"WHEN {n} NOT BETWEEN {lo} AND {hi} THEN "
        f"'{kind} in column {column} has ' || {n} || ' digits, expected {want} "
        f"(a lost leading zero?)' END"
    )


def prepared(relation: str, columns: list[tuple[str, str]]) -> str:
    """``relation`` with each tokenised column's digits and problem computed once per row,
    as ``<col>__digits`` and ``<col>__problem`` (a FROM item aliased ``raw``); the items
    of :func:`token_columns` and :func:`staged_columns` read them. ``<col>__digits`` is the
    clear number: it never leaves the engine (zones select named columns)."""
    items = ["raw.*"]
    for column, kind in columns:
        value = f"raw.{_q(column)}"
        items.append(f"{digits_sql(value)} AS {_q(column + DIGITS)}")
        items.append(f"{problem_sql(column, kind, value)} AS {_q(column + PROBLEM)}")
    return f"(SELECT {', '.join(items)} FROM {relation} AS raw) AS raw"


def token_columns(column: str, kind: str, variants: bool) -> list[str]:
    """Select items ``<column>_token, _last4[, _variants]`` over a
    :func:`prepared` relation."""
    d = f"raw.{_q(column + DIGITS)}"
    problem = f"raw.{_q(column + PROBLEM)}"
    ok = f"{problem} IS NULL"
    out = [
        f"CASE WHEN {ok} THEN {hmac_sql(kind, d)} END AS {_q(column + '_token')}",
        f"CASE WHEN {ok} AND length({d}) >= 4 THEN right({d}, 4) END AS {_q(column + '_last4')}",
    ]
    if variants:
        out.append(
            f"CASE WHEN {ok} THEN {_variants_sql(kind, d)} END AS {_q(column + '_variants')}"
        )
    return out


def _variants_sql(kind: str, digits: str) -> str:
    """The tokens of every adjacent-digit swap that changes the number, in position order."""
    swap = "substr(_d, 1, i - 1) || substr(_d, i + 1, 1) || substr(_d, i, 1) || substr(_d, i + 2)"
    return (
        f"(SELECT [{hmac_sql(kind, swap)} "
        f"FOR i IN range(1, length(_d)) IF substr(_d, i, 1) <> substr(_d, i + 1, 1)] "
        f"FROM (SELECT {digits} AS _d))"
    )


# --------------------------------------------------------------- tokens once per value
# A tokenised column of a large file repeats (a card pays many times): the streaming pass
# keeps each value's digits and problem, the HMACs are computed once per distinct number
# into a dictionary, and the staged rows read their token from it by a join.


def staged_columns(column: str) -> list[str]:
    """Select items over a :func:`prepared` relation for the pass that leaves tokens to a
    dictionary: ``<column>_last4`` (``<column>__digits`` and ``__problem`` come with
    ``raw.*``; the digits, for the join, are the clear number and never leave the engine)."""
    d, problem = f"raw.{_q(column + DIGITS)}", f"raw.{_q(column + PROBLEM)}"
    return [
        f"CASE WHEN {problem} IS NULL AND length({d}) >= 4 THEN right({d}, 4) END "
        f"AS {_q(column + '_last4')}"
    ]


def dictionary_sql(relation: str, column: str, kind: str, variants: bool) -> str:
    """One row per distinct tokenisable number of ``column`` in ``relation``: ``d`` (the
    digits), ``token`` and, for SSN/TIN, ``variants``."""
    d, problem = _q(column + DIGITS), _q(column + PROBLEM)
    items = ["d", f"{hmac_sql(kind, 'd')} AS token"]
    if variants:
        items.append(f"{_variants_sql(kind, 'd')} AS variants")
    return (
        f"SELECT {', '.join(items)} FROM (SELECT DISTINCT {d} AS d FROM {relation} "
        f"WHERE {problem} IS NULL AND {d} IS NOT NULL) AS v"
    )


def joined_columns(column: str, alias: str, variants: bool, rows: str = "s") -> list[str]:
    """``<column>_token`` (and ``_variants``) read from dictionary ``alias`` joined on the
    digits; NULL for a value that could not be tokenised, even when its digits are those of
    a good value (``card 4111…`` beside ``4111…``)."""
    ok = f"{rows}.{_q(column + PROBLEM)} IS NULL"
    out = [f"CASE WHEN {ok} THEN {alias}.token END AS {_q(column + '_token')}"]
    if variants:
        out.append(f"CASE WHEN {ok} THEN {alias}.variants END AS {_q(column + '_variants')}")
    return out


def join_condition(column: str, alias: str, rows: str = "s") -> str:
    return f"{rows}.{_q(column + DIGITS)} = {alias}.d"


def row_hash_sql(columns: list[str], alias: str, replace: dict[str, str] | None = None) -> str:
    """A 64-bit engine hash of the row's ``columns`` of ``alias`` (see ADR 0002); ``replace``
    maps a column to another expression."""
    items = [(replace or {}).get(c, f"{alias}.{_q(c)}") for c in columns]
    return f"CAST(hash({', '.join(items)}) >> 1 AS BIGINT)"


PROBLEM, DIGITS = "__problem", "__digits"
