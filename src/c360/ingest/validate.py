"""Contract checks compiled to engine SQL (authored in DuckDB's dialect, rendered per engine).

Each contract column becomes a typed expression and a failure predicate; the
row's ``_reason`` is the concatenation of every failure, so one pass over the
``raw`` table types every row and explains every rejection. Whole-file checks
(missing required columns, a column whose values mostly stop parsing — a type
change upstream) raise :class:`ContractError` naming file, row and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from c360.config import ColumnSpec, Contract, IngestConfig
from c360.errors import ContractError
from c360.ingest import tokensql
from c360.ingest.rules import control_mode, lit, q, rule_reasons, strip_control

if TYPE_CHECKING:
    from c360.engine import Engine

SQL_TYPES = {
    "string": "VARCHAR",
    "text": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "decimal": "DECIMAL(18,2)",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}
TYPED = "__t_"  # prefix of typed columns in the staged table
TRUE_VALUES = ("y", "yes", "true", "t", "1")
FALSE_VALUES = ("n", "no", "false", "f", "0")


@dataclass
class Header:
    present: list[str]  # contract columns present in the file
    missing_optional: list[str]
    extra: list[str]  # file columns the contract does not declare
    warnings: list[str]


def check_header(file: str, found: list[str], contract: Contract) -> Header:
    """Missing required columns stop the source; extra columns are accepted with a warning."""
    found_set = set(found)
    declared = [c.name for c in contract.columns]
    missing_req = [
        c.name
        for c in contract.columns
        if c.name not in found_set and (c.required or c.name in contract.key)
    ]
    if missing_req and found:
        col = missing_req[0]
        raise ContractError(
            message=f"{file}: required column '{col}' is missing from the header "
            f"(expected by contracts/{contract.source}.yaml; found: {', '.join(found)})",
            details={
                "file": file,
                "row": 1,
                "column": col,
                "expected": "present",
                "missing": missing_req,
            },
        )
    missing_opt = [c for c in declared if c not in found_set]
    extra = [c for c in found if c not in set(declared)]
    warnings = []
    if extra and found:
        warnings.append(
            f"{file}: undeclared column(s) accepted into bronze only: {', '.join(extra)}"
        )
    if missing_opt and found:
        warnings.append(
            f"{file}: optional column(s) absent, loaded as null: {', '.join(missing_opt)}"
        )
    return Header(
        [c for c in declared if c in found_set], missing_opt if found else declared, extra, warnings
    )


def _value(col: str) -> str:
    return f"NULLIF(trim(raw.{q(col)}), '')"


ISO_FORMATS = {"%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"}


def typed_expr(spec: ColumnSpec, native: bool, strip: bool = False) -> str:
    """SQL producing the typed value (NULL when it does not parse).

    Each type tries DuckDB's fast cast first and only falls back to the slower,
    more lenient parse (thousands separators, currency signs, strptime) for
    values the fast path rejects.
    """
    v = _value(spec.name)
    col = f"raw.{q(spec.name)}"
    t = spec.type
    if t in ("string", "text"):
        return f"NULLIF({strip_control(col) if strip else col}, '')"
    if t == "int":
        return f"COALESCE(TRY_CAST({col} AS BIGINT), TRY_CAST(replace({v}, ',', '') AS BIGINT))"
    if t in ("float", "decimal"):
        typ = SQL_TYPES[t]
        return f"COALESCE(TRY_CAST({col} AS {typ}), TRY_CAST(replace(replace({v}, ',', ''), '$', '') AS {typ}))"
    if t == "bool":
        return (
            f"CASE WHEN lower({v}) IN ({', '.join(map(lit, TRUE_VALUES))}) THEN true "
            f"WHEN lower({v}) IN ({', '.join(map(lit, FALSE_VALUES))}) THEN false END"
        )
    target = "DATE" if t == "date" else "TIMESTAMPTZ"
    naive = "DATE" if t == "date" else "TIMESTAMP"
    if spec.format and not native:
        fmts = [f.strip() for f in spec.format.split(" | ") if f.strip()]
        parts = [
            f"TRY_CAST({v} AS {naive})" if f in ISO_FORMATS else f"TRY_STRPTIME({v}, {lit(f)})"
            for f in fmts
        ]
        expr = parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"
        return f"CAST({expr} AS {target})"
    return f"CAST(TRY_CAST({v} AS {naive}) AS {target})"


def expectation(spec: ColumnSpec) -> str:
    return f"{spec.type}" + (f" in format {spec.format!r}" if spec.format else "")


def build_typed(
    con: Engine,
    file: str,
    contract: Contract,
    header: Header,
    native: set[str],
    cfg: IngestConfig,
    hash_columns: list[str] | None = None,
    numbered: bool = True,
    as_of: datetime | None = None,
    problems: list[str] | None = None,
    inline_tokens: dict[str, str] | None = None,
    params: dict[str, bytes] | None = None,
) -> tuple[int, int]:
    """Materialise ``staged``: every ``raw`` column, each contract column typed as
    ``__t_<name>``, ``_reason`` (NULL for a good row) and ``_row_hash``.

    Two projection levels: the inner one parses each value once, the outer one
    derives the reasons from the parsed columns. Returns ``(good rows, all rows)``.

    When ``raw`` is not ``numbered`` (a CSV read in one streaming pass), the engine
    numbers the staged rows in file order (``_row_number``) as it writes them — a window
    inside the scan would serialise it.
    """
    present = set(header.present)
    as_of = as_of or datetime.now(UTC)
    selects, reasons, checks = ["raw.*"], [], []
    # why a tokenised value could not be tokenised (c360.ingest.tokensql)
    reasons += [f"raw.{q(p)}" for p in problems or []]
    for name in header.present + header.extra:
        spec_or_none = next((c for c in contract.columns if c.name == name), None)
        if spec_or_none is not None and spec_or_none.tokenize:
            continue  # replaced by its token; its shape is checked by tokensql
        limit = (spec_or_none.max_bytes if spec_or_none else None) or cfg.max_field_bytes
        setting = (
            "max_bytes" if spec_or_none and spec_or_none.max_bytes else "ingest.max_field_bytes"
        )
        reasons.append(
            f"CASE WHEN octet_length(encode(raw.{q(name)})) > {int(limit)} THEN "
            f"'value in column {name} is ' || octet_length(encode(raw.{q(name)})) || "
            f"' bytes, over the limit of {limit:,} bytes ({setting})' END"
        )
    for spec in contract.columns:
        if spec.tokenize:
            in_pass = spec.name in (inline_tokens or {})
            if in_pass:
                # the streaming pass keeps digits and problem; tokens come from a dictionary
                selects += tokensql.staged_columns(spec.name)
                reasons.append(f"raw.{q(spec.name + tokensql.PROBLEM)}")
            if spec.required and spec.name in present:
                # no token and no problem: the value is empty
                absent = q(spec.name + (tokensql.DIGITS if in_pass else "_token"))
                reasons.append(
                    f"CASE WHEN raw.{absent} IS NULL AND raw.{q(spec.name + tokensql.PROBLEM)} IS NULL "
                    f"THEN 'missing required value in column {spec.name}' END"
                )
            continue
        if spec.name not in present:
            selects.append(f"CAST(NULL AS {SQL_TYPES[spec.type]}) AS {q(TYPED + spec.name)}")
            continue
        strip = control_mode(spec, contract) == "strip"
        selects.append(f"{typed_expr(spec, spec.name in native, strip)} AS {q(TYPED + spec.name)}")
        reasons += rule_reasons(spec, contract, as_of)
        if spec.type not in ("string", "text"):
            fail = f"({_value(spec.name)} IS NOT NULL AND raw.{q(TYPED + spec.name)} IS NULL)"
            reasons.append(
                f"CASE WHEN {fail} THEN 'unparsable {spec.type} in column {spec.name}: ' || "
                f"left(raw.{q(spec.name)}, 60) END"
            )
            checks.append((spec, fail))
        if spec.required or spec.name in contract.key:
            reasons.append(
                f"CASE WHEN {_value(spec.name)} IS NULL THEN 'missing required value in column {spec.name}' END"
            )
    if contract.cdc:
        cdc = contract.cdc
        ops = ", ".join(lit(o) for o in cdc.insert + cdc.update + cdc.delete)
        reasons.append(
            f"CASE WHEN {_value(cdc.op_column)} NOT IN ({ops}) THEN 'unknown CDC operation in column {cdc.op_column}: ' || coalesce(raw.{q(cdc.op_column)}, 'null') END"
        )
    reason = (
        f"NULLIF(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "CAST(NULL AS VARCHAR)"
    )
    # A 64-bit engine hash of the row as delivered: cheap change detection between
    # batches (see ADR 0002); not a cryptographic digest.
    row_number = None if numbered else "_row_number"
    tokens = inline_tokens or {}
    inline = [(c.name, tokens[c.name]) for c in contract.columns if c.name in tokens]
    if inline:
        # each tokenised value's digits and problem computed once per row, its HMACs once
        # per distinct number (c360.ingest.tokensql)
        con.materialise(
            "staged_rows",
            f"SELECT raw.*, {reason} AS _reason "
            f"FROM (SELECT {', '.join(selects)} FROM {tokensql.prepared('raw', inline)}) AS raw",
            row_number=row_number,
        )
        _join_tokens(con, inline, hash_columns, params)
        profiled = "staged_rows"
    else:
        row_hash = tokensql.row_hash_sql(hash_columns or ["_row_number"], "raw")
        con.materialise(
            "staged",
            f"SELECT raw.*, {reason} AS _reason, {row_hash} AS _row_hash "
            f"FROM (SELECT {', '.join(selects)} FROM raw) AS raw",
            params,
            row_number=row_number,
        )
        profiled = "staged"
    good, total, distinct = _profile(con, file, checks, cfg, contract, profiled)
    if distinct is not None and distinct < good:
        good -= _mark_duplicate_keys(con, contract)
    return good, total


def _join_tokens(
    con: Engine,
    inline: list[tuple[str, str]],
    hash_columns: list[str] | None,
    params: dict[str, bytes] | None,
) -> None:
    """``staged``: the rows of ``staged_rows`` with each tokenised column's token (and
    variants) from a dictionary of its distinct numbers, and the row hash over the tokens.
    A view: each zone writer reads it once, and a join probe costs a fraction of an HMAC."""
    digits = {name + tokensql.DIGITS for name, _ in inline}
    items = [f"s.{q(c)}" for c in con.columns("staged_rows") if c not in digits]
    joins = []
    for i, (name, kind) in enumerate(inline):
        variants = kind in ("ssn", "tin")
        dictionary = f"{name}__tokens"
        con.materialise(
            dictionary, tokensql.dictionary_sql("staged_rows", name, kind, variants), params
        )
        items += tokensql.joined_columns(name, f"t{i}", variants)
        joins.append(
            f" LEFT JOIN {q(dictionary)} AS t{i} ON {tokensql.join_condition(name, f't{i}')}"
        )
    row_hash = tokensql.row_hash_sql(hash_columns or ["_row_number"], "v")
    con.create_view(
        "staged",
        f"SELECT v.*, {row_hash} AS _row_hash FROM "
        f"(SELECT {', '.join(items)} FROM staged_rows AS s{''.join(joins)}) AS v",
    )


def _profile(
    con: Engine,
    file: str,
    checks: list[tuple[ColumnSpec, str]],
    cfg: IngestConfig,
    contract: Contract,
    relation: str = "staged",
) -> tuple[int, int, int | None]:
    """One pass over ``staged``: good and total rows, distinct keys among good rows (to
    detect duplicates), and per typed column how many values fail — a column that
    mostly fails is a type change upstream and stops the source."""
    aggs = ["count(*) FILTER (WHERE _reason IS NULL)", "count(*)"]
    keyed = bool(contract.key) and not contract.cdc
    if keyed:
        keys = ", ".join(q(TYPED + k) for k in contract.key)
        # distinct hashes <= distinct keys: equality proves there is no duplicate; a hash
        # collision only costs the exact (window) pass in _mark_duplicate_keys
        aggs.append(f"count(DISTINCT hash({keys})) FILTER (WHERE _reason IS NULL)")
    for spec, fail in checks:
        aggs.append(f"count(*) FILTER (WHERE {fail})")
        aggs.append(f"count({_value(spec.name)})")
    row = con.row(f"SELECT {', '.join(aggs)} FROM {relation} AS raw")
    good, total = int(row[0]), int(row[1])
    distinct = int(row[2]) if keyed else None
    offset = 3 if keyed else 2
    row = row[offset:]
    for i, (spec, fail) in enumerate(checks):
        bad, nonnull = int(row[2 * i]), int(row[2 * i + 1])
        if (
            nonnull
            and bad >= cfg.type_change_min_rows
            and bad / nonnull > cfg.type_change_threshold
        ):
            first = con.row(
                f"SELECT _row_number, raw.{q(spec.name)} FROM {relation} AS raw WHERE {fail} ORDER BY _row_number LIMIT 1"
            )
            rown, val = first if first else (None, None)
            raise ContractError(
                message=f"{file}: column '{spec.name}' expected {expectation(spec)} but {bad:,} of "
                f"{nonnull:,} values do not parse (first at row {rown}: {val!r}) — the source's type "
                "changed; fix the file or the contract and re-run",
                details={
                    "file": file,
                    "row": rown,
                    "column": spec.name,
                    "expected": expectation(spec),
                    "failed": bad,
                    "values": nonnull,
                },
            )
    return good, total, distinct


def _mark_duplicate_keys(con: Engine, contract: Contract) -> int:
    """Quarantine every later row of a key seen earlier in the batch; returns how many.

    Rare (the profile proved most batches free of duplicates), so ``staged`` is rewritten
    rather than updated in place: engines without ``UPDATE`` on temporary data run it too."""
    keys = ", ".join(q(TYPED + k) for k in contract.key)
    dups = (
        "SELECT rn, first_row FROM (SELECT _row_number AS rn, "
        "first_value(_row_number) OVER w AS first_row, row_number() OVER w AS k "
        f"FROM staged WHERE _reason IS NULL WINDOW w AS (PARTITION BY {keys} ORDER BY _row_number)"
        ") AS d WHERE k > 1"
    )
    con.materialise("staged_dups", dups)
    marked = int(con.scalar("SELECT count(*) FROM staged_dups"))
    if marked:
        items = [
            "coalesce(staged._reason, 'duplicate key within batch (first at row ' "
            "|| CAST(d.first_row AS VARCHAR) || ')') AS _reason"
            if name == "_reason"
            else f"staged.{q(name)}"
            for name in con.columns("staged")
        ]
        con.materialise(
            "staged_marked",
            f"SELECT {', '.join(items)} FROM staged LEFT JOIN staged_dups AS d "
            "ON staged._row_number = d.rn",
        )
        con.create_view("staged", "SELECT * FROM staged_marked")
    con.unregister("staged_dups")
    return marked
