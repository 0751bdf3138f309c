"""Per-column plausibility and hygiene rules of a contract, compiled to SQL reasons.

Each rule is one ``CASE WHEN <fails> THEN '<reason>' END`` over the staged row (``raw``
holds the delivered text, ``raw."__t_<name>"`` the typed value), so all of them run in
the same single pass that types the row; a row failing any goes to quarantine with
every reason:

* ``min`` / ``max`` — bounds on the typed value (numbers, dates, timestamps);
* ``not_in_future`` — a date or timestamp later than the batch's ``as_of``;
* ``allowed`` — the value (trimmed) must be one of these;
* ``pattern`` — the value (trimmed) must fully match this regular expression;
* ``digits`` — an identifier kept as a digit string: only digits, so a spreadsheet's
  ``4.11111E+15`` or ``123456789.0`` is caught instead of loaded;
* ``control_chars`` — text with control characters (NUL, ESC …; tab and line breaks
  are allowed) is rejected, stripped or kept, as the contract says.
"""

from __future__ import annotations

from datetime import date, datetime

from c360.config import ColumnSpec, Contract
from c360.engine import quoted as q
from c360.engine import sql_literal as lit

TYPED = "__t_"
CONTROL_RE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
SCIENTIFIC_RE = r"[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+"
SQL_TYPES = {
    "int": "BIGINT",
    "float": "DOUBLE",
    "decimal": "DECIMAL(18,2)",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}


def control_mode(spec: ColumnSpec, contract: Contract) -> str:
    return spec.control_chars or contract.control_chars


def strip_control(expr: str) -> str:
    return f"regexp_replace({expr}, {lit(CONTROL_RE)}, '', 'g')"


def _bound(spec: ColumnSpec, value: float | date | datetime | str) -> str:
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return f"CAST({lit(str(value))} AS {SQL_TYPES[spec.type]})"


def _show(value: float | date | datetime | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def rule_reasons(spec: ColumnSpec, contract: Contract, as_of: datetime) -> list[str]:
    """SQL reason expressions of one present, non-tokenised column."""
    name = spec.name
    col = f"raw.{q(name)}"
    v = f"NULLIF(trim({col}), '')"
    typed = f"raw.{q(TYPED + name)}"
    shown = f"left({v}, 60)"
    out: list[str] = []
    if spec.type in ("string", "text") and control_mode(spec, contract) == "reject":
        out.append(
            f"CASE WHEN regexp_matches({col}, {lit(CONTROL_RE)}) THEN "
            f"'control character U+' || printf('%04X', unicode(regexp_extract({col}, "
            f"{lit(CONTROL_RE)}))) || ' in column {name}' END"
        )
    if spec.digits:
        out.append(
            f"CASE WHEN {v} IS NOT NULL AND NOT regexp_full_match({v}, '[0-9]+') THEN "
            f"CASE WHEN regexp_full_match({v}, {lit(SCIENTIFIC_RE)}) THEN "
            f"'spreadsheet-mangled value in digit column {name} (scientific notation): ' "
            f"ELSE 'not a digit string in column {name}: ' END || {shown} END"
        )
    if spec.allowed is not None:
        allowed = ", ".join(lit(a) for a in spec.allowed) or "NULL"
        out.append(
            f"CASE WHEN {v} IS NOT NULL AND {v} NOT IN ({allowed}) THEN "
            f"'value not allowed in column {name}: ' || {shown} END"
        )
    if spec.pattern is not None:
        out.append(
            f"CASE WHEN {v} IS NOT NULL AND NOT regexp_full_match({v}, {lit(spec.pattern)}) "
            f"THEN 'value does not match the pattern of column {name}: ' || {shown} END"
        )
    if spec.min is not None:
        out.append(
            f"CASE WHEN {typed} < {_bound(spec, spec.min)} THEN "
            f"'value below the minimum {_show(spec.min)} of column {name}: ' || {shown} END"
        )
    if spec.max is not None:
        out.append(
            f"CASE WHEN {typed} > {_bound(spec, spec.max)} THEN "
            f"'value above the maximum {_show(spec.max)} of column {name}: ' || {shown} END"
        )
    if spec.not_in_future:
        now = as_of.date() if spec.type == "date" else as_of
        out.append(
            f"CASE WHEN {typed} > {_bound(spec, now)} THEN "
            f"'{spec.type} in the future in column {name}: ' || {shown} END"
        )
    return out
